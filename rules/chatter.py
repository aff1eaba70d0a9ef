"""The drainage chatter rule, both halves: a frame at a time and a whole recording.

Drainage insufficiency often shows first as "chatter" (CLINICAL.md, Blood flow): the
venous line shakes as the cannula sucks against the vessel wall, so drainage pressure and
flow swing together while the pump speed stays where it was, before the pressure itself
stays past a suction limit (a line swinging between -50 and -92 mmHg is never *held*
past -80 mmHg). Medium when, over the last ``window_s`` (the samples of (t - 10 s, t]
that carry all three channels), at a pump speed whose span is within 2 % of its median,
the drainage pressure spans more than 25 mmHg and the flow more than 10 % of its median,
holding 10 s (``[drainage_chatter]`` in ``defaults.toml``).

The value judged is the pressure span (mmHg). A pressure span back below the threshold
minus the hysteresis is calm; so is a flow span at or below its limit and a speed that
moved (a deliberate speed change moves pressure and flow with it). A transducer flush
spans the pressure but not the flow; sensor noise spans a few mmHg and a few per cent.

Both halves compare spans and medians without dividing (``span x 100 > limit x
median``), so a float and a numpy array give the same answer; the medians are those of
:func:`windows.medians_at` and of a sorted window, equal by construction.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from .columns import Columns, stretch
from .config import RulesConfig
from .definition import Findings, Rule, Setup, micros
from .threshold import MEDIUM, RowInput, RuleSpec, ThresholdState, fmt, judge_column
from .timing import rule_clock
from .windows import medians_at, two_block_span_rows

VENOUS, FLOW, SPEED = "p_venous_mmhg", "blood_flow_lpm", "pump_speed_rpm"


def _describe(window_s: float, flow_limit: float, speed_limit: float):
    def describe(threshold, p_span, f_span, f_median, s_median) -> str:
        pct = f_span / f_median * 100.0 if f_median > 0 else float("inf")
        return (
            f"drainage pressure swings over {fmt(p_span)} mmHg (limit {fmt(threshold)} mmHg) "
            f"and blood flow over {fmt(pct)} % of its median {f_median:.2f} L/min (limit "
            f"{fmt(flow_limit)} %) within {window_s:g} s, at a pump speed steady within "
            f"{fmt(speed_limit)} % ({fmt(s_median)} rpm): drainage insufficiency (chatter)"
        )

    return describe


def chatter_spec(config: RulesConfig) -> RuleSpec:
    """The drainage chatter rule with the limits in force (its value: the P1 span)."""
    c = config.drainage_chatter
    return RuleSpec(
        rule="drainage_chatter",
        label="drainage pressure swing",
        unit="mmHg",
        digits=0,
        levels=(MEDIUM,),
        thresholds=(c.pressure_span_mmhg,),
        clear_limits=(c.pressure_span_mmhg - c.hysteresis_mmhg,),
        above=True,
        strict=True,
        on_delay_us=micros(c.on_delay_s),
        off_delay_us=micros(c.off_delay_s),
        describe=_describe(c.window_s, c.flow_span_pct, c.speed_steady_pct),
    )


def chatter_conditions(spec: RuleSpec, config: RulesConfig, p_span, f_span, f_med, s_span, s_med):
    """Alert and clear condition (one level), for floats or arrays alike."""
    c = config.drainage_chatter
    (p_on,), (p_off,) = spec.conditions(p_span)
    swings = (f_span * 100.0 > c.flow_span_pct * f_med) & (f_med > 0)
    calm = (f_span * 100.0 <= c.flow_span_pct * f_med) | (f_med <= 0)
    steady = (s_span * 100.0 <= c.speed_steady_pct * s_med) & (s_med > 0)
    moved = (s_span * 100.0 > c.speed_steady_pct * s_med) | (s_med <= 0)
    return [p_on & swings & steady], [p_off | calm | moved]


def _median(values: list[float]) -> float:
    values = sorted(values)
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid] + values[mid - 1]) / 2


class DrainageChatterState(ThresholdState):
    """drainage_chatter a frame at a time: the last window's samples and the running
    maximum and minimum of the drainage pressure (monotonic queues); the flow and speed
    spans and medians are looked at only when the pressure span could matter."""

    __slots__ = ("calm_below", "config", "highs", "lows", "samples", "window_us")
    reads = (VENOUS, FLOW, SPEED)

    def __init__(self, setup: Setup) -> None:
        super().__init__(chatter_spec(setup.config), setup)
        self.config = setup.config
        self.window_us = micros(setup.config.drainage_chatter.window_s)
        self.calm_below = self.spec.clear_limits[0]
        self.samples: deque[tuple[int, float, float, float]] = deque()
        self.highs: deque[tuple[int, float]] = deque()
        self.lows: deque[tuple[int, float]] = deque()

    def step(self, t, t_us, values, clean, out) -> None:
        p, flow, speed = clean[VENOUS], clean[FLOW], clean[SPEED]
        if p is None or flow is None or speed is None:
            return
        samples, highs, lows = self.samples, self.highs, self.lows
        samples.append((t_us, p, flow, speed))
        while highs and highs[-1][1] <= p:
            highs.pop()
        highs.append((t_us, p))
        while lows and lows[-1][1] >= p:
            lows.pop()
        lows.append((t_us, p))
        edge = t_us - self.window_us  # the window is (t - window, t]
        while samples[0][0] <= edge:
            samples.popleft()
        while highs[0][0] <= edge:
            highs.popleft()
        while lows[0][0] <= edge:
            lows.popleft()
        p_span = highs[0][1] - lows[0][1]
        if p_span < self.calm_below and self.quiet():
            self.calm(t_us, p_span)  # calm whatever the flow does: the usual sample
            return
        flows = [s[2] for s in samples]
        speeds = [s[3] for s in samples]
        f_span, f_med = max(flows) - min(flows), _median(flows)
        s_span, s_med = max(speeds) - min(speeds), _median(speeds)
        ons, offs = chatter_conditions(self.spec, self.config, p_span, f_span, f_med, s_span, s_med)
        self.judge(t, t_us, p_span, ons, offs, (p_span, f_span, f_med, s_med), None, out)


# -- a whole recording -------------------------------------------------------------------


def _rolling(times_us: np.ndarray, values: np.ndarray, window_us: int):
    index = pd.DatetimeIndex(times_us.astype("datetime64[us]"))
    return pd.Series(values, index=index).rolling(pd.Timedelta(microseconds=window_us))


#: Above this many candidate rows the spans come from pandas' rolling windows instead.
_LOOP_ROWS = 20_000


def _spans_at(times, values, window: int, starts, at: np.ndarray) -> np.ndarray:
    """The span (max - min) of ``values`` over each window (t - window, t] at rows ``at``."""
    if at.size > _LOOP_ROWS:
        roll = _rolling(times, values, window)
        return (roll.max().to_numpy() - roll.min().to_numpy())[at]
    out = np.empty(at.size)
    for k, i in enumerate(at.tolist()):
        part = values[starts[i] : i + 1]
        out[k] = part.max() - part.min()
    return out


def chatter_findings(cols: Columns, setup: Setup) -> Findings:
    """drainage_chatter over a recording. Rows whose pressure span is surely calm (below
    the clear limit by the span of two clock blocks, :func:`two_block_span_rows`) are
    calm whatever the flow does; their value is left at 0, below any episode's peak (an
    episode's peak is past the threshold)."""
    spec = chatter_spec(setup.config)
    window = micros(setup.config.drainage_chatter.window_s)
    rows = np.flatnonzero(cols.valid(VENOUS) & cols.valid(FLOW) & cols.valid(SPEED))
    if rows.size == 0:
        return Findings()
    at = stretch(rows)  # every row valid: views of the columns
    times = cols.times_us[at]
    p = cols.clean[VENOUS][at]
    calm = spec.clear_limits[0]
    # the two blocks' span bounds the span over (t - window, t]
    candidates = two_block_span_rows(times, p, window, calm)
    if not candidates.size:
        return Findings()
    # each window's first row, where it is needed (a search over every row costs more
    # than the whole rule on a calm recording)
    starts = np.zeros(rows.size, dtype=np.int64)
    starts[candidates] = np.searchsorted(times, times[candidates] - window, side="right")
    p_span = np.zeros(rows.size)
    p_span[candidates] = _spans_at(times, p, window, starts, candidates)
    if not (p_span > spec.thresholds[0]).any():
        return Findings()  # never past the threshold: never active
    # only rows whose pressure span is not calm need the flow and speed windows
    near = np.flatnonzero(p_span >= calm)
    flow, speed = cols.clean[FLOW][at], cols.clean[SPEED][at]
    stats = []
    for values in (flow, speed):
        stats += [
            _spans_at(times, values, window, starts, near),
            medians_at(values, starts, None, near),
        ]
    f_span, f_med, s_span, s_med = stats
    near_ons, near_offs = chatter_conditions(
        spec, setup.config, p_span[near], f_span, f_med, s_span, s_med
    )
    on, off = np.zeros(rows.size, dtype=bool), np.ones(rows.size, dtype=bool)
    on[near], off[near] = near_ons[0], near_offs[0]
    inputs = [p_span, *(RowInput(near, part) for part in (f_span, f_med, s_med))]
    clock = rule_clock(times, setup.freeze_us)
    return Findings(
        judge_column(spec, cols, setup, rows, p_span, [on], [off], tuple(inputs), clock, None)
    )


DRAINAGE_CHATTER = Rule(
    rule="drainage_chatter",
    title="Drainage chatter",
    channels=(VENOUS, FLOW),
    incremental=DrainageChatterState,
    batch=chatter_findings,
)
