"""Reducing long windows to a few thousand points per trace without hiding peaks or gaps."""

from __future__ import annotations

import numpy as np

#: Default most points a trace carries to the browser, whatever the window.
MAX_POINTS = 2000


def minmax_indices(
    times_ms: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS
) -> np.ndarray:
    """Indices kept by min/max per time bucket: every spike's extreme survives.

    At most ``max_points`` indices, in time order; all of them when there are few.
    """
    n = len(times_ms)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // 2)
    edges = np.linspace(times_ms[0], times_ms[-1], buckets + 1)
    which = np.clip(np.searchsorted(edges, times_ms, side="right") - 1, 0, buckets - 1)
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
    lows = np.where(np.isnan(values), np.inf, values)
    highs = np.where(np.isnan(values), -np.inf, values)
    # per-bucket argmin/argmax without a Python loop over samples
    low_at = starts + np.array(
        [int(np.argmin(lows[a:b])) for a, b in zip(starts, np.r_[starts[1:], n], strict=True)]
    )
    high_at = starts + np.array(
        [int(np.argmax(highs[a:b])) for a, b in zip(starts, np.r_[starts[1:], n], strict=True)]
    )
    return np.unique(np.r_[low_at, high_at])


def series(
    times_ms: np.ndarray, values: np.ndarray, gap_ms: float, max_points: int | None = MAX_POINTS
) -> tuple[list, list]:
    """x/y lists for plotly: downsampled when long, with None after each point a gap follows.

    Gaps are found in the raw times, so downsampling never invents or hides one.
    """
    n = len(times_ms)
    if n == 0:
        return [], []
    gap_after = np.zeros(n, dtype=bool)
    gap_after[:-1] = np.diff(times_ms) > gap_ms
    keep = np.arange(n) if max_points is None else minmax_indices(times_ms, values, max_points)
    counts = np.cumsum(gap_after)
    # a gap lies between kept points j and j+1 when one starts in [keep[j], keep[j+1])
    before_next = counts[keep[1:] - 1] - np.where(keep[:-1] > 0, counts[keep[:-1] - 1], 0)
    breaks = np.flatnonzero(before_next > 0)
    t = times_ms[keep].astype(object)
    v = values[keep]
    v = np.where(np.isnan(v), None, v.astype(object))
    if len(breaks):
        t = np.insert(t, breaks + 1, [times_ms[keep[i]] + 1 for i in breaks])
        v = np.insert(v, breaks + 1, [None] * len(breaks))
    return t.tolist(), v.tolist()
