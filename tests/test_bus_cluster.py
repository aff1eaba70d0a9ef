"""Three nats-servers clustered on loopback, streams with three replicas: one stops, nothing
is lost and the central keeps updating.

Three beds (Sessions fed by FakeSource, publishing to all three servers) send frames at
20 Hz; a central station reads from all three. The server leading the frame stream is
stopped for good in the middle: every bed's frames end in the stream exactly once, and the central holds
them all, including those sent after the stop.
"""

from __future__ import annotations

import threading
import time

import nats
import pytest

from adapters import FakeSource, Frame
from monitor.bus import STREAM, BedPublisher, BrokerSettings
from monitor.bus.server import local_cluster
from monitor.central import CentralStation
from monitor.runtime import Session
from tests.bus_helpers import frame_numbers, run_async, wait_until

pytestmark = pytest.mark.slow
BEDS = ("bed-1", "bed-2", "bed-3")


@pytest.fixture()
def cluster(tmp_path):
    servers = local_cluster(tmp_path / "cluster")
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


async def _leader(url: str) -> str:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(STREAM)).cluster.leader
    finally:
        await nc.close()


def test_the_stream_leader_of_three_stops_and_nothing_is_lost(cluster):
    urls = ",".join(s.url for s in cluster)
    settings = BrokerSettings(urls, replicas=3)
    central = CentralStation(settings).start()
    wait_until(lambda: central.status().connected, timeout=30, what="the cluster's streams")
    beds = []
    for bed in BEDS:
        source = FakeSource("console", kind="serial")
        session = Session(source, bed_id=bed)
        session.start()
        beds.append((source, session, BedPublisher(session, settings).start()))
    sent = {bed: 0 for bed in BEDS}
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            for (source, _, _), bed in zip(beds, BEDS, strict=True):
                source.push(
                    Frame.build(time.time(), {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.0})
                )
                sent[bed] += 1
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        wait_until(
            lambda: all(central.bed(b) and central.bed(b).frames > 40 for b in BEDS), timeout=20
        )
        # the hardest one to lose: the server leading the frame stream
        leader = run_async(_leader(cluster[0].url))
        victim = next(i for i, server in enumerate(cluster) if server.name == leader)
        cluster[victim].stop()
        at_stop = {b: central.bed(b).last_seq for b in BEDS}
        time.sleep(6)
        stop.set()
        feeder.join()
        for bed in BEDS:
            wait_until(
                lambda b=bed: central.bed(b).last_seq == sent[b],
                timeout=30,
                what=f"{bed} at the central",
            )
            assert central.bed(bed).last_seq > at_stop[bed] + 50  # it kept updating
            assert len(central.bed(bed).buffer) == sent[bed]
        alive = next(s for i, s in enumerate(cluster) if i != victim)
        for bed in BEDS:
            assert frame_numbers(alive.url, bed) == {n: 1 for n in range(1, sent[bed] + 1)}
    finally:
        stop.set()
        for _, session, publisher in beds:
            publisher.stop()
            session.stop()
        central.stop()
