"""Theil-Sen lines through resistance bins, for resistance_trend and the forecast.

``Bins`` are the resistance medians of fixed clock bins (``resistance_trend.py`` says how
both engines make them); :func:`theil_sen` is the robust slope with Sen's (1968)
confidence bounds from Kendall's S; :func:`fit_bins` fits the bins of a trailing window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

DAY_S = 86400.0


# -- the fit -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fit:
    """A Theil-Sen line through resistance bins: value = level + slope x (x - center),
    x in POSIX seconds, slopes per day, ``low``/``high`` the slope's confidence bounds."""

    slope: float
    low: float
    high: float
    center: float
    level: float
    hours: float  # of bins the fit is over

    def at(self, seconds: float, slope: float | None = None) -> float:
        s = self.slope if slope is None else slope
        return self.level + s * (seconds - self.center) / DAY_S

    def reaching(self, value: float, slope: float) -> float | None:
        """When the line of ``slope`` through the middle reaches ``value`` (None: never)."""
        if slope <= 0:
            return None
        return self.center + (value - self.level) / slope * DAY_S


def list_median(values: list[float]) -> float:
    """The median of a list, as :func:`group_medians` takes it (mean of the middle two)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def list_median_of(values: np.ndarray) -> float:
    """:func:`list_median` of an array (sorted, the mean of the middle two)."""
    ordered = np.sort(values)
    mid = ordered.size // 2
    return float(ordered[mid] if ordered.size % 2 else (ordered[mid - 1] + ordered[mid]) / 2)


def group_medians(values: np.ndarray, firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray:
    """The median of each group ``values[first:last]`` (none empty; the groups one after
    another, together ``values[firsts[0]:lasts[-1]]``), with the arithmetic of
    :func:`list_median` (mean of the middle two), so both engines agree."""
    sizes = lasts - firsts
    if not sizes.size:
        return np.empty(0)
    longest = int(sizes.max())
    if longest > 64:  # long groups (5-min bins of 1 Hz samples)
        out = np.empty(firsts.size)
        # the groups of the commonest size (a bin full of samples) together: one
        # partition at the middle of each row of a 2-D array; the others one by one
        size = int(np.bincount(sizes).argmax())
        same = np.flatnonzero(sizes == size)
        if same.size > 1:
            mid = size // 2
            # rows copied whole from a strided view (a gather of each element costs more
            # than the partition), then one partition; the lower middle of an even size
            # is the largest of the lower half
            part = np.partition(sliding_window_view(values, size)[firsts[same]], mid, axis=1)
            upper = part[:, mid]
            out[same] = upper if size % 2 else (part[:, :mid].max(axis=1) + upper) / 2
            rest = np.flatnonzero(sizes != size)
        else:
            rest = np.arange(firsts.size)
        for i in rest.tolist():
            out[i] = list_median_of(values[firsts[i] : lasts[i]])
        return out
    # many short groups (blocks of bins): one sort by group, then by value
    chunk = values[firsts[0] : lasts[-1]]
    ordered = chunk[np.lexsort((chunk, np.repeat(np.arange(sizes.size), sizes)))]
    mid = firsts - firsts[0] + sizes // 2
    low = mid - 1 + sizes % 2  # the same element as mid for an odd size
    return np.where(sizes % 2 == 1, ordered[mid], (ordered[low] + ordered[mid]) / 2.0)


@lru_cache(maxsize=8)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


@lru_cache(maxsize=8)
def _z(confidence_pct: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence_pct / 200.0)


def _middle(ordered: np.ndarray) -> float:
    """The median of an array already in order."""
    mid = ordered.size // 2
    return float(ordered[mid] if ordered.size % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0)


def _order(part: np.ndarray, k: int, m: int) -> float:
    """The ``k``-th smallest of ``part``, already partitioned at ``m``."""
    if k == m:
        return float(part[m])
    if k < m:
        return float(np.partition(part[:m], k)[k])
    return float(np.partition(part[m + 1 :], k - m - 1)[k - m - 1])


#: Pairwise slopes from which the median is looked for in a bracket (fewer: one partition).
_BRACKET_FROM = 2000
#: Slopes sampled to place the bracket, and its half-width in the sample's ranks as a
#: multiple of the square root of the sample (about six standard errors of the median).
_BRACKET_SAMPLE = 512
_BRACKET_WIDTH = 3.0


def _middle_in_bracket(slopes: np.ndarray, m: int) -> tuple[float, float] | None:
    """The ``m - 1``-th and ``m``-th smallest of ``slopes`` (0-based; for an odd count
    both the ``m``-th), the same numbers a partition at ``m`` gives, found among the
    slopes between two quantiles of a sample of them; None where the bracket missed
    (or there are too few slopes for one to pay)."""
    count = slopes.size
    if count < _BRACKET_FROM:
        return None
    sample = slopes[:: count // _BRACKET_SAMPLE]
    k = sample.size
    rank, width = k * m / count, _BRACKET_WIDTH * math.sqrt(k)
    lo, hi = max(int(rank - width), 0), min(int(rank + width) + 1, k - 1)
    part = np.partition(sample, (lo, hi))
    a, b = part[lo], part[hi]
    below = int(np.count_nonzero(slopes < a))
    inside = slopes[(slopes >= a) & (slopes <= b)]
    first = m - 1 - below if count % 2 == 0 else m - below  # rank of the lower one inside
    if first < 0 or m - below >= inside.size:
        return None
    inside.partition((first, m - below))
    return float(inside[first]), float(inside[m - below])


def theil_sen(
    seconds: np.ndarray, values: np.ndarray, confidence_pct: float, bounds: bool = True
) -> Fit | None:
    """The Theil-Sen slope (per day) through (``seconds``, ``values``), ``seconds``
    strictly increasing, with Sen's (1968) confidence bounds from Kendall's S (without
    ``bounds``, both are the slope: only the median of the pairwise slopes is found)."""
    n = values.size
    if n < 3:
        return None
    x = seconds / DAY_S
    i, j = _pairs(n)
    slopes = (values[j] - values[i]) / (x[j] - x[i])
    count = slopes.size
    m = count // 2
    middle = None if bounds else _middle_in_bracket(slopes, m)
    if middle is None:
        # one partition at the middle, then the smaller sides (np.partition with several
        # kth is several times slower than with one)
        part = np.partition(slopes, m)
        upper = float(part[m])
        lower = upper if count % 2 else float(part[:m].max())
    else:
        lower, upper = middle
    slope = (lower + upper) / 2.0
    low = high = slope
    if bounds:
        c = _z(confidence_pct) * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
        lo = min(max(math.floor((count - c) / 2.0), 0), count - 1)
        hi = min(max(math.ceil((count + c) / 2.0) - 1, 0), count - 1)
        low = _order(part, lo, m)
        high = _order(part, hi, m)
    center = _middle(seconds)
    level = _middle(np.sort(values - slope * (seconds - center) / DAY_S))
    return Fit(slope, low, high, center, level, 0.0)


# -- resistance bins ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bins:
    """Closed resistance bins, oldest first: index (time // bin), medians and counts."""

    index: np.ndarray
    resistance: np.ndarray
    flow: np.ndarray

    def upto(self, last: int) -> Bins:
        """The bins of index at most ``last``."""
        stop = int(np.searchsorted(self.index, last, side="right"))
        return Bins(self.index[:stop], self.resistance[:stop], self.flow[:stop])

    def since(self, first: int) -> Bins:
        start = int(np.searchsorted(self.index, first, side="left"))
        return Bins(self.index[start:], self.resistance[start:], self.flow[start:])


def fit_bins(
    bins: Bins,
    window_bins: int,
    bin_s: float,
    min_h: float,
    confidence: float,
    block_s: float | None = None,
    slope_only: bool = False,
    slope_block_s: float | None = None,
    end: int | None = None,
    cache: dict[float, BlockMedians] | None = None,
) -> Fit | None:
    """The fit over the bins of the ``window_bins`` before bin ``end`` (by default, up to
    and with the last bin); None: too little data.

    With ``block_s``, the slope's confidence bounds come from the medians of blocks of
    that length (at least three): the bins' wander is correlated over about an hour, so
    bounds from the bins themselves would claim more certainty than the data holds. With
    ``slope_only`` the bounds are not worked out (both are the slope); with
    ``slope_block_s`` the line goes through the medians of blocks of that length.
    ``cache``: per block length, the block medians of all of ``bins`` (a whole recording),
    used where the window holds whole blocks: the same numbers, worked out once.
    """
    if end is None:
        if not bins.index.size:
            return None
        end = int(bins.index[-1]) + 1
    first = end - window_bins
    lo, hi = np.searchsorted(bins.index, [first, end], side="left").tolist()
    index, values = bins.index[lo:hi], bins.resistance[lo:hi]
    hours = index.size * bin_s / 3600.0
    if not index.size or hours < min_h:
        return None
    centers = (index + 0.5) * bin_s

    def blocks(length: float):
        start_s, end_s = first * bin_s, end * bin_s
        if cache is not None and length in cache and start_s % length == end_s % length == 0:
            return cache[length].between(start_s, end_s)
        return _blocks(centers, values, length)

    if slope_block_s is not None:
        coarse = blocks(slope_block_s)
        if coarse is not None:
            centers, values = coarse
            cache = None  # blocks of these blocks are not what the cache holds
    bounds = blocks(block_s) if block_s is not None else None
    fit = theil_sen(centers, values, confidence, bounds=bounds is None and not slope_only)
    if fit is None:
        return None
    low, high = fit.low, fit.high
    if bounds is not None:
        coarse = theil_sen(*bounds, confidence)
        if coarse is None:
            return None
        low, high = min(coarse.low, fit.slope), max(coarse.high, fit.slope)
    return Fit(fit.slope, low, high, fit.center, fit.level, hours)


@dataclass(frozen=True, slots=True)
class BlockMedians:
    """The blocks of a run of bins: number (center // length), center and value medians."""

    length: float
    number: np.ndarray
    centers: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, bins: Bins, bin_s: float, length: float) -> BlockMedians:
        centers = (bins.index + 0.5) * bin_s
        found = _blocks(centers, bins.resistance, length, least=1)
        if found is None:
            return cls(length, np.empty(0), np.empty(0), np.empty(0))
        middle, medians = found
        return cls(length, np.floor(middle / length), middle, medians)

    def between(self, start_s: float, end_s: float):
        """The (centers, medians) of the blocks within [start_s, end_s), as
        :func:`_blocks` gives them for those bins (None: fewer than three)."""
        lo, hi = np.searchsorted(self.number, [start_s / self.length, end_s / self.length])
        if hi - lo < 3:
            return None
        return self.centers[lo:hi], self.values[lo:hi]


def _blocks(centers: np.ndarray, values: np.ndarray, block_s: float, least: int = 3):
    """(centers, values) as the medians of blocks of ``block_s`` (None: fewer than
    ``least`` blocks; three by default, too few for bounds from them)."""
    if not centers.size:
        return None
    block = np.floor(centers / block_s)
    edges = np.flatnonzero(block[1:] != block[:-1]) + 1
    if edges.size + 1 < least:
        return None
    firsts = np.concatenate((np.zeros(1, np.int64), edges))
    lasts = np.concatenate((edges, np.full(1, block.size, np.int64)))
    # the centers are in order: each block's median is its middle, with no sort
    sizes = lasts - firsts
    mid = firsts + sizes // 2
    middle = np.where(
        sizes % 2 == 1, centers[mid], (centers[mid - 1 + sizes % 2] + centers[mid]) / 2.0
    )
    return middle, group_medians(values, firsts, lasts)
