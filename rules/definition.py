"""What a rule is to the engines: a record with its title, its channels and its two halves.

Each rule family's module (``delta_p``, ``flow``, ``pressures``, ``hemolysis``,
``data_stale``) defines one :class:`Rule` per rule id, with

- ``incremental``: builds the rule's running state (a :class:`RuleState`) that the
  incremental engine feeds a frame at a time, and
- ``batch``: judges a whole recording (:class:`columns.Columns`) at once and returns its
  :class:`Findings`.

The engines only loop over ``catalog.RULES``; a rule says which channels it reads
(``RuleState.reads``), so no engine wires a rule to a channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .baseline import Baseline
from .columns import Columns
from .config import RulesConfig
from .episodes import Episode, EpisodeTracker, Gap
from .lifecycle import AlertLifecycle, AlertState, Priority, Transition


def micros(seconds: float) -> int:
    """Integer microseconds, the time unit of every window and timer comparison."""
    return round(seconds * 1e6)


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    """What every rule is built with: the settings in force and the patient."""

    config: RulesConfig
    weight_kg: float | None = None
    #: Incremental engine only: log ``pending`` and ``normal`` transitions too.
    log_pending: bool = False

    @property
    def latching(self) -> frozenset[int]:
        """Priority levels that latch (``[alarms] latching``)."""
        return frozenset(Priority(p).level for p in self.config.alarms.latching)

    @property
    def hold_fraction(self) -> float:
        return self.config.timing.hold_fraction

    @property
    def freeze_us(self) -> int:
        return micros(self.config.timing.freeze_after_s)


@dataclass(frozen=True, slots=True)
class Findings:
    """What one rule found in a whole recording."""

    episodes: list[Episode] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    #: The forecasts of each whole hour (``forecast.Forecast``), from the rule that makes them.
    forecasts: list = field(default_factory=list)


class RuleState:
    """The running state of one rule in the incremental engine (a frame at a time).

    ``reads`` names the contract channels :meth:`step` reads from ``clean`` (each value
    present, plausible and not an artifact, else None); ``life`` is the alert's
    lifecycle and ``track`` its episodes.
    """

    __slots__ = ()
    rule: str
    reads: tuple[str, ...]
    life: AlertLifecycle
    track: EpisodeTracker

    def step(
        self,
        t: float,
        t_us: int,
        values: Mapping[str, float],
        clean: Mapping[str, float | None],
        out: list[Transition],
    ) -> None:
        """Judge one frame (time ``t`` s, ``t_us`` µs); append the transitions to ``out``."""
        raise NotImplementedError

    def event(self, kind: str, time: float, out: list[Transition]) -> None:
        """A circuit event (normalised text) at ``time``; most rules ignore them."""

    def lab(self, analyte: str, value: float, time: float) -> list[Transition]:
        """A result entered by hand or from a lab table (canonical analyte, plausible
        value, already validated); the rules of results judge it, the others ignore it."""
        return []

    def alert(self, include_pending: bool, now: float) -> AlertState | None:
        """What the page shows for this rule now, if anything."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One alert rule: its stable id, its title, what it is about, and its two halves.

    ``channels`` are the value channels the alert is about (the value tiles it colours
    on the page); the channels a rule reads to judge are its state's ``reads``.
    ``technical``: an alarm about the equipment, not the patient.
    """

    rule: str
    title: str
    channels: tuple[str, ...]
    technical: bool = False
    incremental: Callable[[Setup], RuleState]
    batch: Callable[[Columns, Setup], Findings]
