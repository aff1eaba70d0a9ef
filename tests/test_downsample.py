"""Downsampling for the page: few points, peaks and gaps kept."""

from __future__ import annotations

import numpy as np

from monitor.present.downsample import series

GAP_MS = 10_000


def test_long_series_is_cut_to_the_point_budget_keeping_the_spike():
    t = np.arange(86_400, dtype=float) * 1000.0
    v = np.full(86_400, 25.0)
    v[40_000:40_003] = 390.0  # a three-second transducer flush
    x, y = series(t, v, GAP_MS, max_points=2000)
    assert len(x) <= 2000
    assert max(y) == 390.0 and min(y) == 25.0


def test_gaps_stay_gaps_after_downsampling_and_none_are_invented():
    t = np.r_[np.arange(0, 40_000), np.arange(40_300, 86_400)].astype(float) * 1000.0
    v = np.linspace(0, 1, len(t))
    x, y = series(t, v, GAP_MS, max_points=2000)
    assert sum(value is None for value in y) == 1
    cut = y.index(None)
    assert x[cut - 1] <= 39_999_000 + 1 and x[cut + 1] >= 40_300_000


def test_missing_values_are_drawn_as_breaks():
    t = np.arange(10, dtype=float) * 1000.0
    v = np.array([1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10], dtype=float)
    x, y = series(t, v, GAP_MS, max_points=None)
    assert y[2] is None and len(x) == 10
