"""Replay of recordings (speed, pause, seek, loop) and the recorder's round trip."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from adapters import Frame
from adapters.csv_reader import read_recording
from adapters.replay import ReplaySource
from adapters.source import SourceState
from monitor.runtime import Recorder

T0 = 1_767_254_400.0
HEADER = "timestamp,pump_speed_rpm,blood_flow_lpm,p_pre_oxy_mmhg,p_post_oxy_mmhg,ldh_u_l,event\n"


def recording_file(tmp_path, seconds: int = 60):
    lines = [HEADER]
    for s in range(seconds):
        stamp = pd.Timestamp(T0 + s, unit="s", tz="UTC").isoformat()
        ldh = "480" if s == 5 else ""
        event = "baseline_reset" if s == 7 else ""
        lines.append(f"{stamp},{3000 + s},4.1,200,180,{ldh},{event}\n")
    path = tmp_path / "rec.csv"
    path.write_text("".join(lines))
    return path


class Collector:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.lock = threading.Lock()

    def __call__(self, frame: Frame) -> None:
        with self.lock:
            self.frames.append(frame)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.01)


def test_replay_as_fast_as_possible_delivers_every_row_in_order(tmp_path):
    source = ReplaySource(recording_file(tmp_path), speed=0)
    got = Collector()
    source.start(got)
    source.join(10)
    assert source.status().state == SourceState.FINISHED
    assert [f.values["pump_speed_rpm"] for f in got.frames] == [3000.0 + s for s in range(60)]
    assert got.frames[5].values["ldh_u_l"] == 480.0  # labs pass through
    assert got.frames[7].event == "baseline_reset"  # events pass through
    assert got.frames[0].values["delta_p_mmhg"] == 20.0


def test_replay_speed_factor_paces_frames(tmp_path):
    source = ReplaySource(recording_file(tmp_path), speed=20)
    got = Collector()
    started = time.monotonic()
    source.start(got)
    got.wait_for(41)
    elapsed = time.monotonic() - started
    source.stop()
    # 40 recorded seconds at 20x take about 2 s of wall time
    assert 1.5 < elapsed < 4.0


def test_pause_stops_delivery_and_resume_continues(tmp_path):
    source = ReplaySource(recording_file(tmp_path), speed=10)
    got = Collector()
    source.start(got)
    got.wait_for(5)
    source.pause()
    time.sleep(0.2)
    held = len(got.frames)
    time.sleep(0.6)
    assert len(got.frames) == held
    assert source.status().state == SourceState.PAUSED
    source.resume()
    got.wait_for(held + 3)
    source.stop()
    assert len(got.frames) >= held + 3


def test_seek_jumps_to_a_time(tmp_path):
    source = ReplaySource(recording_file(tmp_path), speed=5)
    source.seek(T0 + 40)
    got = Collector()
    source.start(got)
    got.wait_for(2)
    source.stop()
    assert got.frames[0].timestamp == T0 + 40


def test_loop_starts_again_with_time_still_moving_forward(tmp_path):
    source = ReplaySource(recording_file(tmp_path, seconds=10), speed=0, loop=True)
    got = Collector()
    source.start(got)
    got.wait_for(25)
    source.stop()
    stamps = np.array([f.timestamp for f in got.frames[:25]])
    assert np.all(np.diff(stamps) > 0)
    assert got.frames[10].values["pump_speed_rpm"] == 3000.0  # second pass
    assert got.frames[10].timestamp == T0 + 10


def test_a_recording_replays_equal_to_what_was_recorded(tmp_path):
    recorder = Recorder(tmp_path, "serial-/dev/ttyUSB0")
    rng = np.random.default_rng(1)
    sent = []
    for i in range(200):
        values = {
            "pump_speed_rpm": float(rng.integers(2500, 3500)),
            "blood_flow_lpm": float(rng.uniform(2, 6)),
            "p_venous_mmhg": float(rng.uniform(-90, -10)),
            "p_pre_oxy_mmhg": float(rng.uniform(150, 300)),
            "p_post_oxy_mmhg": float(rng.uniform(120, 250)),
        }
        if i == 50:
            values["blood_flow_lpm"] = 12.5  # an artifact is recorded as it came
        frame = Frame.build(T0 + i * 0.5, values, event="oxygenator_change" if i == 99 else None)
        assert recorder.write(frame)
        sent.append(frame)
    recorder.close()
    status = recorder.status()
    assert status.rows_written == 200
    assert status.path.parent == tmp_path / "recordings"
    assert status.path.name.endswith("_serial-dev-ttyUSB0.csv")

    replayed = read_recording(status.path)
    assert replayed.report.rows == 200 and replayed.report.rejected_rows == 0
    source = ReplaySource(replayed, speed=0)
    got = Collector()
    source.start(got)
    source.join(10)
    assert len(got.frames) == 200
    for a, b in zip(sent, got.frames, strict=True):
        assert a.timestamp == b.timestamp
        assert dict(a.values) == dict(b.values)
        assert a.event == b.event
        assert a.artifacts == b.artifacts


def test_recorder_flushes_every_row(tmp_path):
    recorder = Recorder(tmp_path, "loop")
    recorder.write(Frame.build(T0, {"pump_speed_rpm": 3000.0, "blood_flow_lpm": 4.0}))
    text = recorder.status().path.read_text()  # read while still open
    assert text.count("\n") == 2
    recorder.close()


def test_recorder_in_an_unwritable_place_reports_instead_of_raising(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    recorder = Recorder(blocker, "loop")
    assert not recorder.write(Frame.build(T0, {"pump_speed_rpm": 3000.0}))
    assert "Recording stopped" in recorder.status().error
