"""The recorder after a full disk or a blocked folder: it retries, goes on in a new file
with the frames held during the outage first, and the session's recording alarm clears.

Outages are real refusals from the operating system, so they hold as root too (where
``chmod`` stops nothing): a file-size limit of 0 for this process makes every write that
would grow a file fail ("File too large", as a full disk fails with "No space left on
device"), and a file where the recordings folder goes blocks a new recording. The retry
clock is handed in, so no test waits for the 10 s interval.
"""

from __future__ import annotations

import contextlib
import logging
import re
import resource
import signal
from pathlib import Path

import pytest

from adapters import HEADER_LINE, FakeSource, Frame, read_recording
from monitor.runtime import ActionError, Recorder, Session
from monitor.store import AlarmStore
from monitor.web.live.panels import header

T0 = 1_767_254_400.0
LOGGER = "ecmo_monitor.recorder"


class Clock:
    """The recorder's retry clock, moved by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def numbered(i: int) -> Frame:
    """A frame at T0 + i s whose pump speed (2000 + i rpm) numbers it."""
    return Frame.build(T0 + i, {"pump_speed_rpm": 2000.0 + i, "blood_flow_lpm": 4.2})


@contextlib.contextmanager
def full_disk():
    """Every write that would grow a file of this process is refused while inside."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def recorded(paths: list[Path]) -> tuple[list[int], list[float]]:
    """The frame numbers and times of the recordings read one after the other."""
    numbers: list[int] = []
    seconds: list[float] = []
    for path in paths:
        assert path.read_text().startswith(HEADER_LINE)
        recording = read_recording(path)
        assert recording.report.rejected_rows == 0, path
        numbers += [int(v) - 2000 for v in recording.data["pump_speed_rpm"]]
        seconds += list(recording.data["timestamp"].astype("int64").to_numpy() / 1e6)
    return numbers, seconds


def recorder_state(session: Session) -> tuple[str, str]:
    """The text and class of the page's ``recorder-state`` element."""
    (span,) = [part for part in header(session.snapshot()) if part.id == "recorder-state"]
    return span.children, span.className


def recorder_log(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_a_recording_cut_by_a_full_disk_goes_on_in_a_new_file_with_every_frame(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = Clock()
    recorder = Recorder(tmp_path, "serial-/dev/ttyUSB0", retry_s=10.0, clock=clock)
    first = recorder.status().path
    for i in range(10):
        assert recorder.write(numbered(i))
    with full_disk():
        for i in range(10, 30):  # 1 Hz for 20 s; the retries at 10 s and 20 s fail too
            clock.now += 1.0
            assert not recorder.write(numbered(i))
        during = recorder.status()
    # what is wrong now: the last retry could not start a new file
    assert during.error == (
        f"Recording stopped: cannot create a recording in {first.parent}: File too large; "
        "retrying every 10 s, monitoring continues in memory."
    )
    assert (during.held, during.rows_written, during.recording) == (20, 10, False)

    clock.now += 1.0  # the disk has room again; the retry is due with this frame
    for i in range(30, 40):
        assert recorder.write(numbered(i))
    recorder.close()
    status = recorder.status()

    assert status.error is None and status.recording
    assert status.previous_paths == (first,)
    assert status.path != first and status.path.parent == first.parent
    assert re.fullmatch(r"\d{8}T\d{6}Z_serial-dev-ttyUSB0(-\d+)?\.csv", status.path.name)
    assert sorted(first.parent.iterdir()) == sorted([first, status.path])  # no empty files
    assert (status.rows_written, status.held, status.held_written) == (40, 0, 20)
    assert status.outage_s == 20.0 and status.frames_lost == 0
    assert status.resumed_text == (
        f"Recording resumed in {status.path.name} after 20 s outage; "
        "20 frames from the outage written"
    )
    # both files together: every frame once, in order, at the time it was sent
    numbers, seconds = recorded([first, status.path])
    assert numbers == list(range(40))
    assert seconds == [T0 + i for i in range(40)]
    assert recorded([status.path])[0][0] == 10  # the new file starts with the outage
    # one line when it stopped, one when it resumed; the failed retries are not warned
    logged = [(level, text) for level, text in recorder_log(caplog) if level != "DEBUG"]
    assert logged == [
        (
            "ERROR",
            f"Recording stopped: writing {first} failed: File too large; "
            "retrying every 10 s, monitoring continues in memory.",
        ),
        ("INFO", status.resumed_text + "."),
    ]


def test_a_retry_waits_for_its_interval_and_a_status_request_makes_it_without_a_frame(
    tmp_path,
):
    blocker = tmp_path / "recordings"
    blocker.write_text("not a folder\n")
    clock = Clock()
    recorder = Recorder(tmp_path, "loop", retry_s=10.0, clock=clock)
    assert "a file of that name is in the way" in recorder.status().error
    for i in range(6):
        assert not recorder.write(numbered(i))
        clock.now += 1.0
    blocker.unlink()  # the cause is fixed at 6 s; the next retry is at 10 s
    clock.now = 9.9
    assert not recorder.write(numbered(6))
    assert recorder.status().error is not None and not blocker.exists()

    clock.now = 10.0  # no frame arrives: asking for the status retries
    status = recorder.status()
    assert status.error is None and status.path.parent == blocker
    assert status.previous_paths == () and status.held_written == 7
    assert recorded([status.path])[0] == list(range(7))
    recorder.close()


def test_frames_beyond_the_memory_queue_are_counted_as_not_recorded(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    blocker = tmp_path / "recordings"
    blocker.write_text("not a folder\n")
    clock = Clock()
    recorder = Recorder(tmp_path, "loop", retry_s=10.0, held_max=5, clock=clock)
    for i in range(8):
        recorder.write(numbered(i))
    during = recorder.status()
    assert (during.held, during.frames_lost) == (5, 3)
    blocker.unlink()
    clock.now = 10.0
    status = recorder.status()
    recorder.close()

    assert status.error is None and (status.held_written, status.frames_lost) == (5, 3)
    assert recorded([status.path])[0] == [3, 4, 5, 6, 7]  # the newest five, in order
    assert status.resumed_text.endswith(
        "; 5 frames from the outage written, 3 not recorded (more than the 5 held in memory)"
    )
    assert recorder_log(caplog)[-1] == ("INFO", status.resumed_text + ".")


def test_the_recording_alarm_is_logged_raised_and_cleared_and_the_page_names_the_new_file(
    tmp_path,
):
    data = tmp_path / "data"
    data.mkdir()
    blocker = data / "recordings"
    blocker.write_text("not a folder\n")
    clock = Clock()
    recorder = Recorder(data, "serial-test", retry_s=10.0, clock=clock)
    store = AlarmStore(data)
    session = Session(FakeSource("a console"), recorder=recorder, store=store, live=False)
    for i in range(5):
        session.on_frame(numbered(i))
        clock.now += 1.0

    (stopped,) = [a for a in session.alerts() if a.rule == "recording_stopped"]
    assert stopped.state == "active" and stopped.priority == "high" and stopped.technical
    assert "retrying every 10 s" in stopped.message
    text, css = recorder_state(session)
    assert text.startswith("Recording stopped: cannot create a recording in ")
    assert "retrying every 10 s" in text and "5 frames held in memory" in text
    assert css == "stale"
    with pytest.raises(ActionError, match="retries every 10 s"):
        session.acknowledge("recording_stopped", "sam", "specialist")

    blocker.unlink()
    clock.now = 10.0
    session.on_frame(numbered(5))  # the retry is due with this frame and succeeds
    status = recorder.status()
    assert status.error is None
    assert [a.rule for a in session.alerts() if a.rule == "recording_stopped"] == []
    log = [(e.state, e.message) for e in reversed(store.alarm_log(rule="recording_stopped"))]
    assert [state for state, _ in log] == ["active", "cleared"]
    assert log[1][1] == status.resumed_text
    text, css = recorder_state(session)
    assert text == (
        f"Recording resumed in {status.path.name} after 10 s outage; "
        "5 frames from the outage written"
    )
    assert css == "recording"
    recorder.close()
    store.close()
    assert recorded([status.path])[0] == list(range(6))
