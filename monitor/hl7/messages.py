"""HL7 v2.6 messages of the link, built and checked with hl7apy (not by string joining).

- :func:`observation_message`: IHE PCD-01 ORU^R01 with MSH (MSH-21 the PCD-01 profile),
  PID, PV1 (the bed in PV1-3), OBR and one OBX per value at hand (value, UCUM unit,
  observation time, the device in OBX-18 and its containment path in OBX-4).
- :func:`alarm_message`: IHE PCD ACM ORU^R40 for one alarm log row (activation,
  escalation, acknowledgement, end): the event, its source value and limit, phase,
  state, inactivation state (with who acknowledged), priority and type. hl7apy has no
  ORU_R40 structure; IHE PCD TF-2 gives it the ORU_R01 groups, so it is built and
  validated as one with MSH-9 ``ORU^R40^ORU_R40``.
- :func:`read_ack`: MSA-1 and MSA-2 of an acknowledgement.

hl7apy validates each message against the HL7 2.6 message structure before it is queued.
Why hl7apy: it knows the 2.6 structures and datatypes and validates; python-hl7 parses
and has an asyncio MLLP client but builds messages only from raw containers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from monitor.hl7 import codes

VERSION = "2.6"
#: The characters HL7 uses as separators; text values are escaped with hl7apy's rules.
_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}


class HL7Error(ValueError):
    """A message that cannot be built or an acknowledgement that cannot be read."""


def hl7_time(seconds: float) -> str:
    """HL7 DTM in UTC with milliseconds: ``20260101080000.000+0000``."""
    when = datetime.fromtimestamp(seconds, tz=UTC)
    return when.strftime("%Y%m%d%H%M%S.") + f"{when.microsecond // 1000:03d}+0000"


def text(value: str, limit: int = 200) -> str:
    """Free text for a field: HL7 separators escaped, control characters dropped."""
    clean = "".join(ch for ch in str(value)[:limit] if ch.isprintable())
    return "".join(_ESCAPES.get(ch, ch) for ch in clean)


@dataclass(frozen=True, slots=True)
class Party:
    """Who and where: the sending device, the patient and the bed."""

    bed: str
    patient_id: str
    device_id: str  # EUI-64, 16 hex digits

    @property
    def equipment(self) -> str:
        return f"{self.device_id}^^{self.device_id}^EUI-64"


def _message(kind: str, control_id: str, time: float, party: Party, profile: str):
    message = Message("ORU_R01", version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    msh = message.msh
    msh.msh_3 = f"ECMO-MONITOR^{party.device_id}^EUI-64"
    msh.msh_4 = "ecmo-monitor"
    msh.msh_7 = hl7_time(time)
    msh.msh_9 = kind
    msh.msh_10 = control_id
    msh.msh_11 = "P"
    msh.msh_12 = VERSION
    msh.msh_15 = "AL"
    msh.msh_16 = "NE"
    msh.msh_21 = profile
    result = message.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    patient.pid.pid_3 = f"{text(party.patient_id, 40)}^^^^MR"
    patient.pid.pid_5 = "^^^^^^U"  # the name is the record's business, not the monitor's
    visit = patient.add_group("ORU_R01_VISIT")
    visit.pv1.pv1_2 = "I"
    visit.pv1.pv1_3 = f"^^{text(party.bed, 40)}"
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    return message, order


def _obx(order, n: int, identifier: str, kind: str, value: str, **fields) -> None:
    obx = order.add_group("ORU_R01_OBSERVATION").obx
    obx.obx_1 = str(n)
    obx.obx_2 = kind
    obx.obx_3 = identifier
    obx.obx_5 = value
    obx.obx_11 = "F"
    for name, field in fields.items():
        setattr(obx, name, field)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _done(message) -> str:
    try:
        message.validate()
    except HL7apyException as exc:  # a defect here, never the data's
        raise HL7Error(f"The HL7 message does not validate: {exc}") from None
    return message.to_er7()


def observation_message(
    control_id: str,
    time: float,
    party: Party,
    values: Mapping[str, tuple[float, float]],
) -> str:
    """ORU^R01 of the values at hand at ``time``: channel -> (observation time, value)."""
    message, order = _message("ORU^R01^ORU_R01", control_id, time, party, codes.PROFILE_PCD01)
    order.obr.obr_1 = "1"
    order.obr.obr_3 = f"{control_id}^ecmo-monitor"
    order.obr.obr_4 = codes.OBR_OBSERVATIONS
    order.obr.obr_7 = hl7_time(time)
    n = 0
    for position, (channel, code) in enumerate(codes.OBSERVATIONS.items(), start=1):
        got = values.get(channel)
        if got is None or not math.isfinite(got[1]):
            continue
        n += 1
        _obx(
            order, n, code.identifier, "NM", _number(got[1]),
            obx_4=f"1.1.1.{position}", obx_6=code.units, obx_14=hl7_time(got[0]),
            obx_18=party.equipment,
        )  # fmt: skip
    return _done(message)


#: Alarm log state -> (event phase, alarm state, inactivation state).
_PHASES = {
    "start": ("start", "active", "enabled"),
    "escalate": ("escalate", "active", "enabled"),
    "de-escalate": ("de-escalate", "active", "enabled"),
    "acknowledged": ("update", "active", "acknowledged"),
    "cleared": ("end", "inactive", "enabled"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmEvent:
    """One alarm log row as the link reports it."""

    time: float
    rule: str
    title: str
    priority: str
    phase: str  # start | escalate | de-escalate | acknowledged | cleared
    technical: bool
    message: str
    value: float | None = None
    unit: str = ""
    limit: float | None = None
    user: str | None = None
    role: str | None = None


def alarm_message(control_id: str, party: Party, event: AlarmEvent) -> str:
    """ORU^R40 (IHE PCD ACM, Report Alert) of one alarm log row."""
    message, order = _message("ORU^R40^ORU_R40", control_id, event.time, party, codes.PROFILE_ACM)
    order.obr.obr_1 = "1"
    order.obr.obr_3 = f"{control_id}^ecmo-monitor"
    order.obr.obr_4 = codes.OBR_ALARM
    order.obr.obr_7 = hl7_time(event.time)
    phase, state, inactivation = _PHASES[event.phase]
    common = {"obx_14": hl7_time(event.time), "obx_18": party.equipment}
    _obx(
        order, 1, codes.alarm_code(event.rule, text(event.title, 80)), "ST",
        text(event.message), obx_4="1.0.0.0.1", **common,
    )  # fmt: skip
    source = {"obx_4": "1.0.0.0.2", **common}
    if event.limit is not None and math.isfinite(event.limit):
        source["obx_7"] = text(f"limit {_number(event.limit)}")
    if event.unit:
        source["obx_6"] = f"{text(event.unit, 20)}^{text(event.unit, 20)}^UCUM"
    if event.value is not None and math.isfinite(event.value):
        _obx(order, 2, codes.ALERT_SOURCE, "NM", _number(event.value), **source)
    else:
        _obx(order, 2, codes.ALERT_SOURCE, "ST", text(event.rule), **source)
    _obx(order, 3, codes.EVENT_PHASE, "ST", phase, obx_4="1.0.0.0.3", **common)
    _obx(order, 4, codes.ALARM_STATE, "ST", state, obx_4="1.0.0.0.4", **common)
    who = {}
    if event.user:
        who["obx_16"] = f"{text(event.user, 40)}^{text(event.role or '', 20)}"
    _obx(order, 5, codes.INACTIVATION_STATE, "ST", inactivation, obx_4="1.0.0.0.5", **common, **who)
    priority = codes.PRIORITIES.get(event.priority, "PN")
    _obx(order, 6, codes.ALARM_PRIORITY, "ST", priority, obx_4="1.0.0.0.6", **common)
    kind = "ST" if event.technical else "SP"
    _obx(order, 7, codes.ALERT_TYPE, "ST", kind, obx_4="1.0.0.0.7", **common)
    return _done(message)


def read_ack(raw: str) -> tuple[str, str]:
    """(MSA-1, MSA-2) of an acknowledgement; HL7Error if it is not one."""
    try:
        ack = parse_message(raw.replace("\n", "\r"), validation_level=VALIDATION_LEVEL.TOLERANT)
        msa = ack.msa
        return msa.msa_1.to_er7(), msa.msa_2.to_er7()
    except (HL7apyException, AttributeError, IndexError, KeyError, ValueError) as exc:
        raise HL7Error(f"The reply is not an HL7 acknowledgement ({type(exc).__name__}).") from None
