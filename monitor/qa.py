"""The QA workspace callbacks: open a recording, replay it, see the whole session, what-if, export.

Every callback here checks the qa role on the server. A recording is chosen by a catalog
key, never a path (:mod:`monitor.catalog`). Replays run the incremental engine, so what
QA sees in the bedside view is what the bedside would have seen at that moment; the
whole-session view runs the batch engine.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from adapters import TelemetryError, format_timestamp
from adapters.replay import ReplaySource
from rules import IncrementalEngine, RulesConfig, default_config

from .analysis import SessionAnalysis, render, run_analysis
from .auth import AuthError, User, require
from .catalog import Catalog, CatalogError
from .figures import trend_figure
from .qa_views import compare, episode_table, table, timeline_figure
from .session import Session, SessionRegistry

QA_BED = "qa-replay"


class _Analyses:
    """Batch analyses per (file, settings), computed once (a 7-day file takes about a second)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple, SessionAnalysis] = {}

    def get(self, path: Path, config: RulesConfig) -> SessionAnalysis:
        key = (str(path), path.stat().st_mtime_ns, repr(config.to_dict()))
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = run_analysis(path, config=config)
            with self._lock:
                if len(self._cache) > 8:
                    self._cache.clear()
                self._cache[key] = hit
        return hit


def register(
    app: Dash,
    registry: SessionRegistry,
    catalog: Catalog,
    current_user: Callable[[], User | None],
    alarm_store=None,
    base_config: RulesConfig | None = None,
) -> None:
    analyses = _Analyses()
    base = base_config or default_config()

    job: dict = {
        "running": False,
        "done": 0,
        "total": 0,
        "name": None,
        "table": None,
        "error": None,
    }
    job_lock = threading.Lock()

    def qa_user(action: str) -> User:
        return require(current_user(), action)

    def opened(key) -> Path:
        return catalog.resolve(key)

    def replay_source() -> ReplaySource | None:
        try:
            source = registry.get(QA_BED).source
        except KeyError:
            return None
        return source if isinstance(source, ReplaySource) else None

    @app.callback(
        Output("qa-recordings", "children"),
        Input("qa-list-refresh", "n_clicks"),
        Input("tabs", "value"),
    )
    def list_recordings(_n, tab):
        if tab != "qa":
            return no_update
        try:
            qa_user("replay")
        except AuthError as exc:
            return html.P(str(exc), className="error", id="qa-refused")
        rows = []
        for entry in catalog.entries():
            rows.append(
                [
                    entry.folder,
                    entry.name,
                    "--" if entry.start is None else format_timestamp(entry.start.timestamp()),
                    "--" if entry.duration_h is None else f"{entry.duration_h:.2f} h",
                    f"{entry.rows:,}",
                    entry.source,
                    html.Button(
                        "Open",
                        id={"type": "open-recording", "key": entry.key},
                        **{"data-key": entry.key},
                    ),
                ]
            )
        return table(
            ["folder", "file", "start", "duration", "rows", "source", ""],
            rows,
            "qa-recording-table",
        )

    @app.callback(
        Output("qa-open", "data"),
        Output("qa-message", "children"),
        Output("bed", "data", allow_duplicate=True),
        Output("replay-seek", "min"),
        Output("replay-seek", "max"),
        Output("replay-seek", "value"),
        Output("replay-jump", "options"),
        Output("qa-timeline", "figure"),
        Output("qa-trends", "figure"),
        Output("qa-episodes-holder", "children"),
        Input({"type": "open-recording", "key": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_recording(clicks):
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            return (no_update,) * 10
        try:
            qa_user("replay")
            path = opened(ctx.triggered_id["key"])
            result = analyses.get(path, base)
            source = ReplaySource(result.recording, speed=60.0)
            source.pause()
            old = registry.remove(QA_BED)
            if old is not None:
                old.stop()
            session = Session(
                source,
                engine=IncrementalEngine(base),
                bed_id=QA_BED,
                bed_label=f"QA replay: {path.name}",
                live=False,
            )
            registry.add(session)
            session.start()
        except (AuthError, CatalogError, TelemetryError) as exc:
            return (
                no_update,
                html.Span(
                    str(exc), className="error", id="qa-open-result", **{"data-result": "refused"}
                ),
                *(no_update,) * 8,
            )
        start, end = source.span
        jumps = [
            {"label": f"{format_timestamp(e.start)} {e.rule} {e.priority}", "value": e.start}
            for e in result.analysis.episodes
        ]
        data = result.recording.data
        for t, name in zip(
            data.loc[data["event"] != "", "timestamp"],
            data.loc[data["event"] != "", "event"],
            strict=True,
        ):
            jumps.append(
                {"label": f"{format_timestamp(t.timestamp())} event {name}", "value": t.timestamp()}
            )
        jumps.sort(key=lambda j: j["value"])
        acks = alarm_store.acknowledgements() if alarm_store is not None else []
        message = html.Span(
            f"Opened {path.name}: {result.report.rows:,} rows, {len(result.analysis.episodes)} episodes. "
            "Paused at the start; the bedside view shows the replay.",
            id="qa-open-result",
            **{"data-result": "opened", "data-key": ctx.triggered_id["key"]},
        )
        return (
            ctx.triggered_id["key"], message, QA_BED, start, end, start, jumps,
            timeline_figure(result), trend_figure(data, None), episode_table(result, acks),
        )  # fmt: skip

    @app.callback(Output("batch-folder", "options"), Input("tabs", "value"))
    def batch_folders(tab):
        if tab != "qa":
            return no_update
        return [{"label": label, "value": label} for label in catalog.folders]

    @app.callback(
        Output("batch-progress", "children", allow_duplicate=True),
        Input("batch-run", "n_clicks"),
        State("batch-folder", "value"),
        prevent_initial_call=True,
    )
    def batch_start(_n, label):
        from .batch_cli import analyze_folder

        try:
            qa_user("analyse")
            folder = catalog.folders.get(label) if isinstance(label, str) else None
            if folder is None:
                raise CatalogError("Choose a folder from the list.")
        except (AuthError, CatalogError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        with job_lock:
            if job["running"]:
                return html.Span(
                    "An analysis is already running; wait for it to finish.", className="error"
                )
            job.update(running=True, done=0, total=0, name=None, table=None, error=None)

        def progress(done, total, name):
            with job_lock:
                job.update(done=done, total=total, name=name)

        def work():
            try:
                summary = analyze_folder(folder, base, progress)
                with job_lock:
                    job.update(table=summary)
            except Exception as exc:  # shown on the page, never a silent stop
                with job_lock:
                    job.update(error=str(exc))
            finally:
                with job_lock:
                    job.update(running=False)

        threading.Thread(target=work, name="qa-batch", daemon=True).start()
        return html.Span("Started.", **{"data-result": "started"})

    @app.callback(
        Output("batch-progress", "children"),
        Output("batch-result", "children"),
        Input("refresh", "n_intervals"),
        State("tabs", "value"),
        prevent_initial_call=True,
    )
    def batch_poll(_n, tab):
        with job_lock:
            state = dict(job)
        if tab != "qa" or (
            state["table"] is None and not state["running"] and state["error"] is None
        ):
            return no_update, no_update
        total = max(state["total"], 1)
        bar = html.Div(
            [
                html.Progress(value=str(state["done"]), max=str(total)),
                html.Span(
                    f" {state['done']} of {state['total']} recordings"
                    + (f" (last: {state['name']})" if state["name"] else "")
                ),
            ],
            **{
                "data-done": str(state["done"]),
                "data-total": str(state["total"]),
                "data-running": str(state["running"]).lower(),
            },
        )
        if state["error"]:
            return bar, html.Span(state["error"], className="error")
        if state["table"] is None:
            return bar, no_update
        summary = state["table"]
        columns = [
            c
            for c in summary.columns
            if c in ("file", "duration_h", "rows", "rejected_rows", "error")
            or (
                c.endswith(("_medium", "_high", "_low"))
                and summary[c].fillna(0).astype(int).sum() > 0
            )
        ]
        rows = [
            ["" if pd.isna(v) else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in record]
            for record in summary[columns].itertuples(index=False)
        ]
        return bar, table(columns, rows, "batch-table")

    @app.callback(
        Output("bed", "data", allow_duplicate=True),
        Input("qa-back", "n_clicks"),
        prevent_initial_call=True,
    )
    def back_to_live(_n):
        return registry.first().bed_id

    @app.callback(
        Output("replay-status", "children"),
        Input("replay-play", "n_clicks"),
        Input("replay-pause", "n_clicks"),
        Input("replay-speed", "value"),
        Input("replay-seek", "value"),
        Input("replay-jump", "value"),
        Input("refresh", "n_intervals"),
        prevent_initial_call=True,
    )
    def control(_play, _pause, speed, seek, jump, _n):
        source = replay_source()
        trigger = ctx.triggered_id
        if source is None:
            return "No recording open."
        if trigger != "refresh":
            try:
                qa_user("replay")
            except AuthError as exc:
                return html.Span(str(exc), className="error")
            if trigger == "replay-play":
                source.resume()
            elif trigger == "replay-pause":
                source.pause()
            elif trigger == "replay-speed" and speed is not None:
                source.set_speed(float(speed))
            elif trigger in ("replay-seek", "replay-jump"):
                target = seek if trigger == "replay-seek" else jump
                if target is not None:
                    _seek(
                        registry,
                        source,
                        float(target) - (120.0 if trigger == "replay-jump" else 0.0),
                    )
        status = source.status()
        state = "paused" if source.paused else str(status.state)
        return html.Span(
            f"{state}, {source.speed_label}, at {format_timestamp(source.position)}",
            **{"data-state": state, "data-position": f"{source.position:.3f}"},
        )

    @app.callback(
        Output("whatif-result", "children"),
        Input("whatif-run", "n_clicks"),
        Input("whatif-upload", "contents"),
        State({"type": "whatif", "section": ALL, "key": ALL}, "value"),
        State({"type": "whatif", "section": ALL, "key": ALL}, "id"),
        State("qa-open", "data"),
        prevent_initial_call=True,
    )
    def what_if(_run, upload, values, ids, key):
        try:
            qa_user("analyse")
            path = opened(key)
            settings: dict[str, dict] = {}
            if ctx.triggered_id == "whatif-upload" and upload:
                import base64

                text = base64.b64decode(upload.split(",", 1)[1]).decode("utf-8")
                try:
                    settings = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    raise TelemetryError(f"The uploaded file is not valid TOML ({exc}).") from None
            else:
                for ident, value in zip(ids, values, strict=True):
                    if value is None:
                        raise TelemetryError(f"[{ident['section']}] {ident['key']} needs a number.")
                    settings.setdefault(ident["section"], {})[ident["key"]] = float(value)
            alternative = base.override(settings, "what-if")
            in_force = analyses.get(path, base)
            trial = analyses.get(path, alternative)
        except (AuthError, CatalogError, TelemetryError, ValueError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        return compare(in_force, trial)

    @app.callback(
        Output("export-download", "data"),
        Output("qa-message", "children", allow_duplicate=True),
        Input("export-html", "n_clicks"),
        Input("export-csv", "n_clicks"),
        State("qa-open", "data"),
        prevent_initial_call=True,
    )
    def export(_html, _csv, key):
        try:
            qa_user("export")
            path = opened(key)
            result = analyses.get(path, base)
        except (AuthError, CatalogError, TelemetryError) as exc:
            return no_update, html.Span(str(exc), className="error", **{"data-result": "refused"})
        stem = path.stem
        if ctx.triggered_id == "export-csv":
            return dcc.send_string(render(result, "csv"), f"{stem}-episodes.csv"), no_update
        return dcc.send_string(render(result, "html"), f"{stem}-report.html"), no_update


def _seek(registry: SessionRegistry, source: ReplaySource, target: float) -> None:
    """Seek the QA replay: the engine and buffer are rebuilt from the recording's start.

    The incremental engine's state depends on everything before, so seeking (backwards or
    forwards) replays the frames up to the target at full speed into a fresh session, then
    continues from there paused.
    """
    old = registry.get(QA_BED)
    recording = source.recording
    fresh_source = ReplaySource(
        recording, speed=source.speed if source.speed != float("inf") else 0
    )
    fresh_source.pause()
    fresh_source.seek(target)
    session = Session(
        fresh_source,
        engine=IncrementalEngine(old.engine.config),
        bed_id=QA_BED,
        bed_label=old.bed_label,
        live=False,
    )
    seconds = recording.seconds
    upto = int((seconds < target).sum())
    for i in range(upto):
        session.on_frame(fresh_source._frame(i))
    old.stop()
    registry.add(session)
    session.start()
