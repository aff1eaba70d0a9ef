"""Many beds over NATS JetStream (DESIGN.md section 9): a bed publishes, central stations
subscribe. Nothing here runs without ``--publish`` or ``central``.

- ``messages``: subjects, stream names and the JSON of frames, alarms and status;
- ``connection``: broker settings, connecting, the streams;
- ``actions``: acknowledge, event and lab requests from a central, signed, applied by the bed;
- ``publisher``: a bed's frames, alarm log and heartbeat to the broker, resent after an outage;
- ``loop``: the one asyncio event loop in a thread that nats-py runs in;
- ``server``: a local nats-server for the demo and the tests.
"""

from monitor.bus.actions import (
    ALREADY,
    OK,
    REFUSED,
    ActionResponder,
    make_action_key,
    read_action_key,
    sign_request,
)
from monitor.bus.connection import BrokerSettings, connect, ensure_streams, stay_connected
from monitor.bus.errors import BusError
from monitor.bus.loop import BusLoop
from monitor.bus.messages import (
    ACTION,
    STATUS_STREAM,
    STREAM,
    AlarmMessage,
    AlertSummary,
    FrameMessage,
    StatusMessage,
    check_bed_id,
    subject,
)
from monitor.bus.publisher import BROKER_ALARM, BedPublisher, PublisherStatus
from monitor.bus.server import LocalNatsServer, free_port, nats_server_binary

__all__ = [
    "ACTION",
    "ALREADY",
    "BROKER_ALARM",
    "OK",
    "REFUSED",
    "STATUS_STREAM",
    "STREAM",
    "ActionResponder",
    "AlarmMessage",
    "AlertSummary",
    "BedPublisher",
    "BrokerSettings",
    "BusError",
    "BusLoop",
    "FrameMessage",
    "LocalNatsServer",
    "PublisherStatus",
    "StatusMessage",
    "check_bed_id",
    "connect",
    "ensure_streams",
    "free_port",
    "make_action_key",
    "nats_server_binary",
    "read_action_key",
    "sign_request",
    "stay_connected",
    "subject",
]
