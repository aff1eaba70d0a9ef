"""The trend figure: four time-aligned rows sharing one time axis.

Rows: flow and pump speed; the three circuit pressures; delta P with its flow-scaled
baseline and the +30/+40 mmHg lines; lab results as points with their limits. Events are
vertical markers across all rows. Long windows are downsampled per pixel bucket (min/max,
gaps kept) so no trace carries more than a few thousand points.

The figure is a plain dict (what plotly.js takes), built once per redraw; refreshes
extend its traces by index, so the trace order below is part of the page's contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters import CHANNEL_BY_NAME, EVENT, TIMESTAMP, epoch_seconds
from adapters.contract import CHANNEL_BIT

from .downsample import MAX_POINTS, series

#: A step between samples longer than this (ms) is drawn as a break in every trace.
GAP_MS = 10_000

# (key, label, unit, colour, row, secondary axis, dash)
TELEMETRY_TRACES: tuple[tuple[str, str, str, int, bool, str], ...] = (
    ("blood_flow_lpm", "Blood flow", "#4fc3f7", 1, False, "solid"),
    ("pump_speed_rpm", "Pump speed", "#bdbdbd", 1, True, "solid"),
    ("p_venous_mmhg", "Drainage pressure", "#ba68c8", 2, False, "solid"),
    ("p_pre_oxy_mmhg", "Pre-oxygenator pressure", "#ef5350", 2, False, "solid"),
    ("p_post_oxy_mmhg", "Post-oxygenator pressure", "#66bb6a", 2, False, "solid"),
    ("delta_p_mmhg", "Delta P", "#ffa726", 3, False, "solid"),
)
#: Derived delta P reference lines (row 3): the flow-scaled baseline and its limits.
REFERENCE_TRACES: tuple[tuple[str, str, str, float], ...] = (
    ("delta_p_baseline", "Delta P baseline (flow-scaled)", "#e0e0e0", 0.0),
    ("delta_p_medium", "Baseline +30 mmHg", "#ffd600", 30.0),
    ("delta_p_high", "Baseline +40 mmHg", "#ff1744", 40.0),
)
#: Lab analytes (row 4, log axis) and their alert limits (CLINICAL.md).
LAB_TRACES: tuple[tuple[str, str, str], ...] = (
    ("plasma_free_hb_mg_dl", "Plasma free Hb", "#ff8a80"),
    ("ldh_u_l", "LDH", "#ffe082"),
    ("haptoglobin_mg_dl", "Haptoglobin", "#80deea"),
    ("bilirubin_mg_dl", "Bilirubin", "#c5e1a5"),
)
TRACE_KEYS: tuple[str, ...] = (
    *(t[0] for t in TELEMETRY_TRACES),
    *(t[0] for t in REFERENCE_TRACES),
    *(t[0] for t in LAB_TRACES),
)
TRACE_INDEX: dict[str, int] = {key: i for i, key in enumerate(TRACE_KEYS)}

ResistanceAt = Callable[[np.ndarray], np.ndarray]


def baseline_resistance_at(baselines, reset_times) -> ResistanceAt:
    """Baseline resistance (mmHg per L/min) in force at given times, NaN where none.

    A baseline holds from when it was established up to the first baseline event
    (``reset_times``, POSIX seconds) after that; before any baseline, there is none.
    """
    resets = np.sort(np.asarray([t for t in reset_times if t is not None], dtype="float64"))
    spans = []
    for base in baselines:
        if base.resistance is None or base.established is None:
            continue
        later = resets[resets > base.established]
        spans.append((base.established, later[0] if later.size else np.inf, base.resistance))

    def at(seconds: np.ndarray) -> np.ndarray:
        out = np.full(len(seconds), np.nan)
        for start, end, resistance in spans:
            out[(seconds >= start) & (seconds < end)] = resistance
        return out

    return at


@dataclass(frozen=True, slots=True)
class LabLimit:
    analyte: str
    value: float
    text: str


def _axis(row: int, secondary: bool = False) -> tuple[str, str]:
    # rows 1-4 use x and y..y4 with y5 the secondary axis of row 1
    if secondary:
        return "x", "y5"
    return "x", "y" if row == 1 else f"y{row}"


def _clean(data: pd.DataFrame, column: str) -> np.ndarray:
    """The channel's values with artifacts blanked (they are never drawn as values)."""
    values = data[column].to_numpy(dtype="float64")
    if "artifact_mask" in data and len(data):
        bad = (data["artifact_mask"].to_numpy() >> CHANNEL_BIT[column]) & 1
        values = np.where(bad == 1, np.nan, values)
    return values


def trace_points(
    data: pd.DataFrame,
    resistance_at: ResistanceAt | None,
    downsample: bool,
    previous_ms: float | None = None,
) -> dict[str, tuple[list, list]]:
    """x/y lists per trace key for ``data`` (a buffer window), gaps broken with None.

    ``previous_ms``: time of the last point the browser already has, so a gap between it
    and the first new point is drawn as a break too.
    """
    times_ms = epoch_seconds(data[TIMESTAMP]) * 1000.0 if len(data) else np.zeros(0)
    out: dict[str, tuple[list, list]] = {}

    def put(key: str, t: np.ndarray, v: np.ndarray, sparse: bool = False) -> None:
        if sparse:
            keep = ~np.isnan(v)
            out[key] = (t[keep].tolist(), v[keep].tolist())
            return
        x, y = series(t, v, GAP_MS, MAX_POINTS if downsample else None)
        if previous_ms is not None and len(t) and t[0] - previous_ms > GAP_MS:
            x, y = [previous_ms + 1, *x], [None, *y]
        out[key] = (x, y)

    for key, *_rest in TELEMETRY_TRACES:
        put(key, times_ms, _clean(data, key))
    flow = _clean(data, "blood_flow_lpm")
    if resistance_at is not None and len(data):
        expected = resistance_at(times_ms / 1000.0) * flow
    else:
        expected = np.full(len(times_ms), np.nan)
    for key, _label, _colour, offset in REFERENCE_TRACES:
        put(key, times_ms, expected + offset)
    for key, *_rest in LAB_TRACES:
        put(key, times_ms, _clean(data, key), sparse=True)
    return out


def event_markers(data: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """Vertical lines and labels for the events in a window."""
    if not len(data):
        return [], []
    events = data[EVENT].to_numpy(dtype=object)
    marked = np.flatnonzero(events != "")
    shapes, notes = [], []
    times_ms = epoch_seconds(data[TIMESTAMP].iloc[marked]) * 1000.0 if len(marked) else []
    for i, t in zip(marked, times_ms, strict=True):
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": t,
                "x1": t,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#ffffff", "width": 1, "dash": "dot"},
            }
        )
        notes.append(
            {
                "x": t,
                "xref": "x",
                "yref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "text": str(events[i]).replace("_", " "),
                "showarrow": False,
                "font": {"size": 11, "color": "#ffffff"},
                "textangle": -30,
            }
        )
    return shapes, notes


def trend_figure(
    data: pd.DataFrame,
    resistance_at: ResistanceAt | None = None,
    lab_limits: tuple[LabLimit, ...] = (),
    window_ms: tuple[float, float] | None = None,
    revision: str = "trends",
) -> dict:
    """The whole figure for a window of buffer data (downsampled)."""
    points = trace_points(data, resistance_at, downsample=True)
    traces = []
    for key, label, colour, row, secondary, dash in TELEMETRY_TRACES:
        xaxis, yaxis = _axis(row, secondary)
        unit = CHANNEL_BY_NAME[key].unit
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} ({unit})",
                "x": points[key][0],
                "y": points[key][1],
                "xaxis": xaxis,
                "yaxis": yaxis,
                "line": {"color": colour, "width": 1.5, "dash": dash},
                "connectgaps": False,
                "hovertemplate": f"%{{y:.4g}} {unit}<extra>{label}</extra>",
            }
        )
    for key, label, colour, _offset in REFERENCE_TRACES:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": points[key][0],
                "y": points[key][1],
                "xaxis": "x",
                "yaxis": "y3",
                "line": {
                    "color": colour,
                    "width": 1,
                    "dash": "dash" if key == "delta_p_baseline" else "dot",
                },
                "connectgaps": False,
                "hovertemplate": f"%{{y:.4g}} mmHg<extra>{label}</extra>",
            }
        )
    for key, label, colour in LAB_TRACES:
        unit = CHANNEL_BY_NAME[key].unit
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+lines",
                "name": f"{label} ({unit})",
                "x": points[key][0],
                "y": points[key][1],
                "xaxis": "x",
                "yaxis": "y4",
                "marker": {"color": colour, "size": 9},
                "line": {"color": colour, "width": 1, "dash": "dot"},
                "hovertemplate": f"%{{y:.4g}} {unit}<extra>{label}</extra>",
            }
        )
    shapes, notes = event_markers(data)
    lab_colour = {key: colour for key, _label, colour in LAB_TRACES}
    for limit in lab_limits:
        shapes.append(
            {
                "type": "line",
                "xref": "x domain",
                "yref": "y4",
                "x0": 0,
                "x1": 1,
                "y0": limit.value,
                "y1": limit.value,
                "line": {
                    "color": lab_colour.get(limit.analyte, "#fff"),
                    "width": 1,
                    "dash": "dash",
                },
                "label": {
                    "text": limit.text,
                    "textposition": "end",
                    "font": {"size": 10, "color": "#ddd"},
                },
            }
        )
    grid = "#333"
    layout = {
        "height": 760,
        "margin": {"l": 70, "r": 70, "t": 30, "b": 40},
        "paper_bgcolor": "#1a1a1a",
        "plot_bgcolor": "#1a1a1a",
        "font": {"color": "#ddd"},
        "uirevision": revision,
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.06, "font": {"size": 11}},
        "hovermode": "x unified",
        "xaxis": {"type": "date", "gridcolor": grid, "anchor": "y4", "showspikes": True},
        "yaxis": {"domain": [0.79, 1.0], "title": {"text": "flow L/min"}, "gridcolor": grid},
        "yaxis5": {
            "overlaying": "y",
            "side": "right",
            "title": {"text": "speed rpm"},
            "showgrid": False,
        },
        "yaxis2": {"domain": [0.53, 0.76], "title": {"text": "pressure mmHg"}, "gridcolor": grid},
        "yaxis3": {"domain": [0.27, 0.50], "title": {"text": "delta P mmHg"}, "gridcolor": grid},
        "yaxis4": {
            "domain": [0.0, 0.24],
            "title": {"text": "labs (log)"},
            "type": "log",
            "gridcolor": grid,
        },
        "shapes": shapes,
        "annotations": notes,
    }
    if window_ms is not None:
        layout["xaxis"]["range"] = list(window_ms)
    return {"data": traces, "layout": layout}
