"""HL7 v2 to a hospital interface engine: IHE PCD-01 observations (ORU^R01) and IHE PCD
ACM alarms (ORU^R40) over MLLP, each acknowledged, from an on-disk outbox.

- ``codes``: the code table (MDC, SNOMED CT, LOINC, local codes) and UCUM units;
- ``messages``: the messages, built and validated with hl7apy;
- ``outbox``: the bounded, ordered, on-disk queue;
- ``bed``: what the link reads of a bed, its status, its settings;
- ``link``: the feeder (session -> outbox) and the sender (outbox -> MLLP) threads;
- ``ward``: a central station's links, one per bed it holds from the bus.
"""

from monitor.hl7.bed import (
    BedView,
    LinkError,
    LinkStatus,
    check_device_id,
    check_interval,
    parse_url,
)
from monitor.hl7.link import HL7_ALARM, HL7Link
from monitor.hl7.messages import (
    AlarmEvent,
    HL7Error,
    Party,
    alarm_message,
    observation_message,
    read_ack,
)
from monitor.hl7.outbox import Outbox
from monitor.hl7.ward import WardLinks

__all__ = [
    "HL7_ALARM",
    "AlarmEvent",
    "BedView",
    "HL7Error",
    "HL7Link",
    "LinkError",
    "LinkStatus",
    "Outbox",
    "Party",
    "WardLinks",
    "alarm_message",
    "check_device_id",
    "check_interval",
    "observation_message",
    "parse_url",
    "read_ack",
]
