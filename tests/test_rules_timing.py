"""Timers and windows: the sample-at-a-time and whole-array versions agree exactly."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import timing
from rules.timing import LevelTimer, debounce, engaged, rule_clock
from rules.windows import (
    TimeWindowMedian,
    lagged_edges,
    oldest_before,
    rolling_median_before,
)

SECOND = 1_000_000


@st.composite
def samples(draw):
    n = draw(st.integers(1, 120))
    steps = draw(st.lists(st.sampled_from([0, 1, 1, 1, 2, 5, 12]), min_size=n, max_size=n))
    clock = np.cumsum(np.array(steps, dtype=np.int64) * (SECOND // 2))
    kinds = draw(st.lists(st.sampled_from(["on", "off", "band"]), min_size=n, max_size=n))
    on = np.array([k == "on" for k in kinds])
    off = np.array([k == "off" for k in kinds])
    on_delay = draw(st.integers(0, 8)) * SECOND
    off_delay = draw(st.integers(0, 8)) * SECOND
    fraction = draw(st.sampled_from([1.0, 0.75, 2 / 3, 0.5, 0.3]))
    return clock, on, off, on_delay, off_delay, fraction


@settings(max_examples=400, deadline=None)
@given(samples())
def test_level_timer_and_debounce_agree(case):
    clock, on, off, on_delay, off_delay, fraction = case
    timer = LevelTimer(on_delay, off_delay, fraction)
    one_by_one = [
        timer.step(int(c), bool(a), bool(b)) for c, a, b in zip(clock, on, off, strict=True)
    ]
    assert debounce(clock, on, off, on_delay, off_delay, fraction).tolist() == one_by_one
    cached = debounce(clock, on, off, on_delay, off_delay, fraction, edges={})
    assert cached.tolist() == one_by_one


@settings(max_examples=200, deadline=None)
@given(samples(), st.integers(1, 9))
def test_debounce_in_parts_of_a_few_rows_agrees_with_the_level_timer(case, part_rows):
    clock, on, off, on_delay, off_delay, fraction = case
    timer = LevelTimer(on_delay, off_delay, fraction)
    one_by_one = [
        timer.step(int(c), bool(a), bool(b)) for c, a, b in zip(clock, on, off, strict=True)
    ]
    whole = timing.PART_ROWS
    timing.PART_ROWS = part_rows  # runs and windows that cross from part to part
    try:
        assert debounce(clock, on, off, on_delay, off_delay, fraction).tolist() == one_by_one
        pending = engaged(clock, on, off, on_delay, off_delay, fraction)
    finally:
        timing.PART_ROWS = whole
    assert pending.tolist() == engaged(clock, on, off, on_delay, off_delay, fraction).tolist()


@settings(max_examples=300, deadline=None)
@given(samples())
def test_engaged_is_the_level_timer_active_or_pending(case):
    clock, on, off, on_delay, off_delay, fraction = case
    timer = LevelTimer(on_delay, off_delay, fraction)
    one_by_one = []
    for c, a, b in zip(clock, on, off, strict=True):
        timer.step(int(c), bool(a), bool(b))
        one_by_one.append(timer.engaged)
        assert timer.engaged == (timer.active or timer.pending)
    assert engaged(clock, on, off, on_delay, off_delay, fraction).tolist() == one_by_one


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([0, 1, 1, 1, 1, 2, 7, 40]), min_size=1, max_size=600),
    st.integers(0, 30),
    st.integers(0, 599),
)
def test_lagged_edges_is_searchsorted(steps, lag, skip):
    values = np.cumsum(np.array(steps, dtype=np.int64)) * SECOND
    index = np.arange(values.size)
    index = index[(index % (skip + 1) == 0) | (index > skip)]
    expected = np.searchsorted(values, values[index] - lag * SECOND, side="left")
    assert lagged_edges(values, index, lag * SECOND).tolist() == expected.tolist()


def test_a_step_past_the_limit_activates_exactly_one_on_delay_later():
    clock = np.arange(40, dtype=np.int64) * SECOND
    on = clock >= 10 * SECOND
    active = debounce(clock, on, ~on, 15 * SECOND, 30 * SECOND)
    assert int(np.argmax(active)) == 25


def test_a_spike_as_long_as_the_on_delay_does_not_activate():
    clock = np.arange(40, dtype=np.int64) * SECOND
    on = (clock >= 10 * SECOND) & (clock < 15 * SECOND)  # five samples, 4 s apart first-last
    assert not debounce(clock, on, ~on, 5 * SECOND, 10 * SECOND).any()
    on = (clock >= 10 * SECOND) & (clock < 16 * SECOND)  # six samples span the 5 s on-delay
    assert debounce(clock, on, ~on, 5 * SECOND, 10 * SECOND).any()


def test_rule_clock_stands_still_across_a_gap():
    times = np.array([0, 1, 2, 60, 61], dtype=np.int64) * SECOND
    assert (rule_clock(times, 10 * SECOND) // SECOND).tolist() == [0, 1, 2, 2, 3]


@st.composite
def series(draw):
    n = draw(st.integers(1, 150))
    steps = draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 7, 40]), min_size=n, max_size=n))
    times = 1_767_254_400 * SECOND + np.cumsum(np.array(steps, dtype=np.int64)) * (SECOND // 4)
    values = draw(
        st.lists(
            st.one_of(st.just(math.nan), st.sampled_from([0.0, 1.0, 2.5]), st.floats(-5, 5)),
            min_size=n,
            max_size=n,
        )
    )
    window = draw(st.sampled_from([1, 2, 5, 10])) * SECOND
    return times, np.array(values, dtype="float64"), window


@settings(max_examples=300, deadline=None)
@given(series())
def test_window_median_equals_pandas_rolling_left_closed(case):
    times, values, window = case
    expected = rolling_median_before(times, values, window)
    oldest = oldest_before(times, ~np.isnan(values), window)
    median = TimeWindowMedian(window)
    for i, (t, v) in enumerate(zip(times.tolist(), values.tolist(), strict=True)):
        median.advance(t)
        got = median.median()
        assert (math.isnan(got) and math.isnan(expected[i])) or got == expected[i]
        assert (median.oldest() or -1) == oldest[i]
        if v == v:
            median.add(t, v)


def test_window_excludes_the_sample_itself_and_others_at_the_same_instant():
    times = np.array([0, 1, 2, 2, 3], dtype=np.int64) * SECOND
    values = np.array([1.0, 2.0, 10.0, 20.0, 4.0])
    medians = rolling_median_before(times, values, 2 * SECOND)
    assert medians[0] != medians[0]  # nothing before the first sample
    assert medians[2:].tolist() == [1.5, 1.5, 10.0]  # [0, 2) ; [0, 2) ; [1, 3)
