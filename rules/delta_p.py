"""The oxygenator delta P rise rule, both halves: a frame at a time and a whole recording.

rise = delta P - baseline resistance x flow (mmHg), so a higher flow on a healthy
oxygenator is no rise. Judged only once the baseline exists (``baseline.py``: the
medians over the first 30 minutes of usable data, again after an ``oxygenator_change``,
``circuit_change`` or ``baseline_reset``) and while flow is above ``min_flow_lpm``.
Medium at +30, high at +40 mmHg by default (``[delta_p_rise]`` in ``defaults.toml``).
A baseline event ends the alert outright: the oxygenator it was about is gone.

Delta P is the device's, or pre minus post when the device sent none; an artifact on
either pressure makes delta P suspect even when the device sent it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from adapters import BASELINE_EVENTS, clean_value

from .baseline import Baseline, BaselineCollector, baseline_segments
from .columns import Columns, stretch
from .config import RulesConfig
from .definition import Findings, Rule, Setup, micros
from .lifecycle import Priority, Transition
from .threshold import (
    HIGH,
    MEDIUM,
    RuleSpec,
    ThresholdState,
    constant_input,
    fmt,
    judge_column,
)
from .timing import rule_clock

PRE, POST, DELTA_P, FLOW = "p_pre_oxy_mmhg", "p_post_oxy_mmhg", "delta_p_mmhg", "blood_flow_lpm"


def delta_p_rise(delta_p, flow, resistance):
    """Rise of delta P over the baseline resistance scaled to the current flow (mmHg),
    for a float or whole arrays (both halves use this one definition)."""
    if isinstance(flow, np.ndarray):  # the same arithmetic, into one new array
        scaled = np.multiply(resistance, flow, dtype=np.float64)
        return np.subtract(delta_p, scaled, out=scaled)
    return delta_p - resistance * flow


def describe_delta_p(threshold: float, delta_p: float, flow: float, resistance: float) -> str:
    scaled = resistance * flow
    rise = delta_p - scaled
    return (
        f"delta P {fmt(delta_p)} mmHg is {fmt(rise)} mmHg above its flow-scaled baseline of "
        f"{fmt(scaled)} mmHg (limit +{fmt(threshold)} mmHg); resistance "
        f"{delta_p / flow:.1f} mmHg per L/min (baseline {resistance:.1f})"
    )


def delta_p_spec(config: RulesConfig) -> RuleSpec:
    """The delta P rise rule with the limits in force."""
    dp = config.delta_p_rise
    thresholds = (dp.medium_mmhg, dp.high_mmhg)
    return RuleSpec(
        rule="delta_p_rise",
        label="delta P rise",
        unit="mmHg",
        digits=0,
        levels=(MEDIUM, HIGH),
        thresholds=thresholds,
        clear_limits=tuple(t - dp.hysteresis_mmhg for t in thresholds),
        above=True,
        on_delay_us=micros(dp.on_delay_s),
        off_delay_us=micros(dp.off_delay_s),
        describe=describe_delta_p,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceLine:
    """A line drawn on the delta P trend: the flow-scaled baseline plus ``offset_mmhg``."""

    key: str
    label: str
    offset_mmhg: float
    priority: Priority | None


def delta_p_reference_lines(config: RulesConfig) -> tuple[ReferenceLine, ...]:
    """The delta P trend's reference lines with the limits in force: the baseline and
    the medium and high limits above it."""
    medium, high = config.delta_p_rise.medium_mmhg, config.delta_p_rise.high_mmhg
    return (
        ReferenceLine(
            key="delta_p_baseline",
            label="Delta P baseline (flow-scaled)",
            offset_mmhg=0.0,
            priority=None,
        ),
        ReferenceLine(
            key="delta_p_medium",
            label=f"Baseline +{medium:g} mmHg",
            offset_mmhg=medium,
            priority=Priority.MEDIUM,
        ),
        ReferenceLine(
            key="delta_p_high",
            label=f"Baseline +{high:g} mmHg",
            offset_mmhg=high,
            priority=Priority.HIGH,
        ),
    )


# -- a frame at a time -------------------------------------------------------------------


def frame_delta_p(values: Mapping[str, float], clean: Mapping[str, float | None]) -> float | None:
    """The frame's delta P a rule may judge (see the module docstring), or None."""
    pre, post = clean[PRE], clean[POST]
    if pre is None:
        raw = values.get(PRE)
        if raw is not None and raw == raw:
            return None  # an artifact on the pre side
    if post is None:
        raw = values.get(POST)
        if raw is not None and raw == raw:
            return None
    delta_p = clean[DELTA_P]
    if delta_p is None and pre is not None and post is not None:
        raw = values.get(DELTA_P)
        if raw is None or raw != raw:  # not sent, and not derived by Frame.build
            return clean_value({DELTA_P: pre - post}, 0, DELTA_P)
    return delta_p


class DeltaPRiseState(ThresholdState):
    """delta_p_rise a frame at a time, with the baseline it is judged against."""

    __slots__ = ("collector", "min_flow")
    reads = (DELTA_P, FLOW, PRE, POST)

    def __init__(self, setup: Setup) -> None:
        super().__init__(delta_p_spec(setup.config), setup)
        dp = setup.config.delta_p_rise
        self.min_flow = dp.min_flow_lpm
        self.collector = BaselineCollector(micros(dp.baseline_window_min * 60.0))

    def step(self, t, t_us, values, clean, out) -> None:
        delta_p = frame_delta_p(values, clean)
        flow = clean[FLOW]
        usable = delta_p is not None and flow is not None and flow > self.min_flow
        resistance = self.collector.feed(t, t_us, delta_p, flow, usable)
        if resistance is not None and usable:
            rise = delta_p_rise(delta_p, flow, resistance)
            inputs = (delta_p, flow, resistance)
            if self.spec.all_clear(rise) and self.quiet():
                self.calm(t_us, rise, inputs)  # the usual sample: judge() does only this
                return
            ons, offs = self.spec.conditions(rise)
            self.judge(t, t_us, rise, ons, offs, inputs, resistance * flow, out)

    def event(self, kind: str, time: float, out: list[Transition]) -> None:
        """A baseline event ends the alert and restarts the baseline."""
        if kind not in BASELINE_EVENTS:
            return
        out += self.life.end(
            time, f"delta P alert ended: the baseline is re-established after {kind}"
        )
        self.track.end_all(time)
        for timer in self.timers:
            timer.reset()
        self.collector.restart(kind, time)

    def baseline(self) -> Baseline:
        """The baseline in force (or being collected), with the rise now."""
        base = self.collector.current
        if base.resistance is None or self.inputs is None:
            return base
        delta_p, flow = self.inputs[:2]
        return base.with_now(delta_p, flow)


# -- a whole recording -------------------------------------------------------------------


def column_delta_p(cols: Columns) -> np.ndarray:
    """:func:`frame_delta_p` for every row: NaN where delta P may not be judged (worked
    out once per recording: delta_p_rise and resistance_trend both read it)."""
    memo = cols.memo.get("delta_p")
    if memo is not None:
        return memo
    good = cols.valid(DELTA_P)
    # an artifact on either side makes delta P suspect, even if the device sent it
    for side in (PRE, POST):
        good &= ~(~np.isnan(cols.raw[side]) & np.isnan(cols.clean[side]))
    dp = cols.memo["delta_p"] = np.where(good, cols.clean[DELTA_P], np.nan)
    dp.flags.writeable = False  # shared: nobody may change it
    return dp


def column_baselines(cols: Columns, setup: Setup, dp: np.ndarray | None = None):
    """The recording's baseline segments and baselines (``baseline.baseline_segments``),
    worked out once per recording and settings."""
    cfg = setup.config.delta_p_rise
    key = ("baselines", cfg)
    if dp is None and key in cols.memo:
        return cols.memo[key]
    if dp is None:
        cols.memo[key] = found = column_baselines(cols, setup, column_delta_p(cols))
        return found
    flow = cols.clean[FLOW]
    usable = ~np.isnan(dp) & ~np.isnan(flow) & (flow > cfg.min_flow_lpm)
    return baseline_segments(
        seconds=cols.seconds,
        times_us=cols.times_us,
        event_rows=cols.event_rows,
        event_kinds=cols.event_kinds,
        delta_p=dp,
        flow=flow,
        usable=usable,
        window_us=micros(cfg.baseline_window_min * 60.0),
    )


def delta_p_findings(cols: Columns, setup: Setup) -> Findings:
    """delta_p_rise over a whole recording, one baseline segment at a time."""
    spec = delta_p_spec(setup.config)
    dp, flow = column_delta_p(cols), cols.clean[FLOW]
    segments, baselines = column_baselines(cols, setup)
    if not segments:
        return Findings(baselines=baselines)
    # one rule clock over every segment's rows, as the incremental engine keeps it
    rows_judged = np.concatenate([seg.rows for seg in segments])
    clock = rule_clock(cols.times_us[stretch(rows_judged)], setup.freeze_us)
    episodes, offset = [], 0
    for seg in segments:
        rows = seg.rows
        part = clock[offset : offset + rows.size]
        offset += rows.size
        at = stretch(rows)  # every row usable: views of the columns
        seg_dp, seg_flow = dp[at], flow[at]
        rise = delta_p_rise(seg_dp, seg_flow, seg.resistance)
        ons, offs = spec.conditions(rise)
        inputs = (seg_dp, seg_flow, constant_input(seg.resistance))
        episodes += judge_column(
            spec, cols, setup, rows, rise, ons, offs, inputs, part, seg.end_time
        )
    return Findings(episodes=episodes, baselines=baselines)


DELTA_P_RISE = Rule(
    rule="delta_p_rise",
    title="Oxygenator delta P rise",
    channels=(DELTA_P,),
    incremental=DeltaPRiseState,
    batch=delta_p_findings,
)
