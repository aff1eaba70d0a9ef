"""The trend traces shared by the live page, the QA views and the report.

Which channels are drawn, in which row and colour, and how a window of buffer or
recording data becomes x/y lists (artifacts blanked, gaps broken, long windows
downsampled). The delta P reference lines and the baseline in force come from ``rules``;
nothing here knows a clinical number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters import EVENT, TIMESTAMP, clean_column, epoch_seconds
from monitor.present.downsample import MAX_POINTS, ChunkedSeries, series
from monitor.present.text import chart_text

ResistanceAt = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class Trace:
    """One drawn channel: its key (a contract column), label, colour and row."""

    key: str
    label: str
    colour: str
    row: int
    secondary: bool = False


TELEMETRY_TRACES: tuple[Trace, ...] = (
    Trace("blood_flow_lpm", "Blood flow", "#4fc3f7", 1),
    Trace("pump_speed_rpm", "Pump speed", "#bdbdbd", 1, secondary=True),
    Trace("p_venous_mmhg", "Drainage pressure", "#ba68c8", 2),
    Trace("p_pre_oxy_mmhg", "Pre-oxygenator pressure", "#ef5350", 2),
    Trace("p_post_oxy_mmhg", "Post-oxygenator pressure", "#66bb6a", 2),
    Trace("delta_p_mmhg", "Delta P", "#ffa726", 3),
)
#: Colour of each delta P reference line (row 3), by the priority it marks.
REFERENCE_COLOURS = {None: "#e0e0e0", "medium": "#ffd600", "high": "#ff1744"}
#: Keys of the delta P reference lines, in drawing order (rules names them the same).
REFERENCE_KEYS: tuple[str, ...] = ("delta_p_baseline", "delta_p_medium", "delta_p_high")
LAB_TRACES: tuple[Trace, ...] = (
    Trace("plasma_free_hb_mg_dl", "Plasma free Hb", "#ff8a80", 4),
    Trace("ldh_u_l", "LDH", "#ffe082", 4),
    Trace("haptoglobin_mg_dl", "Haptoglobin", "#80deea", 4),
    Trace("bilirubin_mg_dl", "Bilirubin", "#c5e1a5", 4),
)
#: The buffer columns the trends draw (the rest need not be read for a figure).
DRAWN_COLUMNS: tuple[str, ...] = (
    *(t.key for t in TELEMETRY_TRACES),
    *(t.key for t in LAB_TRACES),
)
#: Every trace key in figure order: refreshes extend traces by this index.
TRACE_KEYS: tuple[str, ...] = (
    *(t.key for t in TELEMETRY_TRACES),
    *REFERENCE_KEYS,
    *(t.key for t in LAB_TRACES),
)


def clean(data: pd.DataFrame, column: str) -> np.ndarray:
    """The channel's values with artifacts blanked (they are never drawn as values)."""
    mask = data["artifact_mask"].to_numpy() if "artifact_mask" in data else None
    return clean_column(data[column].to_numpy(dtype="float64"), column, mask)


def trace_points(
    data: pd.DataFrame,
    resistance_at: ResistanceAt | None,
    references: Sequence,
    gap_s: float,
    downsample: bool,
    previous_ms: float | None = None,
) -> dict[str, tuple[list, list]]:
    """x/y lists per trace key for ``data`` (a buffer window), gaps broken with None.

    ``references``: the delta P reference lines in force (``rules.delta_p_reference_lines``),
    each with ``key`` and ``offset_mmhg``. ``gap_s``: a step between samples longer than
    this is drawn as a break (the rules' recording gap). ``previous_ms``: time of the last
    point the browser already has, so a gap between it and the first new point breaks too.
    """
    times_ms = epoch_seconds(data[TIMESTAMP]) * 1000.0 if len(data) else np.zeros(0)
    gap_ms = gap_s * 1000.0
    out: dict[str, tuple[list, list]] = {}

    def put(key: str, t: np.ndarray, v: np.ndarray, sparse: bool = False) -> None:
        if sparse:
            keep = ~np.isnan(v)
            out[key] = (t[keep].tolist(), v[keep].tolist())
            return
        x, y = series(t, v, gap_ms, MAX_POINTS if downsample else None)
        if previous_ms is not None and len(t) and t[0] - previous_ms > gap_ms:
            x, y = [previous_ms + 1, *x], [None, *y]
        out[key] = (x, y)

    for trace in TELEMETRY_TRACES:
        put(trace.key, times_ms, clean(data, trace.key))
    flow = clean(data, "blood_flow_lpm")
    if resistance_at is not None and len(data):
        expected = resistance_at(times_ms / 1000.0) * flow
    else:
        expected = np.full(len(times_ms), np.nan)
    for line in references:
        put(line.key, times_ms, expected + line.offset_mmhg)
    for trace in LAB_TRACES:
        put(trace.key, times_ms, clean(data, trace.key), sparse=True)
    return out


def event_times(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """POSIX seconds and texts of the events in ``data`` (blank texts are no event)."""
    if EVENT not in data or not len(data):
        return np.zeros(0), []
    text = data[EVENT].fillna("").astype("str").str.strip()
    rows = np.flatnonzero(text.to_numpy(dtype=object) != "")
    if not rows.size:
        return np.zeros(0), []
    return epoch_seconds(data[TIMESTAMP].iloc[rows]), text.iloc[rows].tolist()


class WindowPoints:
    """:func:`trace_points` (downsampled), :func:`event_times` and the drawn pump speeds of
    a long window, fed a part of its rows at a time, oldest first.

    The same points as from the whole window at once, while only a part of it is in memory
    (a 72 h window is tens of MB as a DataFrame). ``count`` rows in all, the first at
    ``first_ms`` and the last at ``last_ms`` (epoch milliseconds), in time order.
    """

    def __init__(
        self,
        first_ms: float,
        last_ms: float,
        count: int,
        resistance_at: ResistanceAt | None,
        references: Sequence,
        gap_s: float,
    ) -> None:
        self._resistance_at = resistance_at
        self._references = tuple(references)
        keys = [t.key for t in TELEMETRY_TRACES] + [line.key for line in self._references]
        self._series = {k: ChunkedSeries(first_ms, last_ms, count, gap_s * 1000.0) for k in keys}
        self._labs: dict[str, tuple[list, list]] = {t.key: ([], []) for t in LAB_TRACES}
        self._events: list[tuple[np.ndarray, list[str]]] = []
        self._speeds: list[np.ndarray] = []

    def add(self, data: pd.DataFrame) -> None:
        """The next rows of the window (a buffer read), after every row added before."""
        if not len(data):
            return
        times_ms = epoch_seconds(data[TIMESTAMP]) * 1000.0
        for trace in TELEMETRY_TRACES:
            values = clean(data, trace.key)
            self._series[trace.key].add(times_ms, values)
            if trace.key == "pump_speed_rpm":
                self._speeds.append(values[~np.isnan(values)])
        if self._resistance_at is not None:
            expected = self._resistance_at(times_ms / 1000.0) * clean(data, "blood_flow_lpm")
        else:
            expected = np.full(len(times_ms), np.nan)
        for line in self._references:
            self._series[line.key].add(times_ms, expected + line.offset_mmhg)
        for trace in LAB_TRACES:
            v = clean(data, trace.key)
            keep = ~np.isnan(v)
            xs, ys = self._labs[trace.key]
            xs += times_ms[keep].tolist()
            ys += v[keep].tolist()
        self._events.append(event_times(data))

    def points(self) -> dict[str, tuple[list, list]]:
        """x/y lists per trace key, as :func:`trace_points` gives them for the whole window."""
        out = {key: series.lists() for key, series in self._series.items()}
        return {**out, **self._labs}

    def events(self) -> tuple[np.ndarray, list[str]]:
        """POSIX seconds and texts of the window's events, as :func:`event_times` gives them."""
        seconds = [s for s, _texts in self._events]
        texts = [text for _s, part in self._events for text in part]
        return (np.concatenate(seconds) if seconds else np.zeros(0)), texts

    def speeds(self) -> np.ndarray:
        """The pump speeds drawn (artifacts and missing values left out)."""
        return np.concatenate(self._speeds) if self._speeds else np.zeros(0)


def event_markers(data: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """Vertical lines and labels for the events in a window."""
    return markers_at(*event_times(data))


def markers_at(seconds: np.ndarray, texts: list[str]) -> tuple[list[dict], list[dict]]:
    """Vertical lines and labels for events at ``seconds`` (POSIX) with ``texts``."""
    shapes, notes = [], []
    for t, text in zip((seconds * 1000.0).tolist(), texts, strict=True):
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
                "text": chart_text(text),
                "showarrow": False,
                "font": {"size": 11, "color": "#ffffff"},
                "textangle": -30,
            }
        )
    return shapes, notes
