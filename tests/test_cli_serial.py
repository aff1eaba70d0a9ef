"""End to end through the real command: key=value frames over a socat pty pair are recorded.

Garbage between frames is counted and not recorded; killing the pty pair and making it
again at the same path resumes recording without restarting the program.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from adapters.csv_reader import read_recording
from tests.browser import free_port, start_monitor, stop, wait_for_http

socat = shutil.which("socat")
pytestmark = pytest.mark.skipif(
    socat is None, reason="socat is not installed (.ci/run installs it)"
)


def start_socat(console: Path, monitor: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [socat, "pty,raw,echo=0,link=" + str(console), "pty,raw,echo=0,link=" + str(monitor)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not (console.exists() and monitor.exists()):
        if time.monotonic() > deadline:
            raise AssertionError("socat did not create the pty pair")
        time.sleep(0.02)
    return process


def kill_socat(process: subprocess.Popen, *links: Path) -> None:
    process.kill()
    process.wait(5)
    deadline = time.monotonic() + 5
    while any(link.exists() for link in links) and time.monotonic() < deadline:
        time.sleep(0.02)


def recorded_rows(data_dir: Path) -> list[dict]:
    files = sorted((data_dir / "recordings").glob("*.csv"))
    if not files:
        return []
    text = files[0].read_text()
    if text.count("\n") < 2:
        return []
    return read_recording(files[0]).data.to_dict("records")


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def send(console: Path, lines: list[bytes], interval: float) -> None:
    fd = os.open(console, os.O_WRONLY | os.O_NOCTTY)
    try:
        for line in lines:
            os.write(fd, line)
            time.sleep(interval)
    finally:
        os.close(fd)


def frame_line(i: int) -> bytes:
    return f"RPM={3000 + i} FLOW={4.0 + i / 100:.2f} P1=-{40 + i % 7} P2={180 + i} P3={160 + i}\r\n".encode()


def test_serial_session_records_every_valid_line_and_survives_the_port_vanishing(tmp_path):
    console, monitor = tmp_path / "console", tmp_path / "monitor"
    data_dir = tmp_path / "data"
    pair = start_socat(console, monitor)
    port = free_port()
    process = start_monitor(
        [
            "run",
            "--serial",
            str(monitor),
            "--profile",
            "keyvalue",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--quiet-time",
            "1",
        ],
        tmp_path / "server.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        first = [frame_line(i) for i in range(20)]
        garbage = [b"\x00\xff\xfe garbage !!\r\n", b"RPM=abc FLOW=4.1\r\n", b"=====\r\n"]
        mixed = first[:10] + garbage + first[10:]
        send(console, mixed, interval=0.05)
        wait_until(lambda: len(recorded_rows(data_dir)) >= 20, 10, "the first 20 frames recorded")

        kill_socat(pair, console, monitor)
        time.sleep(1.0)  # the program notices and keeps retrying
        assert process.poll() is None, "the program must keep running when the port vanishes"
        pair = start_socat(console, monitor)
        second = [frame_line(i) for i in range(20, 40)]
        # the reader reopens with backoff; keep sending until it is back
        wait_until_sent = time.monotonic() + 15
        sent_second: list[bytes] = []
        while time.monotonic() < wait_until_sent and len(recorded_rows(data_dir)) < 21:
            send(console, [second[0]], interval=0.2)
            sent_second.append(second[0])
        send(console, second[1:], interval=0.05)
        wait_until(
            lambda: len(recorded_rows(data_dir)) >= 39, 10, "frames after the reconnect recorded"
        )
    finally:
        stop(process)
        kill_socat(pair, console, monitor)

    rows = recorded_rows(data_dir)
    speeds = [r["pump_speed_rpm"] for r in rows]
    # every valid line sent before the loss, in order, with the values sent
    assert speeds[:20] == [3000.0 + i for i in range(20)]
    first_row = rows[0]
    assert (first_row["blood_flow_lpm"], first_row["p_venous_mmhg"]) == (4.0, -40.0)
    assert (first_row["p_pre_oxy_mmhg"], first_row["p_post_oxy_mmhg"]) == (180.0, 160.0)
    assert first_row["delta_p_mmhg"] == 20.0
    # after the reconnect: every line that reached the reopened port, then the rest in order
    after = speeds[20:]
    assert after[-19:] == [3000.0 + i for i in range(21, 40)]
    assert set(after[:-19]) == {3020.0}
    # no garbage was recorded
    assert len(rows) == 20 + len(after)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log


def test_serial_status_counts_garbage_on_the_page_header(tmp_path, page):
    console, monitor = tmp_path / "console", tmp_path / "monitor"
    pair = start_socat(console, monitor)
    port = free_port()
    process = start_monitor(
        [
            "run",
            "--serial",
            str(monitor),
            "--profile",
            "keyvalue",
            "--data-dir",
            str(tmp_path / "d"),
            "--port",
            str(port),
            "--quiet-time",
            "1",
        ],
        tmp_path / "server.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#frame-counts")
        send(
            console,
            [frame_line(0), b"nonsense\r\n", frame_line(1), b"P2=\r\n", frame_line(2)],
            0.05,
        )
        page.wait_for_function(
            "document.querySelector('#frame-counts')?.innerText === 'frames 3, rejected 2'",
            timeout=10_000,
        )
        # no frames for longer than the quiet time: a visible "no data" state
        page.wait_for_function(
            "document.querySelector('#connection-state')?.dataset.state === 'no_data'",
            timeout=10_000,
        )
        assert page.inner_text("#connection-state") == "NO DATA"
    finally:
        stop(process)
        kill_socat(pair, console, monitor)
