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
    gaps = np.flatnonzero(np.diff(times_ms) > gap_ms)
    keep = np.arange(n) if max_points is None else minmax_indices(times_ms, values, max_points)
    return _lists(keep, times_ms[keep], values[keep], gaps)


def _lists(keep: np.ndarray, t: np.ndarray, v: np.ndarray, gaps: np.ndarray) -> tuple[list, list]:
    """x/y lists of the kept points (indices ``keep``, times ``t``, values ``v``).

    ``gaps``: the indices a gap follows, in order; a None goes between kept points j and
    j+1 when one of them lies in [keep[j], keep[j+1]).
    """
    between = np.searchsorted(gaps, keep[1:]) - np.searchsorted(gaps, keep[:-1])
    breaks = np.flatnonzero(between > 0)
    x = t.astype(object)
    y = np.where(np.isnan(v), None, v.astype(object))
    if len(breaks):
        x = np.insert(x, breaks + 1, [t[i] + 1 for i in breaks])
        y = np.insert(y, breaks + 1, [None] * len(breaks))
    return x.tolist(), y.tolist()


#: The low and the high end of a bucket: what a missing value counts as, the extreme, which wins.
_ENDS = ((np.inf, np.minimum, np.less), (-np.inf, np.maximum, np.greater))


class ChunkedSeries:
    """:func:`series` of a long window whose rows come a chunk at a time, oldest first.

    The same points (min/max per time bucket, gaps found in the raw times) without the
    whole window in memory: only each bucket's extremes so far and the gaps are kept.
    ``count`` rows in all, the first at ``first_ms`` and the last at ``last_ms``.
    """

    def __init__(
        self,
        first_ms: float,
        last_ms: float,
        count: int,
        gap_ms: float,
        max_points: int = MAX_POINTS,
    ) -> None:
        self._all = count <= max_points
        self._buckets = max(1, max_points // 2)
        self._edges = np.linspace(first_ms, last_ms, self._buckets + 1)
        self._gap_ms = gap_ms
        self._seen = 0
        self._last_ms: float | None = None
        self._gaps: list[np.ndarray] = []
        self._kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # keep-all mode
        # per bucket, for the low and the high end: row, value compared, time, value
        self._at = np.full((2, self._buckets), -1, dtype="int64")
        self._best = np.zeros((2, self._buckets))
        self._t = np.zeros((2, self._buckets))
        self._v = np.zeros((2, self._buckets))

    def add(self, times_ms: np.ndarray, values: np.ndarray) -> None:
        """The next rows (their times and values), after every row added before."""
        n, offset = len(times_ms), self._seen
        if n == 0:
            return
        self._seen += n
        if self._last_ms is not None and times_ms[0] - self._last_ms > self._gap_ms:
            self._gaps.append(np.array([offset - 1]))
        self._gaps.append(np.flatnonzero(np.diff(times_ms) > self._gap_ms) + offset)
        self._last_ms = float(times_ms[-1])
        if self._all:
            self._kept.append((np.arange(offset, offset + n), times_ms.copy(), values.copy()))
            return
        which = np.searchsorted(self._edges, times_ms, side="right") - 1
        np.clip(which, 0, self._buckets - 1, out=which)
        starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
        lengths = np.diff(np.r_[starts, n])
        run = np.repeat(np.arange(len(starts)), lengths)
        buckets = which[starts]  # times are in order, so each run is a bucket of its own
        missing = np.isnan(values)
        for end, (fill, extreme, better) in enumerate(_ENDS):
            compared = np.where(missing, fill, values)
            # the first row of each run that reaches the run's extreme: what argmin/argmax pick
            hits = np.flatnonzero(
                compared == np.repeat(extreme.reduceat(compared, starts), lengths)
            )
            i = hits[np.unique(run[hits], return_index=True)[1]]
            # strictly better only: of equal extremes the earliest row stays
            take = (self._at[end, buckets] < 0) | better(compared[i], self._best[end, buckets])
            k, i = buckets[take], i[take]
            self._at[end, k] = offset + i
            self._best[end, k] = compared[i]
            self._t[end, k] = times_ms[i]
            self._v[end, k] = values[i]

    def lists(self) -> tuple[list, list]:
        """The x/y lists :func:`series` gives for all the rows added."""
        if self._seen == 0:
            return [], []
        gaps = np.concatenate(self._gaps)
        if self._all:
            keep, t, v = (np.concatenate(part) for part in zip(*self._kept, strict=True))
            return _lists(keep, t, v, gaps)
        held = self._at >= 0
        keep, first = np.unique(self._at[held], return_index=True)
        return _lists(keep, self._t[held][first], self._v[held][first], gaps)
