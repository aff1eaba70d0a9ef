"""Storage faults and two people at once, through the real ``ecmo-monitor`` process.

A data directory that cannot hold the recording, a full disk under the recording or under
the alarm log, and two specialists acknowledging the same alert at the same moment: each
is a visible technical alarm or a clear answer, and monitoring goes on. The recorder
retries every 10 s and, once it can write again, goes on in a new file.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from adapters.csv_reader import read_recording
from monitor.store import AlarmStore
from tests.page_client import PageClient, add_users, signed_in
from tests.test_faults import Feeder, LiveMonitor, alert, frame_line

pytestmark = pytest.mark.skipif(
    shutil.which("socat") is None, reason="socat is not installed (.ci/run installs it)"
)
ROOT = Path(__file__).resolve().parents[1]
QUIET_S = 1.0  # --quiet-time and data_stale.live_quiet_s in FAST_RULES


# -- the data directory -------------------------------------------------------------------
def refresh_panels(url: str) -> str:
    """The header and alerts panel as the page's one-second refresh returns them."""
    client = PageClient(url)
    response = client.call("header.children", "refresh.n_intervals", {"refresh.n_intervals": 1})
    assert response.status_code == 200, response.text[:300]
    return response.text


def test_a_file_where_the_recordings_folder_goes_stops_recording_with_an_alarm(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "recordings").write_text("not a folder\n")
    live = LiveMonitor(tmp_path)
    try:
        status = live.status()
        error = status["recording_error"]
        assert error.startswith(f"Recording stopped: cannot create a recording in {tmp_path}")
        assert "a file of that name is in the way; move it aside" in error
        assert "retrying every 10 s, monitoring continues in memory" in error
        assert alert(status, "recording_stopped")["priority"] == "high"
        panels = refresh_panels(live.url)
        assert "recorder-state" in panels and "Recording stopped" in panels

        # monitoring goes on in memory: frames counted, alerts raised and logged
        live.send([frame_line(i, p1=-45 if i < 5 else -120) for i in range(30)], 0.02)
        status = live.wait(lambda s: s["good_frames"] == 30, "30 frames")
        status = live.wait(lambda s: alert(s, "drainage_pressure_low"), "the drainage alert")
        assert ("drainage_pressure_low", "high", "active") in live.alarm_log()
        assert alert(status, "recording_stopped")["state"] == "active"
    finally:
        live.close()
    log = live.log
    assert "ERROR ecmo_monitor.recorder: Recording stopped: cannot create a recording" in log
    assert "Traceback" not in log
    assert (tmp_path / "data" / "recordings").read_text() == "not a folder\n"


def test_a_full_disk_stops_recording_with_an_alarm_that_clears_when_a_new_file_takes_over(
    tmp_path,
):
    with AlarmStore(tmp_path / "data"):  # the database exists, its journal checkpointed
        pass
    limit = 64 * 1024  # about 1,000 rows; room for a few alarm-log writes too
    live = LiveMonitor(tmp_path, file_size_limit=limit)
    try:
        lines = [frame_line(i) for i in range(1500)]
        live.send([b"".join(lines[k : k + 5]) for k in range(0, 1500, 5)], 0.01)  # 500 Hz
        status = live.wait(lambda s: s["good_frames"] == 1500, "1500 frames")
        first = Path(status["recording"])
        error = status["recording_error"]
        assert error.startswith(f"Recording stopped: writing {first} failed: File too large")
        assert "retrying every 10 s" in error
        assert alert(status, "recording_stopped")["state"] == "active"
        assert "Recording stopped" in refresh_panels(live.url)

        live.send([frame_line(1500 + i, p1=-120) for i in range(30)], 0.02)
        status = live.wait(lambda s: alert(s, "drainage_pressure_low"), "the drainage alert")
        assert status["good_frames"] == 1530 and status["bad_frames"] == 0
        assert ("drainage_pressure_low", "high", "active") in live.alarm_log()

        # the limit is per file, so the retry 10 s after the failure starts a new file;
        # no frame arrives meanwhile: the page's own status requests make the retry
        status = live.wait(lambda s: s["recording_error"] is None, "recording to resume", 20)
        resumed = Path(status["recording"])
        assert resumed != first and resumed.parent == first.parent
        assert alert(status, "recording_stopped") is None
        assert f"Recording resumed in {resumed.name} after " in refresh_panels(live.url)
        states = [state for rule, _, state in live.alarm_log() if rule == "recording_stopped"]
        assert states == ["active", "cleared"]
    finally:
        live.close()
    log = live.log
    assert log.count("ERROR ecmo_monitor.recorder: Recording stopped: writing") == 1
    assert log.count(f"INFO ecmo_monitor.recorder: Recording resumed in {resumed.name}") == 1
    assert "Traceback" not in log
    # the two files hold every frame once, in order; the first stops at the limit
    assert sorted(first.parent.glob("*.csv")) == [first, resumed]
    assert first.stat().st_size <= limit
    numbers = []
    for path in (first, resumed):
        recording = read_recording(path)
        assert recording.report.rejected_rows == 0  # the row cut by the limit taken back
        numbers += [int(v) - 2000 for v in recording.data["pump_speed_rpm"]]
    assert numbers == list(range(1530))
    assert 800 < len(read_recording(first).data) < 1500


def test_a_full_disk_under_the_alarm_log_raises_its_own_alarm_and_alerts_go_on(tmp_path):
    with AlarmStore(tmp_path / "data"):
        pass
    live = LiveMonitor(tmp_path, file_size_limit=40 * 1024)  # the journal holds a few writes
    try:
        lines = [frame_line(i) for i in range(800)]
        live.send([b"".join(lines[k : k + 5]) for k in range(0, 800, 5)], 0.01)
        live.wait(lambda s: s["recording_error"], "the recording to stop")
        feeder = Feeder(live.console, first=800)  # drainage alerts raised and cleared
        feeder.start()
        try:
            status = live.wait(lambda s: alert(s, "alarm_log_stopped"), "the alarm log to fail")
            status = live.wait(
                lambda s: (alert(s, "drainage_pressure_low") or {}).get("state") == "active",
                "a drainage alert after the alarm log failed",
            )
        finally:
            feeder.stop_event.set()
            feeder.join(5)
        stopped = alert(status, "alarm_log_stopped")
        assert stopped["priority"] == "high" and stopped["message"].startswith(
            "Alarm log not written:"
        )
        # the recording alarm stands until the retry 10 s after the failure; on a slow
        # machine that retry may already have gone on in a new file
        recording = alert(status, "recording_stopped")
        assert (recording or {}).get("state") == "active" or status["recording_error"] is None
        assert status["good_frames"] >= 800 + 40 and status["bad_frames"] == 0
        assert "Alarm log not written" in refresh_panels(live.url)
    finally:
        live.close()
    # the disk's own error is reported, not a failed rollback after it
    assert "ERROR ecmo_monitor.session: alarm log write failed: disk I/O error" in live.log
    assert "cannot rollback" not in live.log
    assert "Traceback" not in live.log
    # what reached the log before the disk filled is intact and readable
    db = sqlite3.connect(tmp_path / "data" / "ecmo-monitor.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM alarm_log").fetchone()[0] >= 1


# -- two people at once -------------------------------------------------------------------
def test_two_specialists_acknowledging_at_once_record_one_acknowledgement(tmp_path):
    add_users(tmp_path / "data", ("sam", "specialist", "2468"), ("kim", "specialist", "8642"))
    live = LiveMonitor(tmp_path)
    try:
        sam, kim = signed_in(live.url, "sam", "2468"), signed_in(live.url, "kim", "8642")
        live.send([frame_line(i, p1=-120) for i in range(30)], 0.02)
        live.wait(
            lambda s: (alert(s, "drainage_pressure_low") or {}).get("state") == "active",
            "the drainage alert",
        )
        barrier = threading.Barrier(2)
        results: dict[str, tuple[str, str]] = {}

        def press(name: str, client: PageClient) -> None:
            barrier.wait()
            results[name] = client.acknowledge("drainage_pressure_low", f"seen by {name}")

        threads = [threading.Thread(target=press, args=p) for p in (("sam", sam), ("kim", kim))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        status = live.status()
    finally:
        live.close()

    outcomes = sorted(results.items(), key=lambda item: item[1][0])
    (winner, (won, _)), (loser, (lost, words)) = outcomes
    assert (won, lost) == ("acknowledged", "refused")
    assert f"already acknowledged by {winner}" in words
    acks = AlarmStore(tmp_path / "data").acknowledgements()
    assert [(a.rule, a.user, a.note) for a in acks] == [
        ("drainage_pressure_low", winner, f"seen by {winner}")
    ]
    assert alert(status, "drainage_pressure_low")["state"] == "acknowledged"
    assert loser != winner
