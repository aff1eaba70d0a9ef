"""Two central stations at once, each complete: neither takes anything from the other.

A real nats-server; a bed (a Session fed by FakeSource) publishing; two CentralStation
instances reading the same streams, one started before the frames and one after: each
holds every frame of the bed once, in order, and every alarm-log row.
"""

from __future__ import annotations

import time

from adapters import FakeSource, Frame
from monitor.bus import BedPublisher, BrokerSettings
from monitor.central import CentralStation
from monitor.runtime import Session
from monitor.store import AlarmStore
from tests.bus_helpers import wait_until

VALUES = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.0, "p_venous_mmhg": -40.0}


def test_two_central_stations_each_hold_every_frame_and_alarm_of_a_bed(tmp_path, nats_server):
    source = FakeSource("console", kind="serial")
    session = Session(source, store=AlarmStore(tmp_path, bed="bed-2"), bed_id="bed-2")
    session.start()
    publisher = BedPublisher(session, BrokerSettings(nats_server.url)).start()
    early = CentralStation(BrokerSettings(nats_server.url), name="ward-a").start()
    late = None
    try:
        t0 = time.time() - 60
        for i in range(300):  # a minute at 5 Hz, the last 10 s with suction
            suction = {"p_venous_mmhg": -140.0} if i >= 250 else {}
            source.push(
                Frame.build(t0 + 0.2 * i, {**VALUES, "pump_speed_rpm": 3000.0 + i, **suction})
            )
        wait_until(lambda: publisher.status().frames_published == 300, what="300 frames out")
        wait_until(lambda: publisher.status().alarms_published >= 2, what="alarm rows out")
        late = CentralStation(BrokerSettings(nats_server.url), name="ward-b").start()
        rows = publisher.status().alarms_published
        for station in (early, late):
            wait_until(
                lambda s=station: (r := s.bed("bed-2")) is not None and r.frames == 300
                and len(r.alarms) >= rows,
                timeout=15, what=f"{station.name} complete",
            )  # fmt: skip
            held = station.bed("bed-2").buffer.window()
            assert held["pump_speed_rpm"].tolist() == [3000.0 + i for i in range(300)]
            assert [a.ident for a in station.bed("bed-2").alarms] == list(range(1, rows + 1))
    finally:
        for station in (early, late):
            if station is not None:
                station.stop()
        publisher.stop()
        session.stop()
