"""What travels on the bus, as JSON, and the subjects it travels on (DESIGN.md section 9).

| subject | message | stored |
| --- | --- | --- |
| ``ecmo.<bed>.frame`` | :class:`FrameMessage`, id ``<bed>:<seq>`` | stream ``ECMO``, 72 h |
| ``ecmo.<bed>.alarm`` | :class:`AlarmMessage`, id ``<bed>:alarm:<id>`` | stream ``ECMO``, 72 h |
| ``ecmo.<bed>.status`` | :class:`StatusMessage`, each second | stream ``ECMO_STATUS``, the latest per bed |
| ``ecmo.<bed>.action`` | an action request and its reply (``actions.py``) | not stored |

Every decoder is a parser of outside bytes: it returns a message whose every field has
the type and range it promises, or raises :class:`BusError`; nothing else.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from adapters import NUMERIC_COLUMNS
from monitor.bus.errors import BusError

STREAM = "ECMO"
STATUS_STREAM = "ECMO_STATUS"
KEEP_SECONDS = 72 * 3600
FRAME, ALARM, STATUS, ACTION = "frame", "alarm", "status", "action"
#: A bed id is one subject token: letters, digits, dash and underscore.
BED_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_MESSAGE_BYTES = 64 * 1024
_MAX_TEXT = 2000
_CHANNELS = frozenset(NUMERIC_COLUMNS)
_PRIORITIES = frozenset({"low", "medium", "high"})
_STATES = frozenset({"pending", "normal", "active", "acknowledged", "cleared"})
_EARLIEST, _LATEST = 315532800.0, 4102444800.0  # 1980 to 2100, as the recording reader


def check_bed_id(bed: str) -> str:
    if not isinstance(bed, str) or not BED_ID.fullmatch(bed):
        raise BusError(
            f"Bed id {bed!r} cannot be a subject token; use 1-64 letters, digits, - or _."
        )
    return bed


def subject(bed: str, kind: str) -> str:
    return f"ecmo.{check_bed_id(bed)}.{kind}"


def frame_id(bed: str, seq: int) -> str:
    return f"{bed}:{seq}"


def alarm_id(bed: str, ident: int) -> str:
    return f"{bed}:alarm:{ident}"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def _document(data: bytes, what: str) -> dict:
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) > MAX_MESSAGE_BYTES:
        raise BusError(f"A {what} message over {MAX_MESSAGE_BYTES} bytes was refused.")
    try:
        document = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BusError(f"A {what} message that is not JSON was refused.") from None
    if not isinstance(document, dict):
        raise BusError(f"A {what} message that is not a JSON object was refused.")
    return document


def _get(document: dict, key: str, kind, what: str, optional: bool = False):
    value = document.get(key)
    if value is None and optional:
        return None
    ok = (
        isinstance(value, bool)
        if kind is bool
        else isinstance(value, kind) and not isinstance(value, bool)
    )
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok or (kind is float and not math.isfinite(value)):
        raise BusError(f"A {what} message with a bad {key!r} was refused.")
    if kind is str and len(value) > _MAX_TEXT:
        raise BusError(f"A {what} message with an overlong {key!r} was refused.")
    return value


def _time(document: dict, key: str, what: str, optional: bool = False) -> float | None:
    value = _get(document, key, float, what, optional)
    if value is not None and not _EARLIEST <= value < _LATEST:
        raise BusError(f"A {what} message with a time outside 1980-2099 was refused.")
    return value


def _bed(document: dict, what: str) -> str:
    bed = _get(document, "bed", str, what)
    if not BED_ID.fullmatch(bed):
        raise BusError(f"A {what} message with a bad bed id was refused.")
    return bed


@dataclass(frozen=True, slots=True)
class FrameMessage:
    bed: str
    seq: int
    time: float
    values: dict[str, float]
    mask: int = 0
    event: str | None = None

    def encode(self) -> bytes:
        payload = {"bed": self.bed, "seq": self.seq, "t": self.time, "v": self.values}
        if self.mask:
            payload["m"] = self.mask
        if self.event:
            payload["e"] = self.event
        return encode(payload)

    @classmethod
    def decode(cls, data: bytes) -> FrameMessage:
        doc = _document(data, FRAME)
        seq = _get(doc, "seq", int, FRAME)
        mask = _get(doc, "m", int, FRAME, optional=True) or 0
        if seq < 1 or not 0 <= mask < 1 << len(NUMERIC_COLUMNS):
            raise BusError("A frame message with a bad 'seq' or 'm' was refused.")
        values = _get(doc, "v", dict, FRAME)
        clean: dict[str, float] = {}
        for name in values:
            if name not in _CHANNELS:
                raise BusError("A frame message with an unknown channel was refused.")
            clean[name] = _get(values, name, float, FRAME)
        return cls(
            _bed(doc, FRAME),
            seq,
            _time(doc, "t", FRAME),
            clean,
            mask,
            _get(doc, "e", str, FRAME, optional=True),
        )


@dataclass(frozen=True, slots=True)
class AlarmMessage:
    """One alarm-log row of a bed: ``ident`` is its row id in the bed's store."""

    bed: str
    ident: int
    time: float
    rule: str
    priority: str
    state: str
    message: str
    value: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    user: str | None = None
    role: str | None = None
    note: str | None = None

    @property
    def id(self) -> int:
        """The row id, as the bed's store names it (``LogEntry.id``)."""
        return self.ident

    def encode(self) -> bytes:
        payload = {
            "bed": self.bed, "id": self.ident, "t": self.time, "rule": self.rule,
            "priority": self.priority, "state": self.state, "message": self.message,
        }  # fmt: skip
        for key in ("value", "threshold", "baseline", "user", "role", "note"):
            value = getattr(self, key)
            if value is not None:
                payload[key] = value
        return encode(payload)

    @classmethod
    def decode(cls, data: bytes) -> AlarmMessage:
        doc = _document(data, ALARM)
        ident = _get(doc, "id", int, ALARM)
        priority = _get(doc, "priority", str, ALARM)
        state = _get(doc, "state", str, ALARM)
        if ident < 1 or priority not in _PRIORITIES or state not in _STATES:
            raise BusError("An alarm message with a bad id, priority or state was refused.")
        return cls(
            _bed(doc, ALARM), ident, _time(doc, "t", ALARM), _get(doc, "rule", str, ALARM),
            priority, state, _get(doc, "message", str, ALARM),
            *(_get(doc, k, float, ALARM, True) for k in ("value", "threshold", "baseline")),
            *(_get(doc, k, str, ALARM, True) for k in ("user", "role", "note")),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlertSummary:
    rule: str
    priority: str
    state: str
    since: float
    message: str = ""
    technical: bool = False

    def as_dict(self) -> dict:
        return {"rule": self.rule, "priority": self.priority, "state": self.state,
                "since": self.since, "message": self.message, "technical": self.technical}  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """A bed's heartbeat: what a central tile shows besides the trends."""

    bed: str
    sent: float
    label: str
    source_state: str
    last_seq: int
    quiet_s: float
    weight_kg: float | None = None
    newest_frame_time: float | None = None
    frame_age_s: float | None = None  # at the bed, when it sent this (clocks may differ)
    delta_p_rise: float | None = None
    alerts: tuple[AlertSummary, ...] = field(default_factory=tuple)
    resistance: float | None = None  # the baseline in force, mmHg per L/min (None: none yet)
    baseline_since: float | None = None  # when that baseline was established (POSIX s)

    def encode(self) -> bytes:
        return encode(
            {
                "bed": self.bed, "sent": self.sent, "label": self.label,
                "source": self.source_state, "seq": self.last_seq, "quiet_s": self.quiet_s,
                "weight_kg": self.weight_kg, "newest": self.newest_frame_time,
                "age": self.frame_age_s, "dp_rise": self.delta_p_rise, "alerts": [a.as_dict() for a in self.alerts],
                "resistance": self.resistance, "baseline_since": self.baseline_since,
            }
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> StatusMessage:
        doc = _document(data, STATUS)
        alerts = _get(doc, "alerts", list, STATUS)
        if len(alerts) > 100 or not all(isinstance(a, dict) for a in alerts):
            raise BusError("A status message with bad alerts was refused.")
        summaries = []
        for a in alerts:
            priority, state = _get(a, "priority", str, STATUS), _get(a, "state", str, STATUS)
            if priority not in _PRIORITIES or state not in _STATES:
                raise BusError("A status message with a bad alert was refused.")
            summaries.append(
                AlertSummary(
                    _get(a, "rule", str, STATUS), priority, state, _time(a, "since", STATUS),
                    _get(a, "message", str, STATUS, True) or "",
                    bool(_get(a, "technical", bool, STATUS, True)),
                )
            )  # fmt: skip
        seq = _get(doc, "seq", int, STATUS)
        quiet = _get(doc, "quiet_s", float, STATUS)
        age = _get(doc, "age", float, STATUS, True)
        if seq < 0 or not 0 < quiet <= 3600 or (age is not None and age < 0):
            raise BusError("A status message with a bad 'seq', 'quiet_s' or 'age' was refused.")
        return cls(
            _bed(doc, STATUS), _time(doc, "sent", STATUS), _get(doc, "label", str, STATUS),
            _get(doc, "source", str, STATUS), seq, quiet,
            _get(doc, "weight_kg", float, STATUS, True), _time(doc, "newest", STATUS, True),
            age, _get(doc, "dp_rise", float, STATUS, True), tuple(summaries),
            _get(doc, "resistance", float, STATUS, True), _time(doc, "baseline_since", STATUS, True),
        )  # fmt: skip
