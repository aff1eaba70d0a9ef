"""The command line as a user runs it: simulate, replay, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from adapters.csv_reader import read_recording
from tests.browser import free_port, start_monitor, stop, wait_for_http


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as response:
        return json.loads(response.read())


def test_simulate_writes_a_recording_that_replays_at_600x(tmp_path):
    out = tmp_path / "f.csv"
    done = run_cli(
        "simulate", "gradual_oxygenator_thrombosis", "--out", str(out), "--duration", "2"
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 7200 rows" in done.stderr
    recording = read_recording(out)
    assert recording.report.rows == 7200 and recording.report.rejected_rows == 0

    port = free_port()
    process = start_monitor(
        [
            "run",
            "--replay",
            str(out),
            "--speed",
            "600",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        tmp_path / "server.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        first = status(port)
        time.sleep(2)
        later = status(port)
        assert "at 600x" in later["source"]
        # 600 recorded seconds per wall second
        assert later["good_frames"] - first["good_frames"] > 600
    finally:
        stop(process)


def test_no_command_serves_the_bundled_stable_sample(tmp_path):
    port = free_port()
    process = start_monitor(
        ["--port", str(port), "--data-dir", str(tmp_path)], tmp_path / "server.log"
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        deadline = time.monotonic() + 10
        while status(port)["good_frames"] < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        snapshot = status(port)
        assert "stable.csv" in snapshot["source"]
        assert snapshot["good_frames"] >= 2
    finally:
        stop(process)


def test_an_unusable_replay_file_is_one_sentence_and_exit_2(tmp_path):
    bad = tmp_path / "junk.csv"
    bad.write_text("this,is,not,telemetry\n1,2,3,4\n")
    done = run_cli("run", "--replay", str(bad), "--port", str(free_port()))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("ecmo-monitor: ") and "junk.csv" in message
    assert "required column(s) missing" in message


def test_unknown_scenario_lists_the_known_ones(tmp_path):
    done = run_cli("simulate", "no_such_thing", "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "stable" in done.stderr and "no_such_thing" in done.stderr


def test_serial_port_that_does_not_exist_is_retried_not_fatal(tmp_path):
    port = free_port()
    process = start_monitor(
        [
            "run",
            "--serial",
            str(tmp_path / "no-such-tty"),
            "--profile",
            "keyvalue",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        tmp_path / "server.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        assert status(port)["state"] in ("connecting", "disconnected")
    finally:
        stop(process)
