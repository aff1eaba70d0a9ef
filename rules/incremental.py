"""The incremental engine: frames in one at a time, alarm transitions out (live and replay).

A driver: it cleans each frame's channels once (``adapters.contract.clean_value``: a
value present, plausible and not marked as an artifact, else None) and hands them to
every rule of ``catalog.RULES`` in turn; each rule's running state (its module's
frame-at-a-time half) reads the channels it names and keeps its own alert lifecycle.

Per-frame cost does not depend on how long the session has run: every piece of state is
either a few numbers or a window bounded in time (the 30-minute flow and speed medians,
the 30-minute baseline collection). No I/O, no threads: the caller (the session) feeds
frames in order from one thread and reads snapshots; guard it with a lock if snapshots
are read from other threads while frames are fed.

Times are POSIX seconds. ``tick(now)`` must use the same time base as the frames (the
arrival times of a live source). Frames older than the newest one seen are ignored. The
batch engine gives the same episodes on the same frames.
"""

from __future__ import annotations

from typing import TypeVar

from adapters import LAB_COLUMNS, Frame, clean_value, lab_value

from .baseline import Baseline
from .catalog import RULE_IDS, RULES, episode_sort_key
from .config import RulesConfig, default_config
from .data_stale import DataStaleState
from .definition import RuleState, Setup
from .delta_p import DeltaPRiseState
from .episodes import Episode, Gap
from .flow import FlowLowState
from .forecast import Forecast
from .lifecycle import Acknowledgement, AlertState, Transition, alert_sort_key
from .resistance_trend import ResistanceTrendState

S = TypeVar("S", bound=RuleState)


def _channels(states: list[RuleState]) -> tuple[str, ...]:
    """The channels ``states`` read, each once, in the order they name them."""
    return tuple(dict.fromkeys(name for state in states for name in state.reads))


class IncrementalEngine:
    """Runs every rule a frame at a time and keeps the alerts' lifecycle."""

    def __init__(
        self,
        config: RulesConfig | None = None,
        weight_kg: float | None = None,
        *,
        log_pending: bool = False,
    ) -> None:
        self.config = config or default_config()
        setup = Setup(config=self.config, weight_kg=weight_kg, log_pending=log_pending)
        self._rules: tuple[RuleState, ...] = tuple(rule.incremental(setup) for rule in RULES)
        self._by_id = {state.rule: state for state in self._rules}
        self._delta_p = self._one(DeltaPRiseState)
        self._flow_low = self._one(FlowLowState)
        self._stale = self._one(DataStaleState)
        self._trend = self._one(ResistanceTrendState)
        # the feed first (valid data ends a stale feed), then the circuit's events, then
        # every other rule on the frame's values, in catalog order; a rule that reads
        # only lab channels (a frame seldom carries one) only on a frame that has one
        labs = frozenset(LAB_COLUMNS)
        on_labs = [s for s in self._rules if s.reads and labs.issuperset(s.reads)]
        always = [s for s in self._rules if s not in on_labs]
        self._feed = self._stale.step
        self._judges = tuple(s.step for s in always if s is not self._stale)
        self._lab_judges = tuple(s.step for s in on_labs)
        # lab channels are cleaned only on a frame that carries one (seldom)
        self._channels = tuple(c for c in _channels(always) if c not in labs)
        self._lab_channels = tuple(c for c in _channels(self._rules) if c in labs)
        self._labs = labs
        self._clean: dict[str, float | None] = dict.fromkeys(self._channels + self._lab_channels)
        self._last_t: float | None = None
        self.frames = 0

    def _one(self, kind: type[S]) -> S:
        (state,) = (s for s in self._rules if isinstance(s, kind))
        return state

    # -- frames ------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Transition]:
        """Judge one frame; the transitions it caused (usually none)."""
        t = frame.timestamp
        if self._last_t is not None and t < self._last_t:
            return []
        self._last_t = t
        self.frames += 1
        t_us = round(t * 1e6)
        values, mask, clean = frame.values, frame.artifacts, self._clean
        valid = clean_value
        for name in self._channels:
            clean[name] = valid(values, mask, name)
        out: list[Transition] = []
        self._feed(t, t_us, values, clean, out)
        if frame.event:
            kind = frame.event.strip().lower()
            for state in self._rules:
                state.event(kind, t, out)
        has_labs = not self._labs.isdisjoint(values)
        if has_labs:
            for name in self._lab_channels:
                clean[name] = valid(values, mask, name)
        for judge in self._judges:
            judge(t, t_us, values, clean, out)
        if has_labs:
            for judge in self._lab_judges:
                judge(t, t_us, values, clean, out)
            for name in self._lab_channels:
                clean[name] = None
        return out

    def tick(self, now: float) -> list[Transition]:
        """Live only: raise ``data_stale`` when no valid frame came for the quiet time."""
        return self._stale.tick(now)

    @property
    def gaps(self) -> list[Gap]:
        """Stretches without valid frames longer than ``data_stale.recording_gap_s``."""
        return self._stale.gaps

    # -- labs, patient settings --------------------------------------------------------
    def add_lab(
        self, analyte: str, value: float, time: float, unit: str | None = None
    ) -> list[Transition]:
        """A laboratory result entered by hand (any name or unit ``adapters.labs`` knows).

        ``adapters.labs.LabError`` (a ValueError) with a sentence for an unknown analyte
        or unit, a value that is not a finite number, or an implausible value.
        """
        name, number = lab_value(analyte, value, unit)
        out: list[Transition] = []
        for state in self._rules:
            out += state.lab(name, number, time)
        return out

    def set_weight(self, kg: float | None) -> None:
        """Patient weight (kg) for the mL/kg/min flow minimum; None removes it."""
        self._flow_low.set_patient(kg, self._flow_low.minimum)

    def set_flow_minimum(self, ml_kg_min: float | None) -> None:
        """Prescribed minimum flow in mL/kg/min (None: the configured default)."""
        self._flow_low.set_patient(self._flow_low.weight_kg, ml_kg_min)

    # -- acknowledgement and snapshots --------------------------------------------------
    def acknowledge(
        self, rule: str, user: str, role: str, time: float, note: str = ""
    ) -> Acknowledgement:
        """Acknowledge ``rule``'s alert; NothingToAcknowledge if none is waiting."""
        state = self._by_id.get(rule)
        if state is None:
            raise ValueError(f"Unknown rule {rule!r}; the rules are {', '.join(RULE_IDS)}.")
        return state.life.acknowledge(time, user, role, note)

    def alerts(self, include_pending: bool = False) -> list[AlertState]:
        """Alerts to show now, most urgent first (pending ones too on request)."""
        now = self._last_t or 0.0
        shown = (state.alert(include_pending, now) for state in self._rules)
        return sorted((a for a in shown if a is not None), key=alert_sort_key)

    def forecasts(self, now: float | None = None) -> list[Forecast]:
        """The delta P forecast for the medium and the high limit as of ``now`` (default:
        the newest frame's time): advice, never an alarm (``forecast.py``)."""
        return self._trend.forecasts(self._last_t or 0.0 if now is None else now)

    def baseline(self) -> Baseline:
        """The delta P baseline in force (or being collected), with the rise now."""
        return self._delta_p.baseline()

    def baselines(self) -> list[Baseline]:
        """Every delta P baseline started so far, oldest first, the current one last
        (see ``baseline.resistance_in_force``)."""
        return self._delta_p.collector.baselines()

    def episodes(self) -> list[Episode]:
        """Every episode so far (end None while still active), in time order."""
        found = (e for state in self._rules for e in state.track.episodes())
        return sorted(found, key=episode_sort_key)
