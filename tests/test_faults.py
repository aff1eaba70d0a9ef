"""Faults at the bedside, each through the real ``ecmo-monitor`` process and a socat pty pair.

Each test shows that nothing is lost: the device unplugged mid-frame and back, a garbage
flood, a console clock jumping an hour either way, 10 Hz instead of 1 Hz, SIGKILL while
recording and logging alarms, a data directory that cannot hold the recording, a full
disk, and two specialists acknowledging the same alert at the same moment.

Times are scaled down (a quiet time of 1 s, on-delays of 0.2 s from a site settings
file, a "minute" of garbage is a few seconds) so the whole file runs in about a minute.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import requests

from adapters import FakeSource, Frame
from adapters.csv_reader import read_recording
from adapters.protocols import BadFrame, KeyValueParser
from monitor.runtime import Recorder, Session
from monitor.store import AlarmStore
from tests.browser import free_port, stop, wait_for_http
from tests.page_client import FAST_RULES
from tests.test_cli_serial import kill_socat, start_socat

pytestmark = pytest.mark.skipif(
    shutil.which("socat") is None, reason="socat is not installed (.ci/run installs it)"
)
ROOT = Path(__file__).resolve().parents[1]
QUIET_S = 1.0  # --quiet-time and data_stale.live_quiet_s in FAST_RULES


def frame_line(i: int, p1: float = -45.0, ts: float | None = None) -> bytes:
    """A valid key=value frame whose pump speed (2000 + i rpm) numbers it."""
    stamp = "" if ts is None else f" TS={datetime.fromtimestamp(ts, UTC).isoformat()}"
    return f"RPM={2000 + i} FLOW=4.20 P1={p1:g} P2=200 P3=176{stamp}\r\n".encode()


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LiveMonitor:
    """A socat pty pair and ``ecmo-monitor run --serial`` reading its far end."""

    def __init__(self, tmp_path: Path, *, file_size_limit: int | None = None) -> None:
        self.tmp = tmp_path
        self.console, self.port_path = tmp_path / "console", tmp_path / "monitor"
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "server.log"
        config = tmp_path / "site.toml"
        config.write_text(FAST_RULES)
        self.pair = start_socat(self.console, self.port_path)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        args = [
            sys.executable, "-m", "monitor.cli", "run", "--serial", str(self.port_path),
            "--profile", "keyvalue", "--data-dir", str(self.data_dir), "--port", str(port),
            "--quiet-time", str(QUIET_S), "--config", str(config),
        ]  # fmt: skip
        self._copier: threading.Thread | None = None
        if file_size_limit is None:
            log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        else:
            # a file-size limit stands in for a full disk; the log goes through a pipe,
            # which the limit does not touch, so the error can still be read
            def limit() -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death

            self.process = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, preexec_fn=limit
            )
            self._copier = threading.Thread(target=self._copy_log, daemon=True)
            self._copier.start()
        try:
            wait_for_http(self.url, process=self.process)
        except BaseException:
            self.close()
            raise

    def _copy_log(self) -> None:
        with open(self.log_path, "wb") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()

    # -- the device side --------------------------------------------------------------
    def send(self, lines: list[bytes], interval: float = 0.0) -> None:
        fd = os.open(self.console, os.O_WRONLY | os.O_NOCTTY)
        try:
            for line in lines:
                write_all(fd, line)
                if interval:
                    time.sleep(interval)
        finally:
            os.close(fd)

    def unplug(self) -> None:
        kill_socat(self.pair, self.console, self.port_path)

    def plug_in(self) -> None:
        self.pair = start_socat(self.console, self.port_path)

    # -- what the monitor says ----------------------------------------------------------
    def status(self) -> dict:
        return requests.get(self.url + "api/status", timeout=10).json()

    def wait(self, condition: Callable[[dict], bool], what: str, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        status = self.status()
        while not condition(status):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last status {status}")
            if self.process.poll() is not None:
                raise AssertionError(f"the monitor exited ({self.process.returncode})")
            time.sleep(0.05)
            status = self.status()
        return status

    def alarm_log(self) -> list[tuple[str, str, str]]:
        """(rule, priority, state) of every alarm-log row, oldest first."""
        db = sqlite3.connect(f"file:{self.data_dir / 'ecmo-monitor.db'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT rule, priority, state FROM alarm_log ORDER BY id").fetchall()
        finally:
            db.close()

    def recording(self) -> Path:
        (path,) = (self.data_dir / "recordings").glob("*.csv")
        return path

    def speeds(self) -> list[int]:
        """The recorded frames' numbers (pump speed - 2000), in recorded order."""
        data = read_recording(self.recording()).data
        return [int(v) - 2000 for v in data["pump_speed_rpm"]]

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            stop(self.process)
        if self._copier is not None:
            self._copier.join(5)
        kill_socat(self.pair, self.console, self.port_path)


@pytest.fixture()
def live(tmp_path):
    monitor = LiveMonitor(tmp_path)
    try:
        yield monitor
    finally:
        monitor.close()
    assert "Traceback" not in monitor.log


def alert(status: dict, rule: str) -> dict | None:
    return next((a for a in status["alerts"] if a["rule"] == rule), None)


def stale_raised_and_cleared(log: list[tuple[str, str, str]]) -> bool:
    states = [state for rule, _priority, state in log if rule == "data_stale"]
    return "active" in states and "cleared" in states[states.index("active") :]


# -- the device --------------------------------------------------------------------------
def test_unplugged_mid_frame_and_back_keeps_every_complete_frame_and_clears_the_alarm(live):
    live.send([frame_line(i) for i in range(10)], interval=0.05)
    live.send([frame_line(10)[:14]])  # half a line: "RPM=2010 FLOW="
    live.wait(lambda s: s["good_frames"] == 10 and s["state"] == "receiving", "10 frames")
    time.sleep(0.3)  # the half line has been read
    live.unplug()

    status = live.wait(lambda s: s["state"] == "disconnected", "DISCONNECTED")
    status = live.wait(
        lambda s: (alert(s, "data_stale") or {}).get("state") == "active",
        "the no-data alarm while unplugged",
    )
    assert alert(status, "data_stale")["priority"] == "high"
    assert live.process.poll() is None, "the program keeps running without its device"

    live.plug_in()  # the same path again, as a USB adapter coming back
    live.wait(lambda s: s["reconnects"] >= 1, "the port reopened")
    live.send([frame_line(i) for i in range(11, 30)], interval=0.05)
    status = live.wait(lambda s: s["good_frames"] == 29, "the frames after the reconnect")
    assert status["state"] == "receiving"
    assert status["bad_frames"] == 1  # the half line, lost with the connection and counted
    status = live.wait(
        lambda s: (alert(s, "data_stale") or {}).get("state") != "active", "the alarm cleared"
    )
    assert stale_raised_and_cleared(live.alarm_log())
    assert live.speeds() == [*range(10), *range(11, 30)]  # every complete frame, in order


def test_a_garbage_flood_is_counted_not_recorded_and_its_silence_alarms_then_clears(live):
    rng = np.random.default_rng(20260101)
    chunks = [rng.integers(0, 256, 600, dtype=np.uint8).tobytes() for _ in range(200)]
    garbage = b"".join(chunks) + b"\r\n"
    parsed = KeyValueParser().feed(garbage)
    assert all(isinstance(r, BadFrame) for r in parsed)  # no valid frame hides in it
    live.send([frame_line(i) for i in range(10)], interval=0.05)
    live.wait(lambda s: s["good_frames"] == 10, "the frames before the flood")

    flood_s = 4 * QUIET_S  # ~30 kB/s of noise, well past the quiet time
    fd = os.open(live.console, os.O_WRONLY | os.O_NOCTTY)
    try:
        for chunk in chunks:
            write_all(fd, chunk)
            time.sleep(flood_s / len(chunks))
        write_all(fd, b"\r\n")
    finally:
        os.close(fd)
    during = live.status()
    live.send([frame_line(i) for i in range(10, 20)], interval=0.05)
    status = live.wait(lambda s: s["good_frames"] == 20, "the frames after the flood")

    assert during["state"] == "no_data" and alert(during, "data_stale")["state"] == "active"
    assert status["bad_frames"] == len(parsed) > 100
    live.wait(lambda s: (alert(s, "data_stale") or {}).get("state") != "active", "clear")
    assert stale_raised_and_cleared(live.alarm_log())
    assert live.speeds() == list(range(20))  # nothing of the garbage recorded
    assert live.process.poll() is None


def test_a_console_clock_jumping_an_hour_back_and_forward_records_every_frame_in_order(live):
    now = time.time()
    stamps = [now + i * 0.1 for i in range(10)]
    stamps += [now - 3600 + i * 0.1 for i in range(10, 20)]  # an hour back
    stamps += [now + 3600 + i * 0.1 for i in range(20, 30)]  # then an hour forward
    started = time.time()
    live.send([frame_line(i, ts=t) for i, t in enumerate(stamps)], interval=0.1)
    live.wait(lambda s: s["good_frames"] == 30, "30 frames")
    ended = time.time()
    time.sleep(QUIET_S / 2)

    data = read_recording(live.recording()).data
    assert live.speeds() == list(range(30))
    seconds = data["timestamp"].astype("int64").to_numpy() / 1e6
    assert np.all(np.diff(seconds) >= 0)  # arrival order, whatever the device says
    assert started - 1 <= seconds[0] and seconds[-1] <= ended + 1  # the arrival clock
    assert np.median(np.diff(seconds)) == pytest.approx(0.1, abs=0.05)
    assert [rule for rule, *_ in live.alarm_log()] == []  # no false "no data"
    assert alert(live.status(), "data_stale") is None


def test_ten_frames_a_second_are_all_recorded_and_replayed(live):
    live.send([frame_line(i) for i in range(80)], interval=0.1)  # 8 s at 10 Hz
    status = live.wait(lambda s: s["good_frames"] == 80, "80 frames")
    assert status["bad_frames"] == 0
    data = read_recording(live.recording()).data
    assert live.speeds() == list(range(80))
    spacing = np.diff(data["timestamp"].astype("int64").to_numpy() / 1e6)
    assert np.median(spacing) == pytest.approx(0.1, abs=0.03)
    assert [rule for rule, *_ in live.alarm_log()] == []


def test_frames_read_in_one_chunk_each_keep_a_row_of_their_own(live):
    live.send([b"".join(frame_line(i) for i in range(50))])  # one write, one read
    live.wait(lambda s: s["good_frames"] == 50, "50 frames")
    recording = read_recording(live.recording())
    assert recording.report.rejected_rows == 0  # no row dropped as a repeated time
    assert live.speeds() == list(range(50))


def test_an_event_entered_as_a_frame_arrives_keeps_its_row_in_the_recording(tmp_path):
    # the session stamps an event no earlier than the newest frame, so the two can share
    # a millisecond; the recording must still replay both rows
    recorder = Recorder(tmp_path, "serial-test")
    session = Session(FakeSource("a console"), recorder=recorder, live=True)
    ahead = time.time() + 0.5  # the arrival clock a little ahead of the wall clock
    values = {"pump_speed_rpm": 3000.0, "blood_flow_lpm": 4.0}
    session.on_frame(Frame.build(ahead, values, received_at=ahead))
    session.on_frame(Frame.build(ahead, values, received_at=ahead))  # same read, same time
    session.record_event("oxygenator_change", "sam")
    recorder.close()
    recording = read_recording(recorder.path)
    assert recording.report.rejected_rows == 0
    assert list(recording.data["event"]) == ["", "", "oxygenator_change"]
    seconds = recording.data["timestamp"].astype("int64").to_numpy() / 1e6
    assert np.all(np.diff(seconds) > 0) and seconds[-1] - ahead < 0.01


# -- the process -------------------------------------------------------------------------
class Feeder(threading.Thread):
    """Numbered frames at 50 Hz; drainage pressure low for 0.4 s in every 0.8 s, so the
    drainage alert is raised and cleared (and the alarm log written) over and over."""

    def __init__(self, console: Path, first: int = 0) -> None:
        super().__init__(daemon=True)
        self.console = console
        self.first = first
        self.sent = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        fd = os.open(self.console, os.O_WRONLY | os.O_NOCTTY)
        try:
            while not self.stop_event.is_set():
                p1 = -120.0 if (self.sent // 20) % 2 else -45.0
                try:
                    write_all(fd, frame_line(self.first + self.sent, p1=p1))
                except OSError:  # the reader was killed
                    return
                self.sent += 1
                time.sleep(0.02)
        finally:
            os.close(fd)


def test_sigkill_while_recording_and_logging_leaves_a_replayable_recording_and_intact_store(
    live,
):
    feeder = Feeder(live.console)
    feeder.start()
    try:
        live.wait(lambda s: len(live.alarm_log()) >= 8, "alerts raised and cleared", 20)
        # kill -9 in the middle of the stream, just as an alert is being raised
        before = live.status()
        while (feeder.sent // 20) % 2 == 0:
            time.sleep(0.005)
        time.sleep(0.2 + 0.05)
        logged_before = len(live.alarm_log())
        live.process.send_signal(signal.SIGKILL)
        live.process.wait(5)
    finally:
        feeder.stop_event.set()
        feeder.join(5)
    assert live.process.returncode == -signal.SIGKILL

    recording = read_recording(live.recording())
    speeds = live.speeds()
    # every row flushed before the kill is there, in order, with no hole
    assert speeds == list(range(len(speeds)))
    assert len(speeds) >= before["good_frames"]
    assert recording.report.rejected_rows <= 1  # at most the line being written, reported

    db = sqlite3.connect(live.data_dir / "ecmo-monitor.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    with AlarmStore(live.data_dir) as store:  # opens (and migrates nothing) as usual
        log = store.alarm_log()
    assert len(log) >= logged_before >= 8
    assert {e.rule for e in log} == {"drainage_pressure_low"}
    assert {e.state for e in log} <= {"active", "cleared"} and log[-1].state == "active"
    assert all(e.message for e in log)
