"""Recording every frame of a live session to a canonical CSV file, written each row.

The file replays as it is (it is the canonical format). A crash loses at most the row
being written, and during an outage the frames held in memory.

When the disk refuses a write (full, unwritable, a file where the folder goes) the
recorder logs it once and reports it in its status, so the session raises the
``recording_stopped`` alarm; monitoring goes on in memory. The frames it could not write
wait in a bounded queue in memory (72 h at 1 Hz by default; the oldest go first and are
counted as not recorded). Every ``retry_s`` seconds (10 s) it tries again, on the next
write or the next status request, whichever comes first, so a retry needs no frame.
Once it can write, it goes on in a new file (a new start stamp, never over an old file),
writes the held frames first and then the new ones, logs that once and says in its
status where the recording continues. A row cut by the failing write is taken back, so
the files read one after the other hold every frame once, in time order.

A recording keeps milliseconds and a replay skips a row whose time repeats the one
before; the session stamps each frame a millisecond of its own (``adapters.FrameClock``)
and the recorder writes the frames as given, in the order given, held ones included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from adapters import HEADER_LINE, Frame, format_frame_row
from monitor.runtime.buffer import DEFAULT_CAPACITY

log = logging.getLogger("ecmo_monitor.recorder")


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """Where the recording stands: the file written now, and the last outage if any.

    ``path`` is the file being written (during an outage, the last one written);
    ``previous_paths`` the earlier files of this session, oldest first. ``held`` frames
    wait in memory for the next file; ``frames_lost`` were never recorded (the queue was
    full). ``resumed_at`` (wall clock), ``outage_s`` and ``held_written`` describe the
    last time recording resumed.
    """

    path: Path | None
    rows_written: int
    error: str | None
    previous_paths: tuple[Path, ...] = ()
    held: int = 0
    frames_lost: int = 0
    resumed_at: float | None = None
    outage_s: float | None = None
    held_written: int = 0
    lost_in_outage: int = 0
    held_max: int = DEFAULT_CAPACITY

    @property
    def recording(self) -> bool:
        return self.path is not None and self.error is None

    @property
    def resumed_text(self) -> str | None:
        """Where the recording went on after its last outage, in a sentence (no period)."""
        if self.resumed_at is None or self.path is None:
            return None
        text = (
            f"Recording resumed in {self.path.name} after {_seconds_text(self.outage_s or 0)}"
            f" outage; {self.held_written} frames from the outage written"
        )
        if self.lost_in_outage:
            text += (
                f", {self.lost_in_outage} not recorded "
                f"(more than the {self.held_max} held in memory)"
            )
        return text


def _seconds_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def recording_name(source_label: str, start: datetime | None = None) -> str:
    """``<UTC start>_<source>.csv`` with the source label made safe for a file name."""
    start = start or datetime.now(UTC)
    stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = re.sub(r"[^A-Za-z0-9.]+", "-", source_label).strip("-.") or "source"
    return f"{stamp}_{label[:60]}.csv"


class Recorder:
    """Appends frames to ``<data-dir>/recordings/<UTC start>_<source>.csv``.

    ``retry_s`` is the time between attempts after a failure, ``held_max`` how many
    unwritten frames are kept for the next file, ``clock`` the monotonic clock the retry
    interval and the outage are measured with.
    """

    def __init__(
        self,
        data_dir: str | Path,
        source_label: str,
        start: datetime | None = None,
        *,
        retry_s: float = 10.0,
        held_max: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(data_dir) / "recordings"
        self.source_label = source_label
        self.retry_s = float(retry_s)
        self.path: Path | None = None
        self._clock = clock
        self._handle: BinaryIO | None = None
        self._size = 0  # bytes of whole rows in the current file
        self._file_rows = 0
        self._lock = threading.Lock()
        self._rows = 0
        self._error: str | None = None
        self._previous: list[Path] = []
        self._held: deque[bytes] = deque(maxlen=held_max)
        self._held_max = held_max
        self._lost = 0
        self._lost_now = 0
        self._failed_at = 0.0
        self._next_retry = 0.0
        self._resumed: tuple[float, float, int, int] | None = None
        self._closed = False
        why = self._open(start)
        if why is not None:
            self._stop(why)

    # -- files ----------------------------------------------------------------------------
    def _open(self, start: datetime | None = None) -> str | None:
        """Start a new file with its header; None, or why it could not be started."""
        path = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            first = self.folder / recording_name(self.source_label, start)
            path, counter = first, 1
            while True:
                try:  # "x": two sessions in the same second never share or overwrite a file
                    handle = open(path, "xb", buffering=0)  # noqa: SIM115 - kept open
                    break
                except FileExistsError:
                    path = first.with_name(f"{first.stem}-{counter}.csv")
                    counter += 1
            try:
                _write_all(handle, HEADER_LINE.encode())
            except OSError:
                handle.close()
                with contextlib.suppress(OSError):
                    path.unlink()  # ours, and without a row: nothing to keep
                raise
        except OSError as exc:
            why = exc.strerror or str(exc)
            if self.folder.exists() and not self.folder.is_dir():
                why = "a file of that name is in the way; move it aside"
            return f"cannot create a recording in {self.folder}: {why}"
        if self.path is not None:
            self._previous.append(self.path)
        self.path, self._handle = path, handle
        self._size, self._file_rows = len(HEADER_LINE.encode()), 0
        return None

    def _write_row(self, row: bytes) -> str | None:
        """Append one row to the current file; None, or why it failed (file closed)."""
        try:
            _write_all(self._handle, row)
        except OSError as exc:
            why = f"writing {self.path} failed: {exc.strerror or exc}"
            with contextlib.suppress(OSError):  # take back a cut row; shrinking needs no room
                os.ftruncate(self._handle.fileno(), self._size)
            self._close_file(abandon=True)
            return why
        self._size += len(row)
        self._file_rows += 1
        self._rows += 1
        return None

    def _close_file(self, abandon: bool = False) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self._handle.close()
        self._handle = None
        if abandon and self._file_rows == 0 and self.path is not None:
            with contextlib.suppress(OSError):  # a header without a row records nothing
                self.path.unlink()
            self.path = self._previous.pop() if self._previous else None

    # -- outage and retry -----------------------------------------------------------------
    def _message(self, why: str) -> str:
        return (
            f"Recording stopped: {why}; retrying every {self.retry_s:g} s, "
            "monitoring continues in memory."
        )

    def _stop(self, why: str) -> None:
        self._error = self._message(why)
        now = self._clock()
        self._failed_at, self._next_retry = now, now + self.retry_s
        self._lost_now = 0
        log.error(self._error)

    def _hold(self, row: bytes) -> None:
        if len(self._held) == self._held_max:
            self._lost += 1
            self._lost_now += 1
        self._held.append(row)

    def _retry_if_due(self, now: float) -> None:
        if self._error is None or self._closed or now < self._next_retry:
            return
        self._next_retry = now + self.retry_s
        why = self._open()
        written = 0
        while why is None and self._held:
            why = self._write_row(self._held[0])
            if why is None:
                self._held.popleft()
                written += 1
        if why is not None:  # still failing: what is wrong now, said on the page only
            self._error = self._message(why)
            log.debug("recording retry failed: %s", why)
            return
        self._error = None
        self._resumed = (time.time(), now - self._failed_at, written, self._lost_now)
        log.info("%s.", self._status().resumed_text)

    # -- the public surface ---------------------------------------------------------------
    def write(self, frame: Frame) -> bool:
        """Append one frame; False when it is held in memory instead (see :meth:`status`)."""
        row = format_frame_row(frame).encode()
        with self._lock:
            if self._closed:
                return False
            self._retry_if_due(self._clock())
            if self._error is None:
                why = self._write_row(row)
                if why is None:
                    return True
                self._stop(why)
            self._hold(row)
            return False

    @property
    def stopped(self) -> bool:
        """Whether recording is in an outage right now (cheap; no retry)."""
        return self._error is not None

    def status(self) -> RecorderStatus:
        """The recording's state; retries first when a retry is due."""
        with self._lock:
            self._retry_if_due(self._clock())
            return self._status()

    def _status(self) -> RecorderStatus:
        resumed_at, outage_s, held_written, lost_in_outage = self._resumed or (None, None, 0, 0)
        return RecorderStatus(
            path=self.path,
            rows_written=self._rows,
            error=self._error,
            previous_paths=tuple(self._previous),
            held=len(self._held),
            frames_lost=self._lost,
            resumed_at=resumed_at,
            outage_s=outage_s,
            held_written=held_written,
            lost_in_outage=lost_in_outage,
            held_max=self._held_max,
        )

    def close(self) -> None:
        """Close the file; frames still held get one last attempt, then are counted lost."""
        with self._lock:
            if self._error is not None and self._held:
                self._next_retry = 0.0
                self._retry_if_due(self._clock())
            if self._held:
                log.warning("%d frames held in memory were not recorded.", len(self._held))
                self._lost += len(self._held)
                self._held.clear()
            self._close_file()
            self._closed = True


def _write_all(handle: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` unbuffered, so a failure leaves nothing pending to go later."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]
