"""Rules that judge one value per sample against a threshold per priority level.

A :class:`RuleSpec` is such a rule with the limits in force, as data: levels,
thresholds, clear limits, delays and the message. Its condition functions are written
with operators that mean the same on a float and on a numpy array (``>=``, ``&``, ``|``,
``abs``; never ``and``/``not``), so the incremental engine calls them with one sample's
floats and the batch engine with whole columns, and both get the same answer bit for
bit. Here too are the two halves every such rule shares:

- :class:`ThresholdState`: the running state a sample at a time (level timers, rule
  clock, alert lifecycle, episodes), and :class:`ChannelState` for a rule whose value is
  one channel as sent (blood flow low, the two pressures);
- :func:`judge_column`: the same over whole arrays, and :func:`channel_episodes` for a
  one-channel rule.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .columns import Columns, stretch
from .definition import Findings, RuleState, Setup
from .episodes import Episode, EpisodeTracker, level_runs
from .lifecycle import AlertLifecycle, AlertState, AlertStatus, Priority
from .timing import LevelTimer, debounce, rule_clock

LOW, MEDIUM, HIGH = 1, 2, 3


def fmt(value: float, digits: int = 0) -> str:
    """A number for a message, without a ``-0``."""
    text = f"{value:.{digits}f}"
    return "0" if text in ("-0", "-0.0") and digits == 0 else text


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSpec:
    """One threshold rule with its limits in force: levels, thresholds, delays, message.

    ``levels`` are priority levels (2 medium, 3 high) with one threshold and one clear
    limit (threshold minus or plus the hysteresis) each. ``above``: a value past the
    threshold upwards is bad (peak = maximum), else downwards (peak = minimum).
    ``strict``: the limit itself does not alert ("below 1.0 L/min"). ``describe`` makes
    the alert message from the threshold and the rule's inputs (see each rule).
    """

    rule: str
    label: str
    unit: str
    digits: int
    levels: tuple[int, ...]
    thresholds: tuple[float, ...]
    clear_limits: tuple[float, ...]
    above: bool
    strict: bool = False
    on_delay_us: int
    off_delay_us: int
    describe: Callable[..., str]

    #: (alert test, clear test): the comparisons above say, looked up once
    compare: tuple[Callable, Callable] = field(init=False, repr=False, compare=False)
    #: the clear limit every level's clear condition holds past (see :meth:`all_clear`)
    calm_limit: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.above:
            tests = (operator.gt if self.strict else operator.ge, operator.lt)
        else:
            tests = (operator.lt if self.strict else operator.le, operator.gt)
        object.__setattr__(self, "compare", tests)
        limits = self.clear_limits or (math.nan,)
        object.__setattr__(self, "calm_limit", min(limits) if self.above else max(limits))

    def all_clear(self, value: float) -> bool:
        """Whether ``value`` meets the clear condition of every level (one comparison:
        what ``all(conditions(value)[1])`` says, for the usual sample of every frame)."""
        return value < self.calm_limit if self.above else value > self.calm_limit

    def conditions(self, value):
        """Alert and clear condition per level, for a float or an array of values."""
        alert, clear = self.compare
        thresholds, limits = self.thresholds, self.clear_limits
        if len(thresholds) == 2:  # the usual case, without a loop: this runs every frame
            return (
                [alert(value, thresholds[0]), alert(value, thresholds[1])],
                [clear(value, limits[0]), clear(value, limits[1])],
            )
        return [alert(value, t) for t in thresholds], [clear(value, c) for c in limits]

    def threshold_of(self, level: int) -> float:
        return self.thresholds[self.levels.index(level)]

    def cleared_message(self, value: float) -> str:
        return f"{self.label} back within limits: {value:.{self.digits}f} {self.unit}"


class ThresholdState(RuleState):
    """The running state of one threshold rule, fed one judged value at a time."""

    __slots__ = (
        "clock",
        "freeze_us",
        "hold_fraction",
        "inputs",
        "last_us",
        "life",
        "log_pending",
        "rule",
        "spec",
        "timers",
        "track",
        "value",
    )

    def __init__(self, spec: RuleSpec, setup: Setup) -> None:
        self.rule = spec.rule
        self.spec = spec
        self.hold_fraction = setup.hold_fraction
        self.freeze_us = setup.freeze_us
        self.log_pending = setup.log_pending
        self.timers = [self._timer(spec) for _ in spec.levels]
        self.life = AlertLifecycle(spec.rule, setup.latching)
        self.track = EpisodeTracker(spec.rule, spec.unit, spec.levels, spec.above)
        self.clock = 0
        self.last_us: int | None = None
        self.inputs: tuple | None = None
        self.value: float | None = None

    def _advance(self, t_us: int) -> int:
        """The rule clock at a valid sample: it moves by the step since the last one,
        unless that step is a gap longer than ``freeze_after_s`` (timers stay frozen)."""
        last = self.last_us
        if last is not None:
            step = t_us - last
            if 0 < step <= self.freeze_us:
                self.clock += step
        self.last_us = t_us
        return self.clock

    def _timer(self, spec: RuleSpec) -> LevelTimer:
        return LevelTimer(spec.on_delay_us, spec.off_delay_us, self.hold_fraction)

    def judge(self, t, t_us, value, ons, offs, inputs, baseline, out) -> None:
        """One valid sample: its value, per-level conditions and the describe inputs."""
        clock = self._advance(t_us)
        level = pending = 0
        levels = self.spec.levels
        for i, timer in enumerate(self.timers):
            if timer.step(clock, ons[i], offs[i]):
                level = levels[i]
            elif timer.pending:
                pending = levels[i]
        self.value, self.inputs = value, inputs
        life = self.life
        old = life.level
        if level != old:
            spec = self.spec
            threshold = spec.threshold_of(level or old)
            message = spec.describe(threshold, *inputs) if level else spec.cleared_message(value)
            out += life.set_level(t, level, value, threshold, baseline, message)
            self.track.change(
                t,
                old,
                level,
                lambda lv: spec.describe(spec.threshold_of(lv), *inputs),
                spec.threshold_of,
            )
        elif not old and pending != life.pending:
            spec = self.spec
            if pending:
                message = spec.describe(spec.threshold_of(pending), *inputs)
                threshold = spec.threshold_of(pending)
            else:
                message, threshold = spec.cleared_message(value), spec.threshold_of(life.pending)
            moved = life.set_pending(t, pending, value, threshold, message)
            if self.log_pending:
                out += moved
        if self.track.open:
            self.track.observe(value)

    def quiet(self) -> bool:
        """No level active, pending or latched to a level: a clear sample changes nothing
        but the clock (what :meth:`calm` relies on)."""
        if self.life.level:
            return False
        for timer in self.timers:  # noqa: SIM110 - a loop, not all(): this runs per sample
            if timer.active or timer.rising.votes:
                return False
        return True

    def calm(self, t_us: int, value: float, inputs: tuple | None = None) -> None:
        """:meth:`judge` of a sample that meets every clear condition while the rule is
        :meth:`quiet`, in short: the rule clock moves and no transition can follow (no
        level can become active or pending on a clear sample, and none is open)."""
        self._advance(t_us)
        for timer in self.timers:  # a clear sample ends a run in the hysteresis band
            rising = timer.rising
            if rising.start is not None:
                rising.interrupt()
        self.value, self.inputs = value, inputs

    def respec(self, spec: RuleSpec) -> None:
        """New limits in force (a patient setting changed); a level kept keeps its timer."""
        old_timers = dict(zip(self.spec.levels, self.timers, strict=True))
        self.timers = [old_timers.get(lv) or self._timer(spec) for lv in spec.levels]
        self.spec = spec
        self.track.levels = spec.levels

    def alert(self, include_pending: bool, now: float) -> AlertState | None:
        life, spec, inputs = self.life, self.spec, self.inputs
        live = inputs is not None and life.level
        message = spec.describe(spec.threshold_of(life.level), *inputs) if live else ""
        state = life.snapshot(self.value, message or life.message)
        if state is None and include_pending and life.pending and inputs is not None:
            threshold = spec.threshold_of(life.pending)
            return AlertState(
                rule=spec.rule,
                priority=Priority.of_level(life.pending),
                state=AlertStatus.PENDING,
                latched=False,
                since=now,
                value=self.value,
                threshold=threshold,
                message=spec.describe(threshold, *inputs),
            )
        return state


class ChannelState(ThresholdState):
    """A threshold rule on one channel's value as sent (blood flow low, pressures)."""

    __slots__ = ("channel", "reads")

    def __init__(self, spec: RuleSpec, setup: Setup, channel: str) -> None:
        super().__init__(spec, setup)
        self.channel = channel
        self.reads = (channel,)

    def step(self, t, t_us, values, clean, out) -> None:
        value = clean[self.channel]
        if value is not None:
            spec = self.spec
            if spec.all_clear(value) and self.quiet():
                self.calm(t_us, value, (value,))  # the usual sample: judge() does only this
                return
            ons, offs = spec.conditions(value)
            self.judge(t, t_us, value, ons, offs, (value,), None, out)


class RowInput:
    """A describe input of :func:`judge_column` known at some judged rows only (``rows``,
    ascending, with ``values``) and ``fill`` at the others: the few rows an episode's
    message is read at need no column as long as the recording."""

    __slots__ = ("fill", "rows", "values")

    def __init__(self, rows: np.ndarray, values: np.ndarray, fill: float = math.nan) -> None:
        self.rows, self.values, self.fill = rows, values, fill

    def __getitem__(self, row: int) -> float:
        k = int(np.searchsorted(self.rows, row))
        known = k < self.rows.size and self.rows[k] == row
        return float(self.values[k]) if known else self.fill


def constant_input(value: float) -> RowInput:
    """A describe input that is ``value`` at every judged row."""
    return RowInput(np.empty(0, dtype=np.int64), np.empty(0), value)


def judge_column(
    spec: RuleSpec,
    cols: Columns,
    setup: Setup,
    rows: np.ndarray,
    values: np.ndarray,
    ons,
    offs,
    inputs: tuple[np.ndarray | RowInput, ...],
    clock: np.ndarray,
    end_time: float | None,
) -> list[Episode]:
    """Episodes of one rule over its valid ``rows`` (one baseline segment at most).

    ``values`` and ``inputs`` are per judged row (an input as an array, or a
    :class:`RowInput`), ``clock`` the rule clock over them;
    ``end_time`` ends what is still active at the last row (an event), else None.
    """
    if rows.size == 0:
        return []
    level = np.zeros(rows.size, dtype=np.int8)
    for i, lv in enumerate(spec.levels):
        if not ons[i].any():
            continue  # never past the threshold: never active
        active = debounce(
            clock, ons[i], offs[i], spec.on_delay_us, spec.off_delay_us, setup.hold_fraction
        )
        level = np.where(active, np.maximum(level, lv), level)
    out = []
    for lv in spec.levels:
        starts, ends = level_runs(level, lv)
        threshold = spec.threshold_of(lv)
        for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
            end = float(cols.seconds[rows[stop]]) if stop < rows.size else end_time
            stretch = values[first:stop]
            out.append(
                Episode(
                    rule=spec.rule,
                    priority=Priority.of_level(lv),
                    start=float(cols.seconds[rows[first]]),
                    end=end,
                    peak=float(stretch.max() if spec.above else stretch.min()),
                    message=spec.describe(threshold, *(float(a[first]) for a in inputs)),
                    threshold=threshold,
                    unit=spec.unit,
                )
            )
    return out


def channel_episodes(spec: RuleSpec, cols: Columns, setup: Setup, channel: str) -> Findings:
    """:class:`ChannelState` over a whole recording."""
    clean = cols.clean[channel]
    # a level becomes active only after samples past its threshold: none, no episode
    # (NaN, a missing value or an artifact, is past no threshold)
    if not any(on.any() for on in spec.conditions(clean)[0]):
        return Findings()
    rows = np.flatnonzero(cols.valid(channel))
    at = stretch(rows)  # every value valid: views of the columns
    values = clean[at]
    ons, offs = spec.conditions(values)
    clock = rule_clock(cols.times_us[at], setup.freeze_us)
    return Findings(
        judge_column(spec, cols, setup, rows, values, ons, offs, (values,), clock, None)
    )
