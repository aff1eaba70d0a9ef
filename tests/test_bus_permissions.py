"""The shipped server configuration (docs/deploy/nats-server.conf), on a real nats-server.

With it, a bed's user publishes its own frames and answers its own action requests, and
nothing else: it cannot publish on another bed's subjects, read another bed's frames or
take another bed's requests; a central station's user reads every bed and asks for
actions, and cannot publish frames, alarms or heartbeats.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
import pytest

from adapters import FakeSource, Frame
from monitor.bus import (
    ActionResponder,
    BedPublisher,
    BrokerSettings,
    FrameMessage,
    LocalNatsServer,
    make_action_key,
)
from monitor.central import CentralStation
from monitor.runtime import Session
from monitor.store import AlarmStore
from tests.bus_helpers import run_async, wait_until

CONFIG = Path(__file__).resolve().parents[1] / "docs" / "deploy" / "nats-server.conf"
PASSWORDS = {"BED_1_PASSWORD": "b1-secret", "BED_2_PASSWORD": "b2-secret",
             "BED_3_PASSWORD": "b3-secret", "CENTRAL_PASSWORD": "c-secret"}  # fmt: skip
VALUES = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.1}


@pytest.fixture()
def secured(tmp_path):
    server = LocalNatsServer(tmp_path / "nats", config=CONFIG.read_text(), env=PASSWORDS).start()
    yield server
    server.stop()


def settings(server, user: str, password: str) -> BrokerSettings:
    return BrokerSettings(server.url, user=user, password=password)


async def _attempt(server, user, password, action) -> str:
    """What happened when ``user`` tried ``action(nc, js)``: 'ok' or the error's text."""
    errors: list[str] = []

    async def on_error(exc):
        errors.append(str(exc))

    options = settings(server, user, password).options()
    options["allow_reconnect"] = False
    try:
        nc = await nats.connect(**options, error_cb=on_error)
    except Exception as exc:  # an unknown user is not let in at all
        return f"not connected: {type(exc).__name__}"
    try:
        js = nc.jetstream(timeout=2)
        try:
            await action(nc, js)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc} {' '.join(errors)}"
        await asyncio.sleep(0.3)  # a refused subscription is reported asynchronously
        return "ok" if not errors else " ".join(errors)
    finally:
        await nc.close()


def attempt(server, user, password, action) -> str:
    return run_async(_attempt(server, user, password, action))


def frame(bed: str, seq: int) -> bytes:
    return FrameMessage(bed, seq, time.time(), VALUES).encode()


def test_the_shipped_configuration_keeps_each_user_to_its_own_subjects(tmp_path, secured):
    key = make_action_key(tmp_path / "action.key")
    central = CentralStation(settings(secured, "central", "c-secret"), action_key=key).start()
    wait_until(lambda: central.status().connected, what="the central (which makes the streams)")
    (tmp_path / "bed").mkdir()
    source = FakeSource("console", kind="serial")
    session = Session(source, store=AlarmStore(tmp_path / "bed", bed="bed-1"), bed_id="bed-1")
    session.start()
    publisher = BedPublisher(session, settings(secured, "bed-1", "b1-secret"))
    publisher.responder = ActionResponder(session, key)
    publisher.start()
    try:
        for _ in range(5):
            source.push(Frame.build(time.time(), VALUES))
        # the bed's own work goes through: frames to the central, an action answered
        wait_until(lambda: getattr(central.bed("bed-1"), "frames", 0) == 5, what="5 frames")
        reply = central.request("bed-1", "event", {"kind": "note"}, "sam", "specialist")
        assert reply["result"] == "ok", reply
        assert not any(a.rule == "broker_unreachable" for a in session.alerts())

        async def publish_other_bed(nc, js):
            await js.publish("ecmo.bed-1.frame", frame("bed-1", 999))

        async def read_other_bed(nc, js):
            await js.get_last_msg("ECMO", "ecmo.bed-1.frame", direct=True)

        async def take_other_requests(nc, js):
            await nc.subscribe("ecmo.bed-1.action")

        async def read_others_inbox(nc, js):
            await nc.subscribe("_INBOX_central.>")

        for action in (publish_other_bed, read_other_bed, take_other_requests, read_others_inbox):
            outcome = attempt(secured, "bed-2", "b2-secret", action)
            assert outcome != "ok", action.__name__

        async def publish_a_frame(nc, js):
            await js.publish("ecmo.bed-1.frame", frame("bed-1", 998))

        async def publish_a_status(nc, js):
            await js.publish("ecmo.bed-1.status", b"{}")

        for action in (publish_a_frame, publish_a_status):
            assert attempt(secured, "central", "c-secret", action) != "ok", action.__name__
        assert attempt(secured, "nobody", "guess", publish_a_frame) != "ok"
        # nothing forged reached the stream: bed-1 has its own five frames and the event's
        time.sleep(0.5)
        assert central.bed("bed-1").last_seq == 6 and central.bed("bed-2") is None
    finally:
        publisher.stop()
        session.stop()
        central.stop()
