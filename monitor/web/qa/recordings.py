"""The QA recordings: list them, open one (its replay and its whole session), export it.

A recording is chosen by a catalog key, never a path (:mod:`monitor.runtime.catalog`).
Opening one gives the signed-in QA user a replay of their own; the whole-session view
runs the batch engine.
"""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from adapters import TelemetryError, format_timestamp
from monitor.reports import SessionAnalysis, render
from monitor.runtime import QA_BED, CatalogError
from monitor.store import AuthError
from monitor.web.live.figures import TrendSettings, trend_figure
from monitor.web.qa.views import episode_table, seek_marks, table, timeline_figure
from monitor.web.qa.workspace import Workspace

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}


def register(app: Dash, qa: Workspace) -> None:
    _register_list(app, qa)
    _register_open(app, qa)
    _register_export(app, qa)


def _register_list(app: Dash, qa: Workspace) -> None:
    @app.callback(
        Output("qa-recordings", "children"),
        Input("qa-list-refresh", "n_clicks"),
        Input("tabs", "value"),
    )
    def list_recordings(_n, tab):
        if tab != "qa":
            return no_update
        try:
            qa.access.require("replay")
        except AuthError as exc:
            return html.P(str(exc), className="error", id="qa-refused")
        rows = [
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
            for entry in qa.catalog.entries()
        ]
        return table(
            ["folder", "file", "start", "duration", "rows", "source", ""],
            rows,
            "qa-recording-table",
        )


def _jumps(result: SessionAnalysis) -> list[dict]:
    """The jump-to choices: every episode and every event, in time order."""
    jumps = [
        {"label": f"{format_timestamp(e.start)} {e.rule} {e.priority}", "value": e.start}
        for e in result.analysis.episodes
    ]
    data = result.recording.data
    marked = data["event"] != ""
    for t, name in zip(data.loc[marked, "timestamp"], data.loc[marked, "event"], strict=True):
        seconds = t.timestamp()
        jumps.append({"label": f"{format_timestamp(seconds)} event {name}", "value": seconds})
    return sorted(jumps, key=lambda j: j["value"])


def _register_open(app: Dash, qa: Workspace) -> None:
    @app.callback(
        Output("qa-open", "data"),
        Output("qa-message", "children"),
        Output("bed", "data", allow_duplicate=True),
        Output("replay-seek", "min"),
        Output("replay-seek", "max"),
        Output("replay-seek", "value"),
        Output("replay-seek", "marks"),
        Output("replay-jump", "options"),
        Output("qa-timeline", "figure"),
        Output("qa-trends", "figure"),
        Output("qa-episodes-holder", "children"),
        Output("qa-session", "style"),
        Output("qa-session-empty", "style"),
        Input({"type": "open-recording", "key": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_recording(clicks):
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            return (no_update,) * 13
        key = ctx.triggered_id["key"]
        try:
            user = qa.access.require("replay")
            result = qa.analysis(key)
            path = result.recording.path
            replay = qa.access.replays.open(
                user.name, result.recording, qa.config, f"QA replay: {path.name}"
            )
        except (AuthError, CatalogError, TelemetryError) as exc:
            refused = html.Span(
                str(exc), className="error", id="qa-open-result", **{"data-result": "refused"}
            )
            return no_update, refused, *(no_update,) * 11
        start, end = replay.source.span
        message = html.Span(
            f"Opened {path.name}: {result.report.rows:,} rows, "
            f"{len(result.analysis.episodes)} episodes. "
            "Paused at the start; the bedside view shows your replay.",
            id="qa-open-result",
            **{"data-result": "opened", "data-key": key},
        )
        data = result.recording.data
        trends = trend_figure(data, TrendSettings.of_analysis(result.analysis), revision=key)
        return (
            key,
            message,
            QA_BED,
            start,
            end,
            start,
            seek_marks(start, end),
            _jumps(result),
            timeline_figure(result),
            trends,
            episode_table(result, qa.acknowledgements()),
            SHOWN,
            HIDDEN,
        )


def _register_export(app: Dash, qa: Workspace) -> None:
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
            qa.access.require("export")
            result = qa.analysis(key)
        except (AuthError, CatalogError, TelemetryError) as exc:
            return no_update, html.Span(str(exc), className="error", **{"data-result": "refused"})
        stem = result.recording.path.stem
        acks = qa.acknowledgements()
        if ctx.triggered_id == "export-csv":
            return dcc.send_string(render(result, "csv", acks), f"{stem}-episodes.csv"), no_update
        return dcc.send_string(render(result, "html", acks), f"{stem}-report.html"), no_update
