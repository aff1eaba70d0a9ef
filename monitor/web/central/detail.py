"""One bed's full view at the central station, from the station's own buffers.

Clicking a tile opens it: the bed's trends over any window (drawn by the bedside page's
own figure code from the frames the station holds), its alerts and its alarm log as the
bed wrote it. The event and lab forms below act on the bed that is open.
"""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from adapters import TIMESTAMP
from monitor.central import CentralStation
from monitor.present import DRAWN_COLUMNS, clock_text
from monitor.runtime import TelemetryBuffer
from monitor.web.live.figures import TrendSettings, trend_figure
from rules import load_config, resistance_in_force, rule_title

#: The trend windows the view offers, in seconds (None: everything the station holds).
WINDOWS = (("1 h", 3600), ("6 h", 6 * 3600), ("24 h", 24 * 3600), ("all", None))
_WINDOW_SECONDS = {str(seconds): seconds for _, seconds in WINDOWS}
ALARM_ROWS_SHOWN = 50
DETAIL_REFRESH_MS = 5000


def layout() -> html.Div:
    return html.Div(
        [
            html.H3(id="central-detail-title"),
            dcc.RadioItems(
                [{"label": label, "value": str(seconds)} for label, seconds in WINDOWS],
                "3600",
                id="central-window",
                inline=True,
            ),
            dcc.Graph(id="central-trends", config={"displaylogo": False}),
            html.H4("Alarm log (as the bed wrote it, newest first)"),
            html.Table(id="central-alarm-log", className="log"),
            dcc.Interval(id="central-detail-refresh", interval=DETAIL_REFRESH_MS),
            dcc.Store(id="central-selected"),
        ],
        id="central-detail",
        className="central-detail",
    )


def _alarm_rows(remote) -> list:
    rows = [
        html.Tr([html.Th(h) for h in ("time (UTC)", "alert", "priority", "state", "by", "note")])
    ]
    for a in list(remote.alarms)[-ALARM_ROWS_SHOWN:][::-1]:
        rows.append(
            html.Tr(
                [
                    html.Td(clock_text(a.time)),
                    html.Td(rule_title(a.rule)),
                    html.Td(a.priority),
                    html.Td(a.state),
                    html.Td(a.user or ""),
                    html.Td(a.note or ""),
                ],
                className=f"priority-{a.priority}",
            )
        )
    return rows


def register(app: Dash, station: CentralStation, may_view) -> None:
    config = load_config(None)
    settings = TrendSettings.of_config(config)
    nothing = TelemetryBuffer(capacity=1).window(columns=DRAWN_COLUMNS)

    @app.callback(
        Output("central-selected", "data"),
        Output("central-bed", "value"),
        Input({"type": "bed-tile", "bed": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def select(_clicks):
        trigger = ctx.triggered[0] if ctx.triggered else {}
        if not trigger.get("value") or not isinstance(ctx.triggered_id, dict):
            return no_update, no_update
        bed = ctx.triggered_id.get("bed")
        if not isinstance(bed, str) or station.bed(bed) is None:
            return no_update, no_update
        return bed, bed

    @app.callback(
        Output("central-detail-title", "children"),
        Output("central-trends", "figure"),
        Output("central-alarm-log", "children"),
        Input("central-selected", "data"),
        Input("central-window", "value"),
        Input("central-detail-refresh", "n_intervals"),
        State("central-selected", "data"),
    )
    def draw(_bed, window, _n, bed):
        remote = station.bed(bed) if isinstance(bed, str) else None
        if remote is None or not may_view():
            empty = trend_figure(nothing, settings, revision="none")
            return "Click a bed's tile to open its full view.", empty, []
        # only the windows offered: anything else a request says is the first one
        seconds = _WINDOW_SECONDS.get(window, WINDOWS[0][1])
        frames = remote.buffer.window(seconds, columns=DRAWN_COLUMNS)
        # the delta P trend's baseline and reference lines: the baseline the bed reports
        drawn = TrendSettings.of_config(config, resistance_in_force(remote.baselines()))
        figure = trend_figure(frames, drawn, revision=f"{bed}-{window}")
        newest = clock_text(frames[TIMESTAMP].iloc[-1].timestamp()) if len(frames) else "none yet"
        title = f"{remote.label}: {len(frames):,} frames in the window, newest {newest}"
        return title, figure, _alarm_rows(remote)
