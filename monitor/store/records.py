"""What the store gives back: immutable records of its rows, and its one error type."""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """The store cannot be opened or used, as one sentence that says what to do."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the alarm log: a transition as it was recorded."""

    id: int
    bed: str
    time: float
    rule: str
    priority: str
    state: str
    value: float | None
    threshold: float | None
    baseline: float | None
    user: str | None
    role: str | None
    note: str | None
    message: str


@dataclass(frozen=True, slots=True)
class AcknowledgementEntry:
    id: int
    bed: str
    time: float
    rule: str
    priority: str
    user: str
    role: str
    note: str
    message: str


@dataclass(frozen=True, slots=True)
class EventEntry:
    id: int
    bed: str
    time: float
    kind: str
    user: str | None
    note: str


@dataclass(frozen=True, slots=True)
class LabEntry:
    id: int
    bed: str
    time: float
    analyte: str
    value: float
    unit: str
    user: str | None


@dataclass(frozen=True, slots=True)
class BaselineResetEntry:
    id: int
    bed: str
    time: float
    user: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user of the monitor: name, role and the salted PBKDF2 hash of their PIN."""

    name: str
    role: str
    salt: bytes
    pin_hash: bytes
    iterations: int
    created: float


@dataclass(frozen=True, slots=True)
class SignInRecord:
    """One sign-in: who, from where, since when, last seen; ``ended`` once it is over."""

    name: str
    address: str
    started: float
    last_seen: float
    ended: float | None
    end_reason: str | None
