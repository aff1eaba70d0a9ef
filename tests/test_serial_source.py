"""SerialSource against real ports: pyserial's loop://, a kernel pty pair and a socat null modem."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.encoders import FrameEncoder
from adapters.errors import SourceError
from adapters.serial_source import SerialSource
from adapters.source import SourceState

SOCAT = shutil.which("socat")
needs_socat = pytest.mark.skipif(
    SOCAT is None, reason="socat is not installed (apt-get install socat); CI installs it"
)


def wait_until(condition: Callable[[], object], timeout: float = 3.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


class Collector:
    """Starts a source and keeps the frames it delivers."""

    def __init__(self) -> None:
        self.frames: list = []
        self.sources: list[SerialSource] = []

    def start(self, source: SerialSource) -> SerialSource:
        self.sources.append(source)
        source.start(self.frames.append)
        return source

    def rpms(self) -> list[float]:
        return [f.values["pump_speed_rpm"] for f in self.frames]


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    for source in collector.sources:
        source.stop()


def lines(*rpms: int) -> bytes:
    return b"".join(f"RPM={rpm} FLOW=4.1 P1=-40 P2=180 P3=160\r\n".encode() for rpm in rpms)


# -- loop:// ---------------------------------------------------------------------------
def test_loop_frames_written_to_the_port_are_delivered_in_order(collector):
    source = collector.start(SerialSource("loop://"))
    wait_until(lambda: source.port_open, what="port open")
    source.write(lines(3000, 3010, 3020))
    wait_until(lambda: len(collector.frames) == 3, what="3 frames")
    assert collector.rpms() == [3000.0, 3010.0, 3020.0]
    first = collector.frames[0]
    assert first.values["delta_p_mmhg"] == 20.0  # derived by Frame.build
    assert first.device_timestamp is None and first.timestamp == first.received_at
    assert source.status().state == SourceState.RECEIVING


def test_loop_garbage_is_counted_with_port_and_line_not_delivered(collector):
    source = collector.start(SerialSource("loop://"))
    wait_until(lambda: source.port_open)
    source.write(lines(3000) + b"@@@ static @@@\r\nRPM=3000 FLOW=oops\r\n" + lines(3001))
    wait_until(lambda: source.status().good_frames == 2 and source.status().bad_frames == 2)
    assert collector.rpms() == [3000.0, 3001.0]
    assert source.status().recent_problems == (
        "loop:// line 2: '@@@' is not a key=value pair",
        "loop:// line 3: field 'FLOW' is not a number: 'oops'",
    )


@pytest.mark.parametrize("profile", ["framed", "canonical"])
def test_loop_carries_framed_and_delimited_protocols(collector, profile):
    source = collector.start(SerialSource("loop://", profile=profile))
    wait_until(lambda: source.port_open)
    encoder = FrameEncoder(source.protocol, header_every=2)
    for rpm in (3000.0, 3100.0, 3200.0):
        values = {"pump_speed_rpm": rpm, "blood_flow_lpm": 4.0}
        source.write(encoder.encode(values, timestamp=1767225600.0 + rpm))
    wait_until(lambda: len(collector.frames) == 3)
    assert collector.rpms() == [3000.0, 3100.0, 3200.0]
    # a device timestamp becomes the frame time; arrival is kept beside it
    assert [f.timestamp for f in collector.frames] == [1767228600.0, 1767228700.0, 1767228800.0]
    assert all(f.received_at is not None for f in collector.frames)
    assert source.status().bad_frames == 0


def test_a_failing_frame_handler_does_not_stop_acquisition():
    delivered = []

    def handler(frame):
        delivered.append(frame.values["pump_speed_rpm"])
        if len(delivered) == 1:
            raise RuntimeError("consumer bug")

    source = SerialSource("loop://")
    source.start(handler)
    try:
        wait_until(lambda: source.port_open)
        source.write(lines(3000, 3001))
        wait_until(lambda: len(delivered) == 2)
        assert "consumer bug" in source.status().recent_problems[-1]
        assert source.state == SourceState.RECEIVING
    finally:
        source.stop()


def test_arrival_time_runs_from_the_given_wall_clock_base(collector):
    source = collector.start(SerialSource("loop://", clock=lambda: 1_000_000.0))
    wait_until(lambda: source.port_open)
    source.write(lines(3000, 3001))
    wait_until(lambda: len(collector.frames) == 2)
    arrivals = [f.received_at for f in collector.frames]
    assert 1_000_000.0 <= arrivals[0] < arrivals[1] < 1_000_010.0


def test_frames_read_in_one_chunk_arrive_a_millisecond_apart(collector):
    source = collector.start(SerialSource("loop://"))
    wait_until(lambda: source.port_open)
    source.write(lines(*range(3000, 3050)))  # one write: read in one chunk, one arrival time
    wait_until(lambda: len(collector.frames) == 50)
    arrivals = [f.received_at for f in collector.frames]
    ms = [round(t * 1000) for t in arrivals]
    assert arrivals == [m / 1000 for m in ms]  # whole milliseconds, as a recording keeps
    assert ms == sorted(set(ms))  # each later than the one before
    assert [f.timestamp for f in collector.frames] == [f.received_at for f in collector.frames]


def test_capture_file_holds_every_raw_byte_read(collector, tmp_path):
    capture = tmp_path / "raw.bin"
    capture.write_bytes(b"earlier session\n")  # appended to, never truncated
    source = collector.start(SerialSource("loop://", capture_path=capture))
    wait_until(lambda: source.port_open)
    raw = lines(3000) + b"\x00\xff noise\r\n" + lines(3001)
    source.write(raw)
    wait_until(lambda: source.status().good_frames == 2)
    assert capture.read_bytes() == b"earlier session\n" + raw


def test_stop_returns_within_a_second_and_leaves_state_stopped(collector):
    source = collector.start(SerialSource("loop://"))
    wait_until(lambda: source.port_open)
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.0
    assert source.status().state == SourceState.STOPPED
    assert not source.port_open


def test_bad_port_url_or_profile_is_an_error_at_construction():
    with pytest.raises(SourceError, match="not usable"):
        SerialSource("nonsense://here")
    with pytest.raises(SourceError, match="Unknown serial profile"):
        SerialSource("loop://", profile="modbus")


# -- kernel pty pair -------------------------------------------------------------------
@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """(master fd to write device bytes into, slave path the source opens)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        with contextlib.suppress(OSError):  # closed by the test already
            os.close(fd)


def test_pty_lines_written_to_the_master_reach_a_source_on_the_slave(collector, pty_pair):
    master, slave_path = pty_pair
    source = collector.start(SerialSource(slave_path))
    wait_until(lambda: source.port_open)
    data = lines(3000, 3001, 3002)
    for cut in (7, 50, len(data)):  # a line split over writes
        os.write(master, data[:cut])
        data = data[cut:]
        time.sleep(0.02)
    os.write(master, data)
    wait_until(lambda: len(collector.frames) == 3)
    assert collector.rpms() == [3000.0, 3001.0, 3002.0]


def test_watchdog_goes_no_data_after_quiet_time_and_back_on_the_next_frame(collector, pty_pair):
    master, slave_path = pty_pair
    source = collector.start(SerialSource(slave_path, quiet_time=0.5))
    wait_until(lambda: source.port_open)
    os.write(master, lines(3000))
    wait_until(lambda: source.state == SourceState.RECEIVING)
    last_frame = time.monotonic()
    os.write(master, b"not a frame\r\n")  # bad input does not keep the feed alive
    wait_until(lambda: source.state == SourceState.NO_DATA, what="NO_DATA")
    assert time.monotonic() - last_frame >= 0.4
    assert "no valid frame for 0.5 s" in source.status().recent_problems[-1]
    os.write(master, lines(3001))
    wait_until(lambda: source.state == SourceState.RECEIVING, what="RECEIVING again")
    assert collector.rpms() == [3000.0, 3001.0]


def test_pty_peer_closing_is_disconnected_and_noted_once(collector, pty_pair):
    master, slave_path = pty_pair
    source = collector.start(SerialSource(slave_path, reconnect_max=0.2))
    wait_until(lambda: source.port_open)
    os.write(master, lines(3000))
    wait_until(lambda: len(collector.frames) == 1)
    os.close(master)
    wait_until(lambda: source.state == SourceState.DISCONNECTED, what="DISCONNECTED")
    time.sleep(0.5)  # several retries happen meanwhile
    noted = [p for p in source.status().recent_problems if p.startswith("Serial port")]
    assert len(noted) == 1 and "check the cable" in noted[0]


# -- socat null modem ------------------------------------------------------------------
class NullModem:
    """``socat pty,link=a pty,link=b``: the source opens ``a``; the test is the device on ``b``."""

    def __init__(self, directory: Path) -> None:
        self.a, self.b = directory / "console", directory / "device"
        self.process: subprocess.Popen | None = None
        self.device_fd: int | None = None

    def start(self) -> None:
        links = [f"pty,raw,echo=0,link={path}" for path in (self.a, self.b)]
        self.process = subprocess.Popen(
            [SOCAT, "-d", "-d", *links], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        wait_until(lambda: self.a.exists() and self.b.exists(), what="socat links")
        self.device_fd = os.open(self.b, os.O_RDWR | os.O_NOCTTY)

    def send(self, data: bytes) -> None:
        os.write(self.device_fd, data)

    def kill(self) -> None:
        if self.device_fd is not None:
            os.close(self.device_fd)
            self.device_fd = None
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(5)
            self.process = None


@pytest.fixture
def null_modem(tmp_path) -> Iterator[NullModem]:
    modem = NullModem(tmp_path)
    yield modem
    modem.kill()


@needs_socat
def test_socat_restart_at_the_same_links_reconnects_without_restarting_the_source(
    null_modem, collector, tmp_path
):
    null_modem.start()
    capture = tmp_path / "raw.bin"
    source = collector.start(
        SerialSource(str(null_modem.a), reconnect_max=0.3, quiet_time=30, capture_path=capture)
    )
    wait_until(lambda: source.port_open)
    null_modem.send(lines(3000, 3001, 3002))
    wait_until(lambda: len(collector.frames) == 3)
    null_modem.send(b"RPM=30")  # the line the cable pull cuts off
    wait_until(lambda: capture.read_bytes().endswith(b"RPM=30"), what="partial line read")

    null_modem.kill()
    wait_until(lambda: source.state == SourceState.DISCONNECTED, what="DISCONNECTED")
    assert not null_modem.a.exists()

    null_modem.start()
    wait_until(lambda: source.status().reconnects == 1 and source.port_open, what="re-open")
    null_modem.send(lines(3003, 3004))
    wait_until(lambda: len(collector.frames) == 5)

    assert collector.rpms() == [3000.0, 3001.0, 3002.0, 3003.0, 3004.0]
    arrivals = [f.received_at for f in collector.frames]
    assert arrivals == sorted(arrivals)
    status = source.status()
    assert status.state == SourceState.RECEIVING
    assert status.bad_frames == 1  # the cut-off line, not merged into the next one
    assert "lost with the connection" in status.recent_problems[0]
    assert capture.read_bytes() == lines(3000, 3001, 3002) + b"RPM=30" + lines(3003, 3004)


@needs_socat
def test_port_missing_at_start_is_waited_for_and_opened_when_it_appears(null_modem, collector):
    source = collector.start(SerialSource(str(null_modem.a), reconnect_max=0.2))
    wait_until(lambda: source.state == SourceState.DISCONNECTED)
    time.sleep(0.5)  # retries go on quietly
    problems = source.status().recent_problems
    assert len(problems) == 1 and "cannot be opened" in problems[0]
    null_modem.start()
    wait_until(lambda: source.port_open, what="open")
    null_modem.send(lines(3000))
    wait_until(lambda: collector.rpms() == [3000.0])
    assert source.status().reconnects == 0  # the first open is a connection, not a reconnect


def test_loop_reads_a_console_described_by_a_profile_file(collector, tmp_path):
    profile = tmp_path / "site-console.toml"
    profile.write_text(
        'protocol = "delimited"\ndelimiter = ";"\ndecimal = ","\nnot_available = -32000\n'
        '[columns]\nDrehzahl = "pump_speed_rpm"\n'
        'Fluss = { channel = "blood_flow_lpm", scale = 0.01 }\n'
        'Pvor = "p_pre_oxy_mmhg"\nPnach = "p_post_oxy_mmhg"\n'
        'Temp = { channel = "temp_c", scale = 0.1 }\n',
        encoding="utf-8",
    )
    source = collector.start(SerialSource("loop://", profile=str(profile)))
    assert source.protocol == "delimited" and source.profile.name == "site-console"
    wait_until(lambda: source.port_open)
    source.write(
        b"Drehzahl;Fluss;Pvor;Pnach;Temp\r\n3100;412;200,5;180;371\r\n3100;415;201;180;-32000\r\n"
    )
    wait_until(lambda: len(collector.frames) == 2, what="2 frames")
    first, second = (frame.values for frame in collector.frames)
    assert first["blood_flow_lpm"] == pytest.approx(4.12) and first["temp_c"] == pytest.approx(37.1)
    assert first["p_pre_oxy_mmhg"] == 200.5 and "temp_c" not in second
