"""The telemetry buffer: bounded, ordered, window and cursor reads."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np

from adapters import Frame
from monitor.runtime import TelemetryBuffer

T0 = 1_767_254_400.0  # 2026-01-01T08:00:00Z


def frame(i: int, flow: float | None = None) -> Frame:
    return Frame.build(
        T0 + i,
        {
            "pump_speed_rpm": 3000.0 + i,
            "blood_flow_lpm": 4.0 if flow is None else flow,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": 180.0,
        },
    )


def test_buffer_holds_at_most_its_capacity_and_drops_the_oldest_first():
    buffer = TelemetryBuffer(capacity=100)
    buffer.extend(frame(i) for i in range(250))
    assert len(buffer) == 100
    assert buffer.dropped == 150
    data = buffer.window()
    assert data["pump_speed_rpm"].tolist() == [3000.0 + i for i in range(150, 250)]
    assert data["seq"].tolist() == list(range(151, 251))


def test_window_reads_only_the_recent_seconds_across_the_wrap():
    buffer = TelemetryBuffer(capacity=100)
    buffer.extend(frame(i) for i in range(130))  # wrapped: physical order differs
    data = buffer.window(seconds=9)
    assert data["pump_speed_rpm"].tolist() == [3000.0 + i for i in range(120, 130)]
    assert data["timestamp"].iloc[-1].timestamp() == T0 + 129


def test_window_ending_earlier_is_bounded_on_both_sides():
    buffer = TelemetryBuffer(capacity=1000)
    buffer.extend(frame(i) for i in range(500))
    data = buffer.window(seconds=10, end=T0 + 100)
    assert data["pump_speed_rpm"].tolist() == [3000.0 + i for i in range(90, 101)]


def test_since_cursor_returns_only_newer_frames_and_survives_a_missed_refresh():
    buffer = TelemetryBuffer(capacity=100)
    buffer.extend(frame(i) for i in range(10))
    assert buffer.since(7)["seq"].tolist() == [8, 9, 10]
    buffer.extend(frame(i) for i in range(10, 15))  # the client missed a refresh
    assert buffer.since(7)["seq"].tolist() == list(range(8, 16))
    assert buffer.since(15).empty


def test_since_a_cursor_older_than_the_buffer_gives_everything_held():
    buffer = TelemetryBuffer(capacity=10)
    buffer.extend(frame(i) for i in range(30))
    assert buffer.since(3)["seq"].tolist() == list(range(21, 31))
    assert buffer.since(3, limit=4)["seq"].tolist() == [21, 22, 23, 24]


def test_window_read_copies_so_later_writes_do_not_change_it():
    buffer = TelemetryBuffer(capacity=5)
    buffer.extend(frame(i) for i in range(5))
    data = buffer.window()
    buffer.extend(frame(i) for i in range(5, 10))
    assert data["pump_speed_rpm"].tolist() == [3000.0, 3001.0, 3002.0, 3003.0, 3004.0]


def test_artifacts_and_events_are_kept():
    buffer = TelemetryBuffer(capacity=10)
    buffer.append(frame(0, flow=12.0))
    buffer.append(Frame.build(T0 + 1, {"blood_flow_lpm": 4.0}, event="oxygenator_change"))
    data = buffer.window()
    assert data["artifact_mask"].iloc[0] != 0
    assert data["event"].tolist() == ["", "oxygenator_change"]


def test_latest_value_finds_sparse_lab_results():
    buffer = TelemetryBuffer(capacity=10)
    buffer.append(Frame.build(T0, {"plasma_free_hb_mg_dl": 55.0}))
    buffer.extend(frame(i) for i in range(1, 5))
    assert buffer.latest_value("plasma_free_hb_mg_dl") == (55.0, T0)
    assert buffer.latest()["pump_speed_rpm"] == 3004.0


def test_concurrent_appends_and_reads_lose_nothing():
    buffer = TelemetryBuffer(capacity=100_000)

    def writer(offset: int) -> None:
        for i in range(5000):
            buffer.append(frame(offset + i))

    threads = [threading.Thread(target=writer, args=(k * 10_000,)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        window = buffer.window(seconds=60)
        assert len(window) <= len(buffer)
    for t in threads:
        t.join()
    assert len(buffer) == 20_000
    assert np.array_equal(buffer.window()["seq"].to_numpy(), np.arange(1, 20_001))


def test_an_event_overwritten_by_the_ring_is_gone_and_the_others_keep_their_rows():
    buffer = TelemetryBuffer(capacity=10)
    for i in range(25):
        event = f"note {i}" if i % 4 == 0 else None
        buffer.append(Frame.build(T0 + i, {"blood_flow_lpm": 4.0}, event=event))
    data = buffer.window()
    assert data["event"].tolist() == ["", "note 16", "", "", "", "note 20", "", "", "", "note 24"]
    part = buffer.rows(buffer.first_seq + 1, 5)
    assert part["event"].tolist() == ["note 16", "", "", "", "note 20"]


def test_a_72_hour_buffer_costs_no_memory_before_its_frames_come():
    """The central station holds one for every bed: an empty one must be (almost) free."""
    code = (
        "from monitor.runtime import TelemetryBuffer\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'): return int(line.split()[1]) * 1024\n"
        "before = rss()\n"
        "held = [TelemetryBuffer() for _ in range(50)]\n"
        "print(rss() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 10e6  # 50 buffers; an event column of Python objects: 104 MB
