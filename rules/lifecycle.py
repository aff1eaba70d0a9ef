"""The alarm lifecycle: priorities, alert states, transitions, acknowledgement and latching.

A rule's alert is at the highest of its active priority levels (when a level is
active is decided in ``timing.py``). :class:`AlertLifecycle` turns its changes into
:class:`Transition` records (DESIGN.md section 4): normal -> pending -> active ->
cleared, each an :class:`AlertStatus`; an acknowledgement records who, when, their role and a note; a
latching priority (high by default) that clears before anyone acknowledged it stays
shown as "cleared, unacknowledged"; escalation to a higher priority makes an
acknowledged alert unacknowledged again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def level(self) -> int:
        return _LEVEL[self]

    @classmethod
    def of_level(cls, level: int) -> Priority:
        return _PRIORITIES[level - 1]


_PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.HIGH)
_LEVEL = {p: i + 1 for i, p in enumerate(_PRIORITIES)}


class AlertStatus(StrEnum):
    """Where an alert stands; equal to its value as a plain string (``"active"``)."""

    NORMAL = "normal"  # no alert: a pending condition went away before its on-delay
    PENDING = "pending"  # the condition is met and its on-delay runs
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the condition cleared; shown while latched, unacknowledged


class NothingToAcknowledge(ValueError):
    """Raised when an acknowledgement names a rule with no alert waiting for one."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of an alert's state, as the alarm log records it.

    ``state`` is one of ``pending`` (condition met, on-delay running), ``normal`` (the
    condition went away before the on-delay), ``active`` (the alert is at ``priority``:
    first activation, escalation or de-escalation), ``acknowledged`` and ``cleared``.
    ``time`` is POSIX seconds. ``threshold`` is the limit in force for ``priority``;
    ``baseline`` the reference the value was judged against, when the rule has one.
    """

    time: float
    rule: str
    priority: Priority
    state: AlertStatus
    value: float | None
    threshold: float | None
    baseline: float | None
    message: str
    user: str | None = None
    role: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if type(self.state) is not AlertStatus:  # a caller's plain string
            object.__setattr__(self, "state", AlertStatus(self.state))


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Who acknowledged which alert, when, in what role, with what note."""

    time: float
    rule: str
    priority: Priority
    user: str
    role: str
    note: str = ""
    message: str = ""

    def transition(self) -> Transition:
        """The alarm-log record of this acknowledgement."""
        return Transition(
            time=self.time,
            rule=self.rule,
            priority=self.priority,
            state=AlertStatus.ACKNOWLEDGED,
            value=None,
            threshold=None,
            baseline=None,
            message=self.message,
            user=self.user,
            role=self.role,
            note=self.note,
        )


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the page shows for one rule's alert right now.

    ``state`` is ``active``, ``acknowledged``, ``cleared`` (cleared but latched, waiting
    for an acknowledgement) or, when asked for, ``pending``; ``since`` is when the alert
    reached its current priority, or when it cleared.
    """

    rule: str
    priority: Priority
    state: AlertStatus
    latched: bool
    since: float
    value: float | None
    threshold: float | None
    message: str
    acknowledgement: Acknowledgement | None = None
    technical: bool = False

    def __post_init__(self) -> None:
        if type(self.state) is not AlertStatus:  # a caller's plain string
            object.__setattr__(self, "state", AlertStatus(self.state))


def alert_sort_key(alert: AlertState) -> tuple[int, bool, float]:
    """The order alerts are shown in: most urgent priority first, cleared ones after the
    others of their priority, then oldest first."""
    return (-alert.priority.level, alert.state == AlertStatus.CLEARED, alert.since)


class AlertLifecycle:
    """The mutable alert state of one rule in the incremental engine."""

    __slots__ = (
        "ack",
        "baseline",
        "cleared_at",
        "latched",
        "latching",
        "level",
        "message",
        "pending",
        "rule",
        "since",
        "technical",
        "threshold",
        "unacked_max",
        "value",
    )

    def __init__(self, rule: str, latching: frozenset[int], technical: bool = False) -> None:
        self.rule = rule
        self.latching = latching
        self.technical = technical
        self.level = 0
        self.pending = 0
        self.since = 0.0
        self.cleared_at = 0.0
        self.ack: Acknowledgement | None = None
        # the highest level reached since the last acknowledgement: decides the latch
        self.unacked_max = 0
        self.latched = False
        self.value: float | None = None
        self.threshold: float | None = None
        self.baseline: float | None = None
        self.message = ""

    def _record(self, time, level, state, value, threshold, baseline, message) -> Transition:
        return Transition(
            time=time,
            rule=self.rule,
            priority=Priority.of_level(level),
            state=state,
            value=value,
            threshold=threshold,
            baseline=baseline,
            message=message,
        )

    def set_pending(
        self, time: float, level: int, value, threshold, message: str
    ) -> list[Transition]:
        """Note that the condition of ``level`` (0: none) is met and its on-delay runs."""
        if self.level or level == self.pending:
            return []
        previous, self.pending = self.pending, level
        if level and not previous:
            return [self._record(time, level, AlertStatus.PENDING, value, threshold, None, message)]
        if previous and not level:
            return [
                self._record(time, previous, AlertStatus.NORMAL, value, threshold, None, message)
            ]
        return []

    def set_level(
        self, time: float, level: int, value, threshold, baseline, message: str
    ) -> list[Transition]:
        """Move the alert to ``level`` (0 clears it); the transition to log, if any."""
        if level == self.level:
            return []
        previous = self.level
        self.level, self.pending = level, 0
        self.value, self.threshold, self.baseline, self.message = (
            value,
            threshold,
            baseline,
            message,
        )
        if level:
            self.since = time
            if level > previous:
                self.ack = None  # escalation (or a new alert) needs a new acknowledgement
            if self.ack is None:
                self.unacked_max = max(self.unacked_max, level)
            return [
                self._record(time, level, AlertStatus.ACTIVE, value, threshold, baseline, message)
            ]
        self.cleared_at = time
        self.latched = self.unacked_max in self.latching
        if not self.latched:
            self.ack = None
        return [
            self._record(time, previous, AlertStatus.CLEARED, value, threshold, baseline, message)
        ]

    def end(self, time: float, message: str) -> list[Transition]:
        """End the alert outright (its reference was re-established): no latch remains."""
        out = []
        if self.level:
            out.append(
                self._record(
                    time, self.level, AlertStatus.CLEARED, self.value, self.threshold, None, message
                )
            )
        elif self.latched:
            out.append(
                self._record(time, self.unacked_max, AlertStatus.CLEARED, None, None, None, message)
            )
        self.level = self.pending = self.unacked_max = 0
        self.latched = False
        self.ack = None
        return out

    def acknowledge(self, time: float, user: str, role: str, note: str) -> Acknowledgement:
        if self.level:
            if self.ack is not None:
                raise NothingToAcknowledge(
                    f"The {self.rule} alert was already acknowledged by {self.ack.user} "
                    f"and has not escalated since."
                )
            priority = Priority.of_level(self.level)
        elif self.latched:
            priority = Priority.of_level(self.unacked_max)
        else:
            raise NothingToAcknowledge(f"There is no {self.rule} alert to acknowledge.")
        ack = Acknowledgement(time, self.rule, priority, user, role, note, self.message)
        self.unacked_max = 0
        if self.level:
            self.ack = ack
        else:
            self.latched = False
            self.ack = None
        return ack

    def snapshot(self, value: float | None, message: str) -> AlertState | None:
        """The page's view, with the live ``value`` and ``message`` while active."""
        if self.level:
            return AlertState(
                rule=self.rule,
                priority=Priority.of_level(self.level),
                state=AlertStatus.ACTIVE if self.ack is None else AlertStatus.ACKNOWLEDGED,
                latched=False,
                since=self.since,
                value=value,
                threshold=self.threshold,
                message=message,
                acknowledgement=self.ack,
                technical=self.technical,
            )
        if self.latched:
            return AlertState(
                rule=self.rule,
                priority=Priority.of_level(self.unacked_max),
                state=AlertStatus.CLEARED,
                latched=True,
                since=self.cleared_at,
                value=self.value,
                threshold=self.threshold,
                message=self.message,
                technical=self.technical,
            )
        return None
