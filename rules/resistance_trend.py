"""Foresight from the oxygenator's resistance: the resistance_trend rule and the forecast.

Resistance (delta P / flow, mmHg per L/min) is summed up in bins (``[resistance_trend]
bin_min``, 5 min, aligned to the clock): the median of the usable samples of each bin
(delta P judged as ``delta_p`` judges it, flow above ``[delta_p_rise] min_flow_lpm``),
with the median flow beside it. A bin closes at the first frame at or after its end; a
baseline event (an exchange, a baseline reset) discards every bin and starts again.

- ``resistance_trend`` (low; CLINICAL.md, Foresight: Demarest et al. 2020): at the first
  bin close of each clock hour, the Theil-Sen slope of the bins of the 24 whole hours
  before it (through their 15-minute medians) above 1 mmHg/(L/min) per day,
  once at least 12 h of bins were collected since the baseline; clear below the limit
  minus the hysteresis; a level holds until the next judgement; a baseline event ends it.
- The forecast (advice, never an alarm): from the Theil-Sen fit of the bins that ended
  in the 12 h before now, when the delta P rise at the current flow (the last bin's median flow) reaches
  the medium and the high limits of ``delta_p_rise`` in force: resistance = baseline
  resistance + limit / flow. The range comes from the slope's confidence bounds (Sen
  1968), the lines pivoting at the fit's middle. Only while the slope is positive beyond
  chance (its lower bound above zero), from at least ``min_fit_h`` of bins, before the
  crossing and within ``horizon_h``; otherwise no forecast, with the reason.

Both engines compute the bins from the same values with the same arithmetic
(``trendfit.group_medians``, ``trendfit.list_median``) and hand them to the same
functions, so they agree exactly; the forecast of an hour is made from the bins that
ended by then, as the live monitor had them. The windows end at a bin boundary (the hour,
or now), so a whole recording's block medians are worked out once
(``trendfit.BlockMedians``) and each window takes its whole blocks from them.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from adapters import BASELINE_EVENTS

from .baseline import BaselineCollector, resistance_in_force
from .columns import Columns, stretch
from .definition import Findings, Rule, Setup, micros
from .delta_p import DELTA_P, FLOW, POST, PRE, column_baselines, column_delta_p, frame_delta_p
from .forecast import Forecast, forecast_fit, forecasts_at
from .gases import _ResultRule
from .lifecycle import Transition
from .threshold import LOW
from .trendfit import (
    Bins,
    BlockMedians,
    Fit,
    fit_bins,
    group_medians,
    list_median,
    list_median_of,
)

UNIT = "mmHg/(L/min)/day"


# -- resistance_trend and the bins, a frame at a time ------------------------------------


def _trend_message(slope: float, limit: float, hours: float, level: int) -> str:
    head = f"resistance rising {slope:.2f} {UNIT} over the last 24 h"
    if level:
        return f"{head} (limit {limit:.1f} {UNIT}; {hours:.0f} h of data since the baseline)"
    return f"{head}: within limits"


class ResistanceTrendState(_ResultRule):
    """resistance_trend a frame at a time, and the bins and baseline the forecast uses."""

    __slots__ = (
        "_fit_cache",
        "bin_us",
        "cfg",
        "closed",
        "collected",
        "collector",
        "config",
        "judged_hour",
        "min_flow",
        "open_f",
        "open_index",
        "open_r",
    )
    reads = (DELTA_P, FLOW, PRE, POST)

    def __init__(self, setup: Setup) -> None:
        super().__init__("resistance_trend", UNIT, (LOW,), True, setup)
        self.config = setup.config
        self.cfg = setup.config.resistance_trend
        dp = setup.config.delta_p_rise
        self.min_flow = dp.min_flow_lpm
        self.collector = BaselineCollector(micros(dp.baseline_window_min * 60.0))
        self.bin_us = micros(self.cfg.bin_min * 60.0)
        keep_h = max(self.cfg.window_h, setup.config.forecast.fit_h)
        self.closed: deque[tuple[int, float, float]] = deque(
            maxlen=max(3, round(keep_h * 3600e6 / self.bin_us) + 1)
        )
        self.collected = 0  # bins since the baseline (re)start
        self.judged_hour: int | None = None
        self.open_index: int | None = None
        self.open_r: list[float] = []
        self.open_f: list[float] = []
        self._fit_cache: tuple[int, Fit | None] | None = None

    def threshold_of(self, level: int) -> float | None:
        return self.cfg.low_per_day if level else None

    def bins(self) -> Bins:
        if not self.closed:
            return Bins(np.empty(0, np.int64), np.empty(0), np.empty(0))
        index, r, f = zip(*self.closed, strict=True)
        return Bins(np.array(index, dtype=np.int64), np.array(r), np.array(f))

    def close(self, time: float, index: int, r: float, f: float) -> list[Transition]:
        """A bin closed at ``time``: keep it and judge the trend."""
        self.closed.append((index, r, f))
        self.collected += 1
        if not self.due(index):
            return []
        return judge_trend(self, time, self.bins(), self.collected, self.hour_start(index))

    def hour_start(self, index: int) -> int:
        """The first bin of the clock hour of bin ``index``: the trend is judged over the
        bins of the whole hours before it."""
        hour_us = 3_600_000_000
        return -(-(index * self.bin_us // hour_us * hour_us) // self.bin_us)

    def due(self, index: int) -> bool:
        """Whether the bin ``index`` that just closed is judged: the first to close in
        each clock hour (a 24 h slope moves little within an hour; this keeps a week's
        recording to 168 fits)."""
        hour = index * self.bin_us // 3_600_000_000
        if hour == self.judged_hour:
            return False
        self.judged_hour = hour
        return True

    def step(self, t, t_us, values, clean, out) -> None:
        k = t_us // self.bin_us
        if self.open_index is not None and k > self.open_index:
            r = list_median(self.open_r)
            f = list_median(self.open_f)
            index = self.open_index
            self.open_index, self.open_r, self.open_f = None, [], []
            out += self.close(t, index, r, f)
        delta_p = frame_delta_p(values, clean)
        flow = clean[FLOW]
        usable = delta_p is not None and flow is not None and flow > self.min_flow
        self.collector.feed(t, t_us, delta_p, flow, usable)
        if usable:
            if self.open_index is None:
                self.open_index = k
            self.open_r.append(delta_p / flow)
            self.open_f.append(flow)

    def event(self, kind: str, time: float, out: list[Transition]) -> None:
        if kind not in BASELINE_EVENTS:
            return
        out += self.life.end(time, f"resistance trend ended: a new baseline after {kind}")
        self.track.end_all(time)
        self.closed.clear()
        self.collected = 0
        self.judged_hour = None
        self.open_index, self.open_r, self.open_f = None, [], []
        self.collector.restart(kind, time)
        self._fit_cache = None

    def forecasts(self, now: float) -> list[Forecast]:
        """The forecast for each delta P limit as of ``now``: from the bins that ended
        by then (the open one too, once its end has passed) and the baseline in force."""
        bins = self.bins()
        if self.open_index is not None and (self.open_index + 1) * self.bin_us <= micros(now):
            bins = Bins(
                np.append(bins.index, self.open_index),
                np.append(bins.resistance, list_median(self.open_r)),
                np.append(bins.flow, list_median(self.open_f)),
            )
        end = micros(now) // self.bin_us  # the window slides with the clock too
        key = (end, int(bins.index[-1]) if bins.index.size else -1, self.collected)
        if self._fit_cache is None or self._fit_cache[0] != key:
            self._fit_cache = (key, forecast_fit(bins, self.config, now))
        base = self.collector.current.resistance
        return forecasts_at(now, bins, base, self.config, self._fit_cache[1])


def judge_trend(
    state: ResistanceTrendState,
    time: float,
    bins: Bins,
    collected: int,
    end: int,
    cache: dict | None = None,
):
    """Judge resistance_trend at a bin close (both engines): the bins of the
    ``window_h`` before bin ``end`` (the start of the clock hour)."""
    c = state.cfg
    bin_s = c.bin_min * 60.0
    if collected * bin_s < c.min_data_h * 3600.0:
        return []
    window = round(c.window_h * 3600.0 / bin_s)
    block_s = c.slope_block_min * 60.0
    fit = fit_bins(
        bins, window, bin_s, 0.0, 95.0, slope_only=True, slope_block_s=block_s, end=end,
        cache=cache,
    )  # fmt: skip
    if fit is None:
        return []
    old = state.life.level
    if fit.slope > c.low_per_day:
        level = LOW
    elif fit.slope < c.low_per_day - c.hysteresis_per_day:
        level = 0
    else:
        level = old
    message = _trend_message(fit.slope, c.low_per_day, collected * bin_s / 3600.0, level)
    return state.judge(time, level, fit.slope, state.threshold_of, message)


# -- a whole recording -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segment:
    """One baseline's stretch of the recording: its bins and the row each closed at.

    A bin's median flow is read by the forecast only as the last bin of its window (a
    few hundred bins of a week's thousands), so it is worked out when first asked for
    (:meth:`flow_of`): NaN in ``bins.flow`` until then (a usable flow is positive)."""

    bins: Bins
    closes: np.ndarray  # the row at which each bin closed (-1: never, discarded)
    start_time: float  # of the baseline event that began it (-inf: the start)
    kind: str | None  # that event
    flows: np.ndarray = field(default_factory=lambda: np.empty(0))  # usable, bin by bin
    firsts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # in flows

    def flow_of(self, i: int) -> None:
        """Work out the median flow of bin ``i`` into ``bins.flow``, if not yet done."""
        flow = self.bins.flow
        if flow[i] != flow[i]:
            last = self.firsts[i + 1] if i + 1 < self.firsts.size else self.flows.size
            flow[i] = list_median_of(self.flows[self.firsts[i] : last])


_NO_BINS = Bins(np.empty(0, np.int64), np.empty(0), np.empty(0))


def _segments(cols: Columns, setup: Setup) -> list[_Segment]:
    """The bins of each baseline's stretch, as the incremental state collects them."""
    cfg = setup.config
    bin_us = micros(cfg.resistance_trend.bin_min * 60.0)
    dp, flow = column_delta_p(cols), cols.clean[FLOW]
    usable = ~np.isnan(dp) & ~np.isnan(flow) & (flow > cfg.delta_p_rise.min_flow_lpm)
    kinds = {
        int(row): kind
        for row, kind in zip(cols.event_rows.tolist(), cols.event_kinds, strict=True)
        if kind in BASELINE_EVENTS
    }
    bounds = sorted({0, cols.n, *kinds})
    out = []
    for start, stop in itertools.pairwise(bounds):
        kind = kinds.get(start)
        began = float(cols.seconds[start]) if kind else -math.inf
        rows = start + np.flatnonzero(usable[start:stop])
        if rows.size == 0:
            out.append(_Segment(_NO_BINS, np.empty(0, np.int64), began, kind))
            continue
        at = stretch(rows)  # every row usable: views of the columns
        k = cols.times_us[at] // bin_us
        edges = np.flatnonzero(np.diff(k)) + 1
        firsts, lasts = np.r_[0, edges], np.r_[edges, rows.size]
        f = flow[at]
        index = k[firsts]
        bins = Bins(index, group_medians(dp[at] / f, firsts, lasts), np.full(index.size, np.nan))
        closes = start + np.searchsorted(cols.times_us[start:stop], (index + 1) * bin_us)
        out.append(_Segment(bins, np.where(closes < stop, closes, -1), began, kind, f, firsts))
    return out


def trend_findings(cols: Columns, setup: Setup) -> Findings:
    state = ResistanceTrendState(setup)
    segments = _segments(cols, setup)
    c = setup.config.resistance_trend
    bin_s, block_s = c.bin_min * 60.0, c.slope_block_min * 60.0
    for seg in segments:
        if seg.kind:
            state.event(seg.kind, seg.start_time, [])
        b = seg.bins
        cache = {block_s: BlockMedians.of(b, bin_s, block_s)}  # the whole stretch's blocks
        for i, row in enumerate(seg.closes.tolist()):
            if row < 0:
                break
            collected, index = i + 1, int(b.index[i])
            if state.due(index):
                state.collected = collected
                end = state.hour_start(index)
                judge_trend(state, float(cols.seconds[row]), b, collected, end, cache)
    return Findings(state.track.episodes(), forecasts=hourly_forecasts(cols, setup, segments))


def hourly_forecasts(cols: Columns, setup: Setup, segments: list[_Segment]) -> list[Forecast]:
    """The forecast at each whole hour of the recording, as the live monitor had it just
    before the first frame at or after that hour: from the bins that ended by then in
    the baseline's stretch in force, against the baseline established before it."""
    if cols.n == 0:
        return []
    bin_us = micros(setup.config.resistance_trend.bin_min * 60.0)
    baselines = column_baselines(cols, setup)[1]
    in_force = resistance_in_force(baselines)
    first = math.ceil(cols.seconds[0] / 3600.0) * 3600.0
    hours = np.arange(first, cols.seconds[-1] + 1e-6, 3600.0)
    # just before the hour: a baseline established by a frame at the hour is not yet
    bases = in_force(hours - 0.5e-6)
    bin_s, block_s = bin_us / 1e6, setup.config.forecast.block_min * 60.0
    caches = {id(s): {block_s: BlockMedians.of(s.bins, bin_s, block_s)} for s in segments}
    out = []
    for hour, base in zip(hours.tolist(), bases.tolist(), strict=True):
        seg = next(s for s in reversed(segments) if s.start_time < hour)
        b = seg.bins
        ended = int(np.searchsorted((b.index + 1) * bin_us, micros(hour), side="right"))
        if ended:
            seg.flow_of(ended - 1)  # the current flow of the forecast
        bins = Bins(b.index[:ended], b.resistance[:ended], b.flow[:ended])
        base = None if base != base else base
        out += forecasts_at(hour, bins, base, setup.config, cache=caches[id(seg)])
    return out


RESISTANCE_TREND = Rule(
    rule="resistance_trend",
    title="Oxygenator resistance rising",
    channels=(DELTA_P,),
    incremental=ResistanceTrendState,
    batch=trend_findings,
)
