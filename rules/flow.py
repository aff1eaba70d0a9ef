"""The blood flow rules, both halves: flow_drop and flow_low, a frame at a time and whole.

- ``flow_drop``: drop = (1 - flow / reference flow) x 100 (%), only while pump speed is
  within the tolerance of its reference speed: a deliberate speed change moves flow and
  speed together and is not a drop. The references are the medians of flow and speed
  over the previous 30 min, rolling while the rule is quiet and *held* (frozen at their
  values at the first sample that met an alert condition) while the rule is pending or
  active, so a fall that persists stays alerted until flow recovers instead of being
  absorbed into its own reference. They roll again from the sample after the rule is
  neither active nor pending. A speed away from its reference is a clear condition:
  a speed change during a flow drop clears the alert after the off-delay (the flow is
  no longer comparable with the reference), and the rule is judged again against the
  rolling medians once the speed median has settled at the new speed. The rolling
  medians are ``windows.py``'s (it says why the two halves' medians are equal).
- ``flow_low``: flow (L/min) below 1.0 (high) or, with a weight set, below the
  prescribed minimum in mL/kg/min (medium).
"""

from __future__ import annotations

import numpy as np

from . import timing
from .columns import Columns, stretch
from .config import RulesConfig
from .definition import Findings, Rule, Setup, micros
from .threshold import (
    HIGH,
    MEDIUM,
    ChannelState,
    RuleSpec,
    ThresholdState,
    channel_episodes,
    fmt,
    judge_column,
)
from .timing import engaged, rule_clock
from .windows import (
    TimeWindowMedian,
    medians_before,
    oldest_before,
    two_block_maxima,
    window_bounds,
)

FLOW, SPEED = "blood_flow_lpm", "pump_speed_rpm"


# -- flow_drop: the rule -----------------------------------------------------------------


def _describe_flow_drop(window_min: float):
    def describe(
        threshold: float, flow: float, flow_ref: float, speed: float, speed_ref: float
    ) -> str:
        drop = (1.0 - flow / flow_ref) * 100.0
        return (
            f"blood flow {flow:.2f} L/min is {fmt(drop)} % below the median of the "
            f"{window_min:g} minutes before the drop began ({flow_ref:.2f} L/min) at "
            f"unchanged pump speed {fmt(speed)} rpm (limit -{fmt(threshold)} %)"
        )

    return describe


def flow_drop_spec(config: RulesConfig) -> RuleSpec:
    """The flow drop rule with the limits in force."""
    drop = config.flow_drop
    thresholds = (drop.medium_pct, drop.high_pct)
    return RuleSpec(
        rule="flow_drop",
        label="flow drop",
        unit="%",
        digits=0,
        levels=(MEDIUM, HIGH),
        thresholds=thresholds,
        clear_limits=tuple(t - drop.hysteresis_pct for t in thresholds),
        above=True,
        on_delay_us=micros(drop.on_delay_s),
        off_delay_us=micros(drop.off_delay_s),
        describe=_describe_flow_drop(drop.window_min),
    )


def flow_drop_conditions(spec: RuleSpec, tolerance: float, flow, flow_ref, speed, speed_ref):
    """Drop (%) and per-level alert/clear conditions; speed off its median clears."""
    drop = (1.0 - flow / flow_ref) * 100.0
    deviation = abs(speed - speed_ref)
    limit = tolerance * speed_ref
    steady = deviation <= limit
    moved = deviation > limit
    ons, offs = spec.conditions(drop)
    # flow_drop has two levels; no loop, as this runs every frame
    return drop, [ons[0] & steady, ons[1] & steady], [offs[0] | moved, offs[1] | moved]


# -- flow_drop: a frame at a time --------------------------------------------------------


class FlowDropState(ThresholdState):
    """flow_drop a frame at a time, with its rolling (or held) references."""

    __slots__ = ("flow_window", "held", "min_reference_us", "speed_window", "tolerance")
    reads = (FLOW, SPEED)

    def __init__(self, setup: Setup) -> None:
        super().__init__(flow_drop_spec(setup.config), setup)
        drop = setup.config.flow_drop
        self.flow_window = TimeWindowMedian(micros(drop.window_min * 60.0))
        self.speed_window = TimeWindowMedian(micros(drop.window_min * 60.0))
        self.min_reference_us = micros(drop.min_reference_min * 60.0)
        self.tolerance = drop.speed_tolerance_pct / 100.0
        #: (flow, speed) medians held while the rule is pending or active, else None
        self.held: tuple[float, float] | None = None

    def step(self, t, t_us, values, clean, out) -> None:
        flow, speed = clean[FLOW], clean[SPEED]
        # + 0.0: no negative zero, in the windows or the message (as the batch engine)
        flow = None if flow is None else flow + 0.0
        speed = None if speed is None else speed + 0.0
        flow_window, speed_window = self.flow_window, self.speed_window
        flow_window.advance(t_us)
        speed_window.advance(t_us)
        if flow is not None and speed is not None:
            flow_ref, speed_ref = flow_window.median(), speed_window.median()
            oldest = flow_window.oldest()
            if (
                flow_ref > 0
                and speed_ref > 0
                and oldest is not None
                and t_us - oldest >= self.min_reference_us
            ):
                self._judge_sample(t, t_us, flow, flow_ref, speed, speed_ref, out)
        if flow is not None:
            flow_window.add(t_us, flow)
        if speed is not None:
            speed_window.add(t_us, speed)

    def _judge_sample(self, t, t_us, flow, flow_ref, speed, speed_ref, out) -> None:
        held = self.held
        if held is None:
            drop = (1.0 - flow / flow_ref) * 100.0  # as flow_drop_conditions has it
            moved = abs(speed - speed_ref) > self.tolerance * speed_ref
            if (moved or self.spec.all_clear(drop)) and self.quiet():
                # every level clear and nothing to hold: the usual sample
                self.calm(t_us, drop, (flow, flow_ref, speed, speed_ref))
                return
        else:
            flow_ref, speed_ref = held
        drop, ons, offs = flow_drop_conditions(
            self.spec, self.tolerance, flow, flow_ref, speed, speed_ref
        )
        self.judge(t, t_us, drop, ons, offs, (flow, flow_ref, speed, speed_ref), flow_ref, out)
        # hold the reference from the first alert condition while the rule is pending or
        # active; roll again from the next sample once it is neither
        if held is None and any(ons):
            self.held = (flow_ref, speed_ref)
        if self.held is not None and not any(timer.engaged for timer in self.timers):
            self.held = None


# -- flow_drop: a whole recording --------------------------------------------------------


def flow_drop_findings(cols: Columns, setup: Setup) -> Findings:
    """flow_drop over the recording, with the 30-minute medians only where they matter.

    A median never exceeds the maximum of its window, so a sample whose flow is within
    the lowest clear limit of the window maximum is clear whatever the median: only the
    others (few, on a healthy circuit) need their medians. Whether a median is above
    zero (the reference is usable) is a count: flows and speeds are never negative.
    Then the stretches where the rule is pending or active are judged again against the
    references held at their start (:func:`_hold_references`).
    """
    if cols.n == 0:
        return Findings()
    spec = flow_drop_spec(setup.config)
    drop_cfg = setup.config.flow_drop
    window = micros(drop_cfg.window_min * 60.0)
    times = cols.times_us
    # no negative zero in the window (the incremental engine adds 0.0 too)
    flow, speed = _no_negative_zero(cols.clean[FLOW]), _no_negative_zero(cols.clean[SPEED])
    starts, ends = window_bounds(times, window)

    def positive_median(values: np.ndarray) -> np.ndarray:
        """Whether the median of each sample's window is above zero: counts from running
        sums, a part of the recording at a time (its temporaries stay small)."""
        n = values.size
        total, above = np.empty(n + 1, dtype=np.int64), np.empty(n + 1, dtype=np.int64)
        total[0] = above[0] = 0
        np.cumsum(~np.isnan(values), out=total[1:])
        np.cumsum(values > 0, out=above[1:])
        out = np.empty(n, dtype=bool)
        rows = timing.PART_ROWS
        for lo in range(0, n, rows):
            first, end = starts[lo : lo + rows], ends[lo : lo + rows]
            count = total[end] - total[first]
            out[lo : lo + rows] = (count >= 1) & (2 * (above[end] - above[first]) >= count)
        return out

    oldest = oldest_before(times, ~np.isnan(flow), window)
    usable = (
        ~np.isnan(flow)
        & ~np.isnan(speed)
        & positive_median(flow)
        & positive_median(speed)
        & (oldest >= 0)
        & (times - oldest >= micros(drop_cfg.min_reference_min * 60.0))
    )
    rows = np.flatnonzero(usable)
    at = stretch(rows)  # most often all but the first reference period: views
    flow_rows, speed_rows = flow[at], speed[at]
    clear = min(spec.clear_limits)
    # a median is at most the window's maximum, which is at most the two clock blocks'
    # maximum: rows whose drop from that is clear are clear whatever the median
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (1.0 - flow_rows / two_block_maxima(times, flow, window)[at]) * 100.0
    near = np.flatnonzero(bound >= clear - 1e-6)
    flow_ref, speed_ref = medians_before(times, window, starts, ends, rows[near], flow, speed)
    inputs = (flow[rows[near]], flow_ref, speed[rows[near]], speed_ref)
    drop, near_ons, near_offs = flow_drop_conditions(
        spec, drop_cfg.speed_tolerance_pct / 100.0, *inputs
    )
    # the others are clear at every level; their drop is below any peak that matters
    values = np.zeros(rows.size)
    values[near] = drop
    ons, offs = [], []
    for near_on, near_off in zip(near_ons, near_offs, strict=True):
        on, off = np.zeros(rows.size, dtype=bool), np.ones(rows.size, dtype=bool)
        on[near], off[near] = near_on, near_off
        ons.append(on)
        offs.append(off)
    # the references are written again where a reference is held: whole columns
    flow_refs, speed_refs = np.full(rows.size, np.nan), np.full(rows.size, np.nan)
    flow_refs[near], speed_refs[near] = flow_ref, speed_ref
    full_inputs = [flow_rows, flow_refs, speed_rows, speed_refs]
    clock = rule_clock(times[at], setup.freeze_us)
    _hold_references(
        spec=spec,
        fraction=setup.hold_fraction,
        tolerance=drop_cfg.speed_tolerance_pct / 100.0,
        clock=clock,
        values=values,
        ons=ons,
        offs=offs,
        inputs=full_inputs,
    )
    return Findings(
        judge_column(spec, cols, setup, rows, values, ons, offs, tuple(full_inputs), clock, None)
    )


def _no_negative_zero(values: np.ndarray) -> np.ndarray:
    """``values + 0.0`` (a negative zero made positive), without the copy when it has none."""
    return values + 0.0 if ((values == 0.0) & np.signbit(values)).any() else values


#: Rows judged at a time when following a held reference forward (grows as needed).
_HOLD_SPAN = 256


def _hold_references(
    *,
    spec: RuleSpec,
    fraction: float,
    tolerance: float,
    clock: np.ndarray,
    values: np.ndarray,
    ons: list[np.ndarray],
    offs: list[np.ndarray],
    inputs: list[np.ndarray],
) -> None:
    """Hold the flow_drop references while the rule is pending or active, in place.

    ``values``, ``ons``, ``offs`` and ``inputs`` (flow, flow reference, speed, speed
    reference, one per judged row) come in judged against the rolling medians. As in the
    incremental engine, the first row that meets an alert condition (the rule becomes
    pending) holds its references; the rows from there up to and including the first at
    which no level is active or pending are judged again against the held references,
    and the rolling medians apply again after it. Only those stretches are recomputed, a
    stretch of rows at a time (see below for why a stretch can be judged on its own).

    Why a stretch [s, e] can be judged alone, exactly: before ``s`` every level is
    inactive and no alert condition was met within an on-delay window that reaches a row
    at or after ``s`` (rows after the previous stretch meet none; at that stretch's last
    row no level was active or pending). So the rows before ``s`` matter only through
    where the runs of not-clear samples start and how many samples the windows hold:
    judging from one sample before the on-delay window of ``s``, with the alert
    conditions before ``s`` taken as unmet, gives every row from ``s`` on its true state.
    """
    n = clock.size
    candidates = np.flatnonzero(np.logical_or.reduce(ons)) if ons else np.empty(0, np.int64)
    flow, flow_refs, speed, speed_refs = inputs
    cursor = 0
    while True:
        k = int(np.searchsorted(candidates, cursor))
        if k == candidates.size:
            return
        s = int(candidates[k])
        flow_ref, speed_ref = float(flow_refs[s]), float(speed_refs[s])
        lo = max(0, int(np.searchsorted(clock, clock[s] - spec.on_delay_us, side="left")) - 1)
        span, checked = _HOLD_SPAN, s
        while True:
            hi = min(n, s + span)
            drop, held_ons, held_offs = flow_drop_conditions(
                spec, tolerance, flow[s:hi], flow_ref, speed[s:hi], speed_ref
            )
            # a row that meets an alert condition is pending or active: only the others
            # can end the stretch, and the timers are run only when new ones come
            if (~np.logical_or.reduce(held_ons)[checked - s :]).any():
                busy = np.zeros(hi - s, dtype=bool)
                for i in range(len(ons)):
                    if not held_ons[i].any():
                        continue  # never pending, never active: nothing to add
                    on = np.concatenate((np.zeros(s - lo, dtype=bool), held_ons[i]))
                    off = np.concatenate((offs[i][lo:s], held_offs[i]))
                    busy |= engaged(
                        clock[lo:hi], on, off, spec.on_delay_us, spec.off_delay_us, fraction
                    )[s - lo :]
                quiet = np.flatnonzero(~busy)
                if quiet.size:
                    stop = int(quiet[0]) + 1  # rows held, from s
                    break
            if hi == n:
                stop = hi - s
                break
            checked = hi
            span *= 4
        end = s + stop
        values[s:end] = drop[:stop]
        for i in range(len(ons)):
            ons[i][s:end] = held_ons[i][:stop]
            offs[i][s:end] = held_offs[i][:stop]
        flow_refs[s:end] = flow_ref
        speed_refs[s:end] = speed_ref
        cursor = end


# -- flow_low ----------------------------------------------------------------------------


def _describe_flow_low(weight_kg: float | None, minimum: float, high_lpm: float):
    def describe(threshold: float, flow: float) -> str:
        if weight_kg is not None and threshold != high_lpm:
            per_kg = flow * 1000.0 / weight_kg
            return (
                f"blood flow {flow:.2f} L/min is {fmt(per_kg)} mL/kg/min, below the limit of "
                f"{fmt(minimum)} mL/kg/min, the prescribed minimum ({fmt(weight_kg, 1)} kg)"
            )
        return f"blood flow {flow:.2f} L/min is below the limit of {threshold:.1f} L/min"

    return describe


def flow_low_spec(
    config: RulesConfig, weight_kg: float | None = None, minimum_ml_kg_min: float | None = None
) -> RuleSpec:
    """The flow low rule with the limits in force for this patient: high below 1.0 L/min
    and, with a weight, medium below the prescribed minimum (the configured one unless
    ``minimum_ml_kg_min`` is given)."""
    low = config.flow_low
    minimum = low.minimum_ml_kg_min if minimum_ml_kg_min is None else minimum_ml_kg_min
    if weight_kg is not None:
        levels = (MEDIUM, HIGH)
        thresholds = (minimum * weight_kg / 1000.0, low.high_lpm)
        clear_limits = (
            thresholds[0] + low.hysteresis_ml_kg_min * weight_kg / 1000.0,
            low.high_lpm + low.hysteresis_lpm,
        )
    else:
        levels, thresholds = (HIGH,), (low.high_lpm,)
        clear_limits = (low.high_lpm + low.hysteresis_lpm,)
    return RuleSpec(
        rule="flow_low",
        label="blood flow",
        unit="L/min",
        digits=2,
        levels=levels,
        thresholds=thresholds,
        clear_limits=clear_limits,
        above=False,
        strict=True,
        on_delay_us=micros(low.on_delay_s),
        off_delay_us=micros(low.off_delay_s),
        describe=_describe_flow_low(weight_kg, minimum, low.high_lpm),
    )


class FlowLowState(ChannelState):
    """flow_low a frame at a time; the patient's weight and minimum can change live."""

    __slots__ = ("config", "minimum", "weight_kg")

    def __init__(self, setup: Setup) -> None:
        super().__init__(flow_low_spec(setup.config, setup.weight_kg), setup, FLOW)
        self.config = setup.config
        self.weight_kg = setup.weight_kg
        self.minimum: float | None = None

    def set_patient(self, weight_kg: float | None, minimum_ml_kg_min: float | None) -> None:
        """Weight (kg, None: unknown) and prescribed minimum (mL/kg/min, None: default)."""
        self.weight_kg, self.minimum = weight_kg, minimum_ml_kg_min
        self.respec(flow_low_spec(self.config, weight_kg, minimum_ml_kg_min))


def flow_low_findings(cols: Columns, setup: Setup) -> Findings:
    return channel_episodes(flow_low_spec(setup.config, setup.weight_kg), cols, setup, FLOW)


FLOW_DROP = Rule(
    rule="flow_drop",
    title="Blood flow drop",
    channels=(FLOW,),
    incremental=FlowDropState,
    batch=flow_drop_findings,
)
FLOW_LOW = Rule(
    rule="flow_low",
    title="Blood flow low",
    channels=(FLOW,),
    incremental=FlowLowState,
    batch=flow_low_findings,
)
