"""The trend figure: four time-aligned rows sharing one time axis.

Rows: flow and pump speed; the three circuit pressures; delta P with its flow-scaled
baseline and the medium and high reference lines in force; lab results as points with
their limits. Events are vertical markers across all rows. Long windows are downsampled
per pixel bucket (min/max, gaps kept) so no trace carries more than a few thousand points.

The figure is a plain dict (what plotly.js takes), built once per redraw; refreshes
extend its traces by index (``present.traces.TRACE_KEYS``). Every limit, reference line
and baseline comes from ``rules`` through :class:`TrendSettings`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters import CHANNEL_BY_NAME, TIMESTAMP, epoch_seconds
from monitor.present import (
    DRAWN_COLUMNS,
    LAB_TRACES,
    REFERENCE_COLOURS,
    TELEMETRY_TRACES,
    ResistanceAt,
    WindowPoints,
    clean,
    dark_axis,
    dark_layout,
    event_markers,
    markers_at,
    trace_points,
)
from monitor.runtime import Session
from rules import (
    Analysis,
    Forecast,
    RulesConfig,
    delta_p_reference_lines,
    lab_limits,
    resistance_in_force,
    shown_forecast,
)

#: Frames read from the buffer at a time for a long window's figure (about 2 MB).
PART_ROWS = 16_384
#: The pump speed axis spans at least this much (rpm), so sensor noise on a steady pump
#: stays a flat line and a deliberate speed change still shows.
MIN_SPEED_SPAN_RPM = 200.0


@dataclass(frozen=True, slots=True)
class TrendSettings:
    """What the trend draws from the rules in force: baseline, reference lines, lab limits."""

    resistance_at: ResistanceAt | None
    references: tuple
    lab_limits: tuple
    gap_s: float
    #: The delta P forecast in force (a running bed), drawn as a projection.
    forecast: Forecast | None = None

    @classmethod
    def of_config(
        cls,
        config: RulesConfig,
        resistance_at: ResistanceAt | None = None,
        forecast: Forecast | None = None,
    ):
        return cls(
            resistance_at,
            delta_p_reference_lines(config),
            lab_limits(config),
            config.data_stale.recording_gap_s,
            forecast,
        )

    @classmethod
    def of_session(cls, session: Session) -> TrendSettings:
        """The settings of a running bed: its engine's config, baselines and forecast."""
        resistance = resistance_in_force(session.baselines())
        forecast = shown_forecast(session.forecasts())
        return cls.of_config(session.engine.config, resistance, forecast)

    @classmethod
    def of_analysis(cls, analysis: Analysis) -> TrendSettings:
        """The settings of a whole-session analysis: its config and baselines."""
        return cls.of_config(analysis.config, resistance_in_force(analysis.baselines))


def _axis(row: int, secondary: bool = False) -> tuple[str, str]:
    # rows 1-4 use x and y..y4 with y5 the secondary axis of row 1
    if secondary:
        return "x", "y5"
    return "x", "y" if row == 1 else f"y{row}"


def _line(name: str, x: list, y: list, yaxis: str, colour: str, unit: str, **extra) -> dict:
    label = extra.pop("label", name)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "xaxis": "x",
        "yaxis": yaxis,
        "line": {"color": colour, "width": 1.5},
        "connectgaps": False,
        "hovertemplate": f"%{{y:.4g}} {unit}<extra>{label}</extra>",
        **extra,
    }


def _speed_axis(speeds: np.ndarray) -> dict:
    """The pump speed axis: autoscaled, but never to less than MIN_SPEED_SPAN_RPM.

    ``speeds``: the window's pump speeds as drawn (artifacts blanked; NaN left out here).
    """
    axis = {
        "overlaying": "y",
        "side": "right",
        "title": {"text": "speed rpm"},
        "showgrid": False,
        "tickmode": "auto",  # its own round ticks, not the flow axis's grid
        "tickformat": "d",
    }
    speeds = speeds[~np.isnan(speeds)]
    if speeds.size:
        middle = float(np.median(speeds))
        half = MIN_SPEED_SPAN_RPM / 2.0
        # autorange still grows with the data; it only includes this span as a minimum
        axis["autorangeoptions"] = {"include": [max(middle - half, 0.0), middle + half]}
    return axis


def _lab_shapes(limits) -> list[dict]:
    lab_colour = {trace.key: trace.colour for trace in LAB_TRACES}
    return [
        {
            "type": "line",
            "xref": "x domain",
            "yref": "y4",
            "x0": 0,
            "x1": 1,
            "y0": limit.value,
            "y1": limit.value,
            "line": {"color": lab_colour.get(limit.analyte, "#fff"), "width": 1, "dash": "dash"},
            "label": {
                "text": limit.text,
                "textposition": "end",
                "font": {"size": 10, "color": "#ddd"},
            },
        }
        for limit in limits
    ]


#: The projection reaches ahead at most this share of the window drawn (and 15 minutes at
#: least), so the trend is not squeezed into the past by a crossing days away.
PROJECTION_SHARE = 0.25
PROJECTION_LABEL = "Delta P projection (forecast)"


def _projection(forecast: Forecast | None, points: dict) -> dict:
    """The delta P the forecast projects at the current flow, from the newest point to
    the forecast crossing (or as far ahead as the window allows): a dashed line on the
    delta P row, always present (empty when there is no forecast) so trace indices hold."""
    x, y = [], []
    times = [t for t in points["delta_p_mmhg"][0] if t is not None]
    if forecast is not None and forecast.eta is not None and times:
        first, last = times[0] / 1000.0, times[-1] / 1000.0
        ahead = max((last - first) * PROJECTION_SHARE, 900.0)
        end = min(forecast.eta, last + ahead)
        if end > last:
            x = [last * 1000.0, end * 1000.0]
            y = [float(v) for v in forecast.projection(np.array([last, end]))]
    drawn = _line(
        PROJECTION_LABEL,
        x,
        y,
        "y3",
        REFERENCE_COLOURS[forecast.priority] if forecast else "#fff",
        "mmHg",
    )
    drawn["line"] = {**drawn["line"], "dash": "longdash", "width": 2}
    if forecast is not None:
        drawn["hovertemplate"] = f"%{{y:.0f}} mmHg<extra>{forecast.text()}</extra>"
    return drawn


def trend_figure(
    data: pd.DataFrame,
    settings: TrendSettings,
    window_ms: tuple[float, float] | None = None,
    revision: str = "trends",
) -> dict:
    """The whole figure for a window of buffer data (downsampled)."""
    points = trace_points(
        data, settings.resistance_at, settings.references, settings.gap_s, downsample=True
    )
    speeds = clean(data, "pump_speed_rpm") if len(data) else np.zeros(0)
    return _figure(points, event_markers(data), speeds, settings, window_ms, revision)


def _figure(points: dict, markers: tuple, speeds, settings, window_ms, revision: str) -> dict:
    """The figure of a window's trace points, event markers and drawn pump speeds."""
    traces = []
    for trace in TELEMETRY_TRACES:
        _xaxis, yaxis = _axis(trace.row, trace.secondary)
        unit = CHANNEL_BY_NAME[trace.key].unit
        name = f"{trace.label} ({unit})"
        traces.append(_line(name, *points[trace.key], yaxis, trace.colour, unit, label=trace.label))
    for line in settings.references:
        drawn = _line(line.label, *points[line.key], "y3", REFERENCE_COLOURS[line.priority], "mmHg")
        drawn["line"] = {
            "color": REFERENCE_COLOURS[line.priority],
            "width": 1,
            "dash": "dash" if line.priority is None else "dot",
        }
        traces.append(drawn)
    for trace in LAB_TRACES:
        unit = CHANNEL_BY_NAME[trace.key].unit
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+lines",
                "name": f"{trace.label} ({unit})",
                "x": points[trace.key][0],
                "y": points[trace.key][1],
                "xaxis": "x",
                "yaxis": "y4",
                "marker": {"color": trace.colour, "size": 9},
                "line": {"color": trace.colour, "width": 1, "dash": "dot"},
                "hovertemplate": f"%{{y:.4g}} {unit}<extra>{trace.label}</extra>",
            }
        )
    traces.append(_projection(settings.forecast, points))
    shapes, notes = markers
    shapes = shapes + _lab_shapes(settings.lab_limits)
    layout = dark_layout(
        height=760,
        margin={"l": 70, "r": 70, "t": 30, "b": 40},
        uirevision=revision,
        showlegend=True,
        legend={"orientation": "h", "y": -0.06, "font": {"size": 11}},
        hovermode="x unified",
        xaxis=dark_axis(type="date", anchor="y4", showspikes=True),
        yaxis=dark_axis(domain=[0.79, 1.0], title={"text": "flow L/min"}),
        yaxis5=_speed_axis(speeds),
        yaxis2=dark_axis(domain=[0.53, 0.76], title={"text": "pressure mmHg"}),
        yaxis3=dark_axis(domain=[0.27, 0.50], title={"text": "delta P mmHg"}),
        # one labelled tick per decade: plotly's default labels 2 and 5 in between too
        yaxis4=dark_axis(
            domain=[0.0, 0.24],
            title={"text": "labs (log)"},
            type="log",
            dtick=1,
            minor={"showgrid": True, "gridcolor": "#262626"},
        ),
        shapes=shapes,
        annotations=notes,
    )
    if window_ms is not None:
        layout["xaxis"]["range"] = list(window_ms)
    return {"data": traces, "layout": layout}


def full_figure(session: Session, seconds: float | None) -> dict:
    """The trend figure of a bed's window (``seconds`` back from the newest frame), whole.

    A window longer than :data:`PART_ROWS` frames is read and reduced a part at a time
    (the same figure, without a full-resolution copy of the window in memory); only one
    such figure is built at a time on the server (see :func:`_one_at_a_time`).
    """
    settings = TrendSettings.of_session(session)
    revision = f"trends-{seconds}"
    for _attempt in range(3):
        first, count = session.buffer.span(seconds)
        if count <= PART_ROWS:
            break
        try:
            return _one_at_a_time(_long_figure, session.buffer, first, count, settings, revision)
        except LookupError:
            continue  # frames dropped off the old end while it was read: read it anew
    data = session.buffer.window(seconds, columns=DRAWN_COLUMNS)
    return trend_figure(data, settings, revision=revision)


def _long_figure(buffer, first: int, count: int, settings: TrendSettings, revision: str) -> dict:
    """The figure of frames ``first`` .. ``first + count - 1``, read PART_ROWS at a time."""
    ends = buffer.rows(first, 1), buffer.rows(first + count - 1, 1)
    first_ms, last_ms = (float(epoch_seconds(end[TIMESTAMP])[0]) * 1000.0 for end in ends)
    window = WindowPoints(
        first_ms, last_ms, count, settings.resistance_at, settings.references, settings.gap_s
    )
    for seq in range(first, first + count, PART_ROWS):
        window.add(buffer.rows(seq, min(PART_ROWS, first + count - seq), DRAWN_COLUMNS))
    markers = markers_at(*window.events())
    return _figure(window.points(), markers, window.speeds(), settings, None, revision)


#: One thread builds every long figure: concurrent redraws (a window change and a
#: refresh crossing it, several pages) then never hold several windows' worth of scratch
#: at once, and the scratch is reused from one thread's allocator rather than left behind
#: in the allocator arena of each short-lived request thread.
_LONG_FIGURES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="long-figure")


def _one_at_a_time(build, *args):
    return _LONG_FIGURES.submit(build, *args).result()
