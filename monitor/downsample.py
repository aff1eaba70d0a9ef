"""Reducing long windows to a few thousand points per trace without hiding peaks or gaps."""

from __future__ import annotations

import numpy as np

#: Default most points a trace carries to the browser, whatever the window.
MAX_POINTS = 2000


def gap_breaks(times_ms: np.ndarray, gap_ms: float) -> np.ndarray:
    """Indices i where a gap longer than ``gap_ms`` follows point i."""
    if len(times_ms) < 2:
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(np.diff(times_ms) > gap_ms)


def minmax(times_ms: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS):
    """Min/max per time bucket: keeps every spike's extreme, at most ``max_points`` points.

    Returns (times, values) in time order. Buckets with no data produce nothing, so a
    gap stays a gap once :func:`with_gaps` is applied.
    """
    n = len(times_ms)
    if n <= max_points:
        return times_ms, values
    buckets = max(1, max_points // 2)
    edges = np.linspace(times_ms[0], times_ms[-1], buckets + 1)
    which = np.clip(np.searchsorted(edges, times_ms, side="right") - 1, 0, buckets - 1)
    keep = np.zeros(n, dtype=bool)
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
    ends = np.r_[starts[1:], n]
    finite = np.where(np.isnan(values), np.inf, values)
    finite_max = np.where(np.isnan(values), -np.inf, values)
    for a, b in zip(starts, ends, strict=True):
        keep[a + int(np.argmin(finite[a:b]))] = True
        keep[a + int(np.argmax(finite_max[a:b]))] = True
    return times_ms[keep], values[keep]


def with_gaps(times_ms: np.ndarray, values: np.ndarray, gap_ms: float):
    """Insert a None after each point followed by a gap, so plotly draws a break there."""
    breaks = gap_breaks(times_ms, gap_ms)
    t = times_ms.astype(object)
    v = np.where(np.isnan(values), None, values.astype(object))
    if len(breaks) == 0:
        return t.tolist(), v.tolist()
    t = np.insert(t, breaks + 1, [times_ms[i] + 1 for i in breaks])
    v = np.insert(v, breaks + 1, [None] * len(breaks))
    return t.tolist(), v.tolist()
