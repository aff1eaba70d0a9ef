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


def group_medians(values: np.ndarray, firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray:
    """The median of each contiguous group ``values[first:last]`` (none empty), with the
    arithmetic of :func:`list_median` (mean of the middle two), so both engines agree."""
    out = np.empty(firsts.size)
    for i, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        ordered = np.sort(values[first:last])
        mid = (last - first) // 2
        out[i] = ordered[mid] if (last - first) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return out


@lru_cache(maxsize=8)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


def theil_sen(seconds: np.ndarray, values: np.ndarray, confidence_pct: float) -> Fit | None:
    """The Theil-Sen slope (per day) through (``seconds``, ``values``), ``seconds``
    strictly increasing, with Sen's (1968) confidence bounds from Kendall's S."""
    n = values.size
    if n < 3:
        return None
    x = seconds / DAY_S
    i, j = _pairs(n)
    slopes = (values[j] - values[i]) / (x[j] - x[i])
    count = slopes.size
    z = NormalDist().inv_cdf(0.5 + confidence_pct / 200.0)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = min(max(math.floor((count - c) / 2.0), 0), count - 1)
    hi = min(max(math.ceil((count + c) / 2.0) - 1, 0), count - 1)
    mid = (count - 1) // 2
    part = np.partition(slopes, sorted({lo, mid, count // 2, hi}))
    slope = float((part[mid] + part[count // 2]) / 2.0)
    center = float(np.median(seconds))
    level = float(np.median(values - slope * (seconds - center) / DAY_S))
    return Fit(slope, float(part[lo]), float(part[hi]), center, level, 0.0)


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
) -> Fit | None:
    """The fit over the bins of the last ``window_bins`` (None: too little data).

    With ``block_s``, the slope's confidence bounds come from the medians of blocks of
    that length (at least three): the bins' wander is correlated over about an hour, so
    bounds from the bins themselves would claim more certainty than the data holds.
    """
    if not bins.index.size:
        return None
    recent = bins.since(int(bins.index[-1]) - window_bins + 1)
    hours = recent.index.size * bin_s / 3600.0
    if hours < min_h:
        return None
    centers = (recent.index + 0.5) * bin_s
    fit = theil_sen(centers, recent.resistance, confidence)
    if fit is None:
        return None
    low, high = fit.low, fit.high
    if block_s is not None:
        block = np.floor(centers / block_s)
        edges = np.flatnonzero(np.diff(block)) + 1
        firsts, lasts = np.r_[0, edges], np.r_[edges, block.size]
        if firsts.size >= 3:
            x = group_medians(centers, firsts, lasts)
            y = group_medians(recent.resistance, firsts, lasts)
            coarse = theil_sen(x, y, confidence)
            if coarse is not None:
                low, high = min(coarse.low, fit.slope), max(coarse.high, fit.slope)
    return Fit(fit.slope, low, high, fit.center, fit.level, hours)
