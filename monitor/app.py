"""The Dash page: header, value tiles and live trends for one bed.

Callbacks only read session snapshots and the buffer; they never touch a device. Each
refresh sends only the frames after the client's sequence cursor (kept in the browser),
through ``extendData``, so a missed refresh loses nothing and bytes per refresh do not
grow with the history.
"""

from __future__ import annotations

import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update

from adapters import CHANNEL_BY_NAME, TIMESTAMP, SourceState, epoch_seconds

from .buffer import TelemetryBuffer
from .downsample import MAX_POINTS, minmax, with_gaps
from .session import Session, SessionRegistry, SessionSnapshot

REFRESH_MS = 1000
#: A step between samples longer than this is drawn as a break in the trend.
GAP_MS = 10_000
#: Initial trend window (seconds) and the most points kept per trace in the browser.
INITIAL_WINDOW_S = 15 * 60
KEEP_POINTS = 4 * MAX_POINTS
#: More new frames than this in one refresh (a fast replay) redraws instead of extending.
REDRAW_ABOVE = MAX_POINTS

TRENDS: dict[str, tuple[tuple[str, str], ...]] = {
    "trend-flow": (("blood_flow_lpm", "#1f77b4"), ("pump_speed_rpm", "#7f7f7f")),
    "trend-pressures": (
        ("p_venous_mmhg", "#9467bd"),
        ("p_pre_oxy_mmhg", "#d62728"),
        ("p_post_oxy_mmhg", "#2ca02c"),
    ),
    "trend-delta-p": (("delta_p_mmhg", "#ff7f0e"),),
}
TILES: tuple[tuple[str, str], ...] = (
    ("blood_flow_lpm", "{:.2f}"),
    ("pump_speed_rpm", "{:.0f}"),
    ("p_venous_mmhg", "{:.0f}"),
    ("p_pre_oxy_mmhg", "{:.0f}"),
    ("p_post_oxy_mmhg", "{:.0f}"),
    ("delta_p_mmhg", "{:.0f}"),
    ("svo2_pct", "{:.0f}"),
    ("hb_g_dl", "{:.1f}"),
    ("sweep_gas_lpm", "{:.1f}"),
)
STATE_TEXT = {
    SourceState.CONNECTING: "connecting",
    SourceState.RECEIVING: "receiving",
    SourceState.NO_DATA: "NO DATA",
    SourceState.DISCONNECTED: "DISCONNECTED",
    SourceState.PAUSED: "paused",
    SourceState.FINISHED: "replay finished",
    SourceState.STOPPED: "stopped",
}


def _label(column: str) -> str:
    channel = CHANNEL_BY_NAME[column]
    return f"{channel.label} ({channel.unit})"


def _series(buffer_frame, column: str, downsample: bool):
    times_ms = epoch_seconds(buffer_frame[TIMESTAMP]) * 1000.0
    values = buffer_frame[column].to_numpy(dtype="float64")
    if len(buffer_frame) and "artifact_mask" in buffer_frame:
        from adapters.contract import CHANNEL_BIT

        bad = (buffer_frame["artifact_mask"].to_numpy() >> CHANNEL_BIT[column]) & 1
        values = np.where(bad == 1, np.nan, values)  # artifacts are not drawn as values
    if downsample:
        times_ms, values = minmax(times_ms, values)
    return with_gaps(times_ms, values, GAP_MS)


def trend_figure(buffer: TelemetryBuffer, graph_id: str, seconds: float | None) -> dict:
    data = buffer.window(seconds)
    traces = []
    for i, (column, colour) in enumerate(TRENDS[graph_id]):
        x, y = _series(data, column, downsample=True)
        trace = {
            "type": "scatter",
            "mode": "lines",
            "name": _label(column),
            "x": x,
            "y": y,
            "line": {"color": colour, "width": 1.5},
            "connectgaps": False,
        }
        if graph_id == "trend-flow" and i == 1:
            trace["yaxis"] = "y2"
        traces.append(trace)
    layout = {
        "margin": {"l": 60, "r": 60, "t": 10, "b": 30},
        "height": 220,
        "xaxis": {"type": "date", "gridcolor": "#333"},
        "uirevision": graph_id,
        "paper_bgcolor": "#1a1a1a",
        "plot_bgcolor": "#1a1a1a",
        "font": {"color": "#ddd"},
        "legend": {"orientation": "h", "y": 1.15},
    }
    if graph_id == "trend-flow":
        layout["yaxis"] = {"title": {"text": "L/min"}}
        layout["yaxis2"] = {"title": {"text": "rpm"}, "overlaying": "y", "side": "right"}
    else:
        layout["yaxis"] = {"title": {"text": "mmHg"}}
    return {"data": traces, "layout": layout}


def _header(snapshot: SessionSnapshot) -> list:
    age = snapshot.frame_age()
    state = snapshot.source.state
    stale = snapshot.stale
    parts = [
        html.Span(snapshot.bed_label, className="bed", id="bed-label"),
        html.Span(
            f"weight {snapshot.weight_kg:g} kg" if snapshot.weight_kg else "weight not set",
            id="weight",
        ),
        html.Span(snapshot.source.description, id="source-description"),
        html.Span(
            STATE_TEXT.get(state, str(state)),
            id="connection-state",
            className="state stale" if stale else "state",
            **{"data-state": str(state)},
        ),
        html.Span(
            "no frame yet" if age is None else f"newest frame {age:.1f} s ago",
            id="frame-age",
        ),
        html.Span(
            f"frames {snapshot.source.good_frames}, rejected {snapshot.source.bad_frames}",
            id="frame-counts",
        ),
    ]
    if snapshot.recorder is not None:
        rec = snapshot.recorder
        parts.append(
            html.Span(
                rec.error or f"recording {rec.path.name if rec.path else ''}",
                id="recorder-state",
                className="stale" if rec.error else "",
            )
        )
    return parts


def _tiles(buffer: TelemetryBuffer, weight_kg: float | None) -> list:
    latest = buffer.latest() or {}
    tiles = []
    for column, fmt in TILES:
        channel = CHANNEL_BY_NAME[column]
        value = latest.get(column, float("nan"))
        text = "--" if value != value else fmt.format(value)
        extra = ""
        if column == "blood_flow_lpm" and weight_kg and value == value:
            extra = f"{value * 1000 / weight_kg:.0f} mL/kg/min"
        tiles.append(
            html.Div(
                [
                    html.Div(channel.label, className="tile-label"),
                    html.Div(
                        [
                            html.Span(text, className="tile-value"),
                            html.Span(channel.unit, className="tile-unit"),
                        ]
                    ),
                    html.Div(extra, className="tile-extra"),
                ],
                className="tile",
                id=f"tile-{column}",
                **{"data-value": "" if value != value else repr(value)},
            )
        )
    return tiles


def create_app(registry: SessionRegistry, dev: bool = False) -> Dash:
    """The Dash application for the first session in ``registry``."""
    app = Dash(__name__, title="ecmo-monitor", update_title=None)
    app.enable_dev_tools(debug=dev, dev_tools_ui=dev, dev_tools_hot_reload=False)

    def session() -> Session:
        return registry.first()

    def layout():
        s = session()
        snap = s.snapshot()
        return html.Div(
            [
                html.Div(_header(snap), id="header", className="header"),
                html.Div(_tiles(s.buffer, s.weight_kg), id="tiles", className="tiles"),
                *[
                    dcc.Graph(
                        id=graph_id,
                        figure=trend_figure(s.buffer, graph_id, INITIAL_WINDOW_S),
                        config={"displaylogo": False},
                    )
                    for graph_id in TRENDS
                ],
                dcc.Store(id="cursor", data={"seq": snap.last_seq}),
                dcc.Interval(id="refresh", interval=REFRESH_MS),
            ],
            className="page",
        )

    app.layout = layout

    @app.server.route("/api/status")
    def status():  # read-only health check for scripts and tests
        snap = session().snapshot()
        return {
            "bed": snap.bed_id,
            "source": snap.source.description,
            "state": str(snap.source.state),
            "good_frames": snap.source.good_frames,
            "bad_frames": snap.source.bad_frames,
            "reconnects": snap.source.reconnects,
            "last_seq": snap.last_seq,
            "newest_frame_time": snap.newest_frame_time,
            "frame_age_s": snap.frame_age(),
            "recording": None if snap.recorder is None else str(snap.recorder.path),
            "recording_error": None if snap.recorder is None else snap.recorder.error,
        }
    graph_ids = list(TRENDS)

    @app.callback(
        Output("header", "children"),
        Output("tiles", "children"),
        *[Output(g, "extendData") for g in graph_ids],
        *[Output(g, "figure") for g in graph_ids],
        Output("cursor", "data"),
        Input("refresh", "n_intervals"),
        State("cursor", "data"),
    )
    def refresh(_n, cursor):
        s = session()
        snap = s.snapshot()
        seq = int((cursor or {}).get("seq", 0))
        last_time = (cursor or {}).get("t")
        new = s.buffer.since(seq, limit=REDRAW_ABOVE + 1)
        header, tiles = _header(snap), _tiles(s.buffer, s.weight_kg)
        if new.empty:
            return (header, tiles, *[no_update] * (2 * len(graph_ids)), no_update)
        if len(new) > REDRAW_ABOVE:
            figures = [trend_figure(s.buffer, g, INITIAL_WINDOW_S) for g in graph_ids]
            new_cursor = {"seq": s.buffer.last_seq, "t": None}
            return (header, tiles, *[no_update] * len(graph_ids), *figures, new_cursor)
        extends = []
        times_ms = epoch_seconds(new[TIMESTAMP]) * 1000.0
        for g in graph_ids:
            xs, ys = [], []
            for column, _colour in TRENDS[g]:
                x, y = _series(new, column, downsample=False)
                if last_time is not None and times_ms[0] - last_time > GAP_MS:
                    x, y = [last_time + 1, *x], [None, *y]
                xs.append(x)
                ys.append(y)
            extends.append([{"x": xs, "y": ys}, list(range(len(TRENDS[g]))), KEEP_POINTS])
        new_cursor = {"seq": int(new["seq"].iloc[-1]), "t": float(times_ms[-1])}
        return (header, tiles, *extends, *[no_update] * len(graph_ids), new_cursor)

    return app
