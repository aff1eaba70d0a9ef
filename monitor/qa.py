"""The QA workspace: open a recording, replay it, see the whole session, what-if, export.

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
from .panels import RULE_LABEL, duration
from .session import Session, SessionRegistry

QA_BED = "qa-replay"
SPEEDS = (("1x", 1.0), ("10x", 10.0), ("60x", 60.0), ("600x", 600.0), ("as fast as possible", 0.0))
COLOURS = {"high": "#ff1744", "medium": "#ffd600", "low": "#00e5ff"}


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


def _table(header: list[str], rows: list[list], table_id: str, row_attrs=None) -> html.Table:
    return html.Table(
        [html.Tr([html.Th(h) for h in header])]
        + [
            html.Tr([html.Td(cell) for cell in row], **(row_attrs(i) if row_attrs else {}))
            for i, row in enumerate(rows)
        ],
        id=table_id,
        className="qa-table",
    )


def timeline_figure(result: SessionAnalysis) -> dict:
    """Episodes by rule as bars coloured by priority, events and gaps, on the time axis."""
    analysis, data = result.analysis, result.recording.data
    traces = []
    for episode in analysis.episodes:
        end = episode.end if episode.end is not None else analysis.end
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [episode.start * 1000.0, end * 1000.0],
                "y": [RULE_LABEL.get(episode.rule, episode.rule)] * 2,
                "line": {"color": COLOURS.get(str(episode.priority), "#fff"), "width": 14},
                "name": f"{episode.rule} {episode.priority}",
                "hovertext": episode.message,
                "showlegend": False,
            }
        )
    for gap in analysis.gaps:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [gap.start * 1000.0, gap.end * 1000.0],
                "y": ["Gaps in the data"] * 2,
                "line": {"color": "#9e9e9e", "width": 14},
                "name": "gap",
                "showlegend": False,
            }
        )
    events = data.loc[data["event"] != "", ["timestamp", "event"]]
    if len(events):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [t.timestamp() * 1000.0 for t in events["timestamp"]],
                "y": ["Events"] * len(events),
                "text": [e.replace("_", " ") for e in events["event"]],
                "textposition": "top center",
                "marker": {"color": "#ffffff", "size": 10, "symbol": "diamond"},
                "showlegend": False,
            }
        )
    return {
        "data": traces,
        "layout": {
            "height": 260,
            "margin": {"l": 200, "r": 70, "t": 10, "b": 30},
            "paper_bgcolor": "#1a1a1a",
            "plot_bgcolor": "#1a1a1a",
            "font": {"color": "#ddd"},
            "xaxis": {
                "type": "date",
                "gridcolor": "#333",
                "range": [
                    (analysis.start or 0) * 1000.0,
                    (analysis.end or 0) * 1000.0,
                ],
            },
            "yaxis": {"type": "category", "gridcolor": "#333"},
        },
    }


def episode_table(result: SessionAnalysis, acks: list) -> html.Table:
    rows = []
    for e in result.analysis.episodes:
        acked = [
            a
            for a in acks
            if a.rule == e.rule and a.time >= e.start and (e.end is None or a.time <= e.end + 3600)
        ]
        rows.append(
            [
                e.rule,
                str(e.priority),
                format_timestamp(e.start),
                "still active" if e.end is None else format_timestamp(e.end),
                "" if e.end is None else duration(e.end - e.start),
                "" if e.peak is None else f"{e.peak:.4g} {e.unit}",
                f"{acked[0].user} at {format_timestamp(acked[0].time)}" if acked else "no record",
                e.message,
            ]
        )
    return _table(
        ["rule", "priority", "start", "end", "duration", "peak", "acknowledged", "message"],
        rows,
        "qa-episodes",
        lambda i: {
            "data-rule": result.analysis.episodes[i].rule,
            "data-priority": str(result.analysis.episodes[i].priority),
        },
    )


def compare(a: SessionAnalysis, b: SessionAnalysis) -> html.Div:
    """Two configurations side by side: episodes and time in alert per rule and priority."""

    def summary(result):
        out = {}
        for e in result.analysis.episodes:
            end = e.end if e.end is not None else result.analysis.end
            count, seconds = out.get((e.rule, str(e.priority)), (0, 0.0))
            out[(e.rule, str(e.priority))] = (count + 1, seconds + (end - e.start))
        return out

    left, right = summary(a), summary(b)
    rows = []
    for key in sorted(set(left) | set(right)):
        la, ra = left.get(key, (0, 0.0)), right.get(key, (0, 0.0))
        rows.append([key[0], key[1], la[0], ra[0], duration(la[1]), duration(ra[1])])

    def keyset(result):
        return {(e.rule, str(e.priority), round(e.start)) for e in result.analysis.episodes}

    appear = sorted(keyset(b) - keyset(a), key=lambda k: k[2])
    vanish = sorted(keyset(a) - keyset(b), key=lambda k: k[2])
    return html.Div(
        [
            _table(
                [
                    "rule",
                    "priority",
                    "episodes (in force)",
                    "episodes (what-if)",
                    "time in alert (in force)",
                    "time in alert (what-if)",
                ],
                rows,
                "whatif-table",
            ),
            html.P(
                f"{len(appear)} episode(s) appear with the what-if settings, {len(vanish)} vanish."
            ),
            html.Ul(
                [html.Li(f"appears: {r} {p} at {format_timestamp(t)}") for r, p, t in appear[:50]]
                + [
                    html.Li(f"vanishes: {r} {p} at {format_timestamp(t)}")
                    for r, p, t in vanish[:50]
                ]
            ),
        ],
        **{"data-appear": str(len(appear)), "data-vanish": str(len(vanish))},
    )


def whatif_inputs(config: RulesConfig) -> list:
    out = []
    for section, values in config.to_dict().items():
        for key, value in values.items():
            if isinstance(value, list):
                continue
            out.append(
                html.Label(
                    [
                        html.Span(f"[{section}] {key}", className="whatif-key"),
                        dcc.Input(
                            id={"type": "whatif", "section": section, "key": key},
                            type="number",
                            value=value,
                            debounce=True,
                        ),
                    ],
                    className="whatif-field",
                )
            )
    return out


def layout() -> html.Div:
    return html.Div(
        [
            html.H3("Recordings"),
            html.Button("Refresh list", id="qa-list-refresh"),
            html.Div(id="qa-recordings"),
            html.Div(id="qa-message", className="message"),
            html.H3("Replay"),
            html.Div(
                [
                    html.Button("Back to the live bed", id="qa-back"),
                    html.Button("Play", id="replay-play"),
                    html.Button("Pause", id="replay-pause"),
                    dcc.Dropdown(
                        [{"label": n, "value": v} for n, v in SPEEDS],
                        60.0,
                        id="replay-speed",
                        clearable=False,
                    ),
                    dcc.Dropdown(
                        [], None, id="replay-jump", placeholder="jump to an alert or event"
                    ),
                    html.Span(id="replay-status", className="replay-status"),
                ],
                className="replay-controls",
            ),
            dcc.Slider(
                0,
                1,
                value=0,
                id="replay-seek",
                updatemode="mouseup",
                marks=None,
                tooltip={"always_visible": False},
            ),
            html.H3("Whole session"),
            dcc.Loading(
                [
                    dcc.Graph(id="qa-timeline", figure={"data": [], "layout": {"height": 60}}),
                    dcc.Graph(id="qa-trends", figure={"data": [], "layout": {"height": 60}}),
                    html.Div(id="qa-episodes-holder"),
                ]
            ),
            html.H3("What-if thresholds"),
            html.Div(
                whatif_inputs(default_config()), id="whatif-fields", className="whatif-fields"
            ),
            dcc.Upload(html.Button("Load a TOML file"), id="whatif-upload", max_size=64 * 1024),
            html.Button("Re-run with these settings", id="whatif-run"),
            dcc.Loading(html.Div(id="whatif-result")),
            html.H3("Many sessions"),
            html.Div(
                [
                    dcc.Dropdown([], None, id="batch-folder", placeholder="folder of recordings"),
                    html.Button("Analyse every recording in it", id="batch-run"),
                ],
                className="replay-controls",
            ),
            html.Div(id="batch-progress"),
            html.Div(id="batch-result"),
            html.H3("Export"),
            html.Button("HTML report", id="export-html"),
            html.Button("Episodes as CSV", id="export-csv"),
            dcc.Download(id="export-download"),
            dcc.Store(id="qa-open", data=None),
        ],
        className="qa",
    )


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
        return _table(
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
                table = analyze_folder(folder, base, progress)
                with job_lock:
                    job.update(table=table)
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
        table = state["table"]
        columns = [
            c
            for c in table.columns
            if c in ("file", "duration_h", "rows", "rejected_rows", "error")
            or (
                c.endswith(("_medium", "_high", "_low"))
                and table[c].fillna(0).astype(int).sum() > 0
            )
        ]
        rows = [
            ["" if pd.isna(v) else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in record]
            for record in table[columns].itertuples(index=False)
        ]
        return bar, _table(columns, rows, "batch-table")

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


def episodes_frame(result: SessionAnalysis) -> pd.DataFrame:
    return result.analysis.episodes_frame()
