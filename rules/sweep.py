"""The sweep gas lost rule, both halves: a frame at a time and a whole recording.

The membrane lung exchanges gas only while sweep gas flows (CLINICAL.md, Sweep gas): an
empty cylinder or a disconnected gas line shows as sweep below 0.5 L/min while blood
still flows (above 1.0 L/min). High, holding 10 s (``[sweep_gas_lost]`` in
``defaults.toml``). A ``sweep_off_trial`` event (a weaning trial: sweep off on purpose)
turns the rule into a low reminder for the trial's length (default 60 min) from the
event, then it is high again.

As data: two levels on the one condition, low only inside a trial and high only outside
one; a level outside its part of time meets its clear condition there. So a sweep loss
outside a trial is one high episode; a trial gives a low episode, and a trial that runs
past its length a high one after it.
"""

from __future__ import annotations

import numpy as np

from adapters import format_timestamp

from .columns import Columns
from .config import RulesConfig
from .definition import Findings, Rule, Setup, micros
from .threshold import HIGH, LOW, RuleSpec, ThresholdState, judge_column
from .timing import rule_clock

SWEEP, FLOW = "sweep_gas_lpm", "blood_flow_lpm"
TRIAL_EVENT = "sweep_off_trial"


def _describe(min_flow: float, trial_min: float):
    def describe(threshold: float, sweep: float, flow: float, trial_end: float) -> str:
        text = (
            f"sweep gas {sweep:.1f} L/min is below the limit of {threshold:.1f} L/min while "
            f"blood flow is {flow:.2f} L/min (above {min_flow:.1f} L/min): no gas exchange"
        )
        if trial_end == trial_end:  # inside a sweep-off trial (NaN outside)
            until = format_timestamp(trial_end)[11:16]
            text += f"; sweep-off trial: reminder until {until} UTC ({trial_min:g} min)"
        return text

    return describe


def sweep_spec(config: RulesConfig) -> RuleSpec:
    """The sweep gas lost rule with the limits in force (its value: sweep, L/min)."""
    c = config.sweep_gas_lost
    return RuleSpec(
        rule="sweep_gas_lost",
        label="sweep gas",
        unit="L/min",
        digits=1,
        levels=(LOW, HIGH),
        thresholds=(c.low_sweep_lpm, c.low_sweep_lpm),
        clear_limits=(c.low_sweep_lpm + c.hysteresis_lpm,) * 2,
        above=False,
        strict=True,
        on_delay_us=micros(c.on_delay_s),
        off_delay_us=micros(c.off_delay_s),
        describe=_describe(c.min_blood_flow_lpm, c.trial_min),
    )


def sweep_conditions(spec: RuleSpec, min_flow: float, sweep, flow, inside, outside):
    """Per-level alert and clear conditions (low, high), for floats or arrays.

    ``inside``/``outside``: whether the sample is inside a sweep-off trial, and its
    opposite (passed both, so that the same operators serve a bool and an array).
    """
    ons, offs = spec.conditions(sweep)
    flowing = flow > min_flow
    still = flow <= min_flow
    on, off = ons[0] & flowing, offs[0] | still
    return [on & inside, on & outside], [off | outside, off | inside]


class SweepGasLostState(ThresholdState):
    """sweep_gas_lost a frame at a time, with the end of the sweep-off trial in force."""

    __slots__ = ("min_flow", "trial_end_us", "trial_us")
    reads = (SWEEP, FLOW)

    def __init__(self, setup: Setup) -> None:
        super().__init__(sweep_spec(setup.config), setup)
        c = setup.config.sweep_gas_lost
        self.min_flow = c.min_blood_flow_lpm
        self.trial_us = micros(c.trial_min * 60.0)
        self.trial_end_us: int | None = None

    def step(self, t, t_us, values, clean, out) -> None:
        sweep, flow = clean[SWEEP], clean[FLOW]
        if sweep is None or flow is None:
            return
        end = self.trial_end_us
        inside = end is not None and t_us < end
        trial_end = end / 1e6 if inside else float("nan")
        # every level clear (sweep_conditions' offs all true): sweep clear or no flow
        if (flow <= self.min_flow or self.spec.all_clear(sweep)) and self.quiet():
            self.calm(t_us, sweep, (sweep, flow, trial_end))  # the usual sample
            return
        ons, offs = sweep_conditions(self.spec, self.min_flow, sweep, flow, inside, not inside)
        self.judge(t, t_us, sweep, ons, offs, (sweep, flow, trial_end), None, out)

    def event(self, kind, time, out) -> None:
        if kind == TRIAL_EVENT:
            self.trial_end_us = micros(time) + self.trial_us


def trial_mask(cols: Columns, trial_us: int) -> np.ndarray:
    """The end (POSIX s) of the sweep-off trial in force at each row, NaN outside one."""
    out = np.full(cols.n, np.nan)
    for row, kind in zip(cols.event_rows.tolist(), cols.event_kinds, strict=True):
        if kind == TRIAL_EVENT:
            end = int(cols.times_us[row]) + trial_us
            inside = (cols.times_us >= cols.times_us[row]) & (cols.times_us < end)
            out[inside] = end / 1e6
    return out


def sweep_findings(cols: Columns, setup: Setup) -> Findings:
    spec = sweep_spec(setup.config)
    c = setup.config.sweep_gas_lost
    sweep, flow = cols.clean[SWEEP], cols.clean[FLOW]
    if not (spec.conditions(sweep)[0][0] & (flow > c.min_blood_flow_lpm)).any():
        return Findings()
    rows = np.flatnonzero(cols.valid(SWEEP) & cols.valid(FLOW))
    trial_end = trial_mask(cols, micros(c.trial_min * 60.0))[rows]
    inside = ~np.isnan(trial_end)
    values = sweep[rows]
    ons, offs = sweep_conditions(spec, c.min_blood_flow_lpm, values, flow[rows], inside, ~inside)
    clock = rule_clock(cols.times_us[rows], setup.freeze_us)
    inputs = (values, flow[rows], trial_end)
    return Findings(judge_column(spec, cols, setup, rows, values, ons, offs, inputs, clock, None))


SWEEP_GAS_LOST = Rule(
    rule="sweep_gas_lost",
    title="Sweep gas lost",
    channels=(SWEEP,),
    incremental=SweepGasLostState,
    batch=sweep_findings,
)
