"""Recording every frame of a live session to a canonical CSV file, flushed each row.

The file replays as it is (it is the canonical format). A crash loses at most the row
being written. When the disk refuses a write the recorder says so once, stops writing,
and reports the failure in its status so the session can raise an alarm; monitoring goes
on in memory.

A recording keeps milliseconds and a replay skips a row whose time repeats the one
before, so a frame in the same millisecond as the previous row (several frames read in
one chunk, an event entered just as a frame arrived) is written one millisecond later:
every row written replays.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters import HEADER_LINE, Frame, format_frame_row


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    path: Path | None
    rows_written: int
    error: str | None

    @property
    def recording(self) -> bool:
        return self.path is not None and self.error is None


def recording_name(source_label: str, start: datetime | None = None) -> str:
    """``<UTC start>_<source>.csv`` with the source label made safe for a file name."""
    start = start or datetime.now(UTC)
    stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = re.sub(r"[^A-Za-z0-9.]+", "-", source_label).strip("-.") or "source"
    return f"{stamp}_{label[:60]}.csv"


class Recorder:
    """Appends frames to ``<data-dir>/recordings/<UTC start>_<source>.csv``."""

    def __init__(self, data_dir: str | Path, source_label: str, start: datetime | None = None):
        self.folder = Path(data_dir) / "recordings"
        self.path: Path | None = None
        self._handle = None
        self._lock = threading.Lock()
        self._rows = 0
        self._error: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / recording_name(source_label, start)
            counter = 1
            while path.exists():  # two sessions started in the same second
                path = path.with_name(f"{path.stem}-{counter}.csv")
                counter += 1
            self._handle = open(path, "x", encoding="utf-8", newline="")  # noqa: SIM115
            self._handle.write(HEADER_LINE)
            self._handle.flush()
            self.path = path
        except OSError as exc:
            why = exc.strerror or str(exc)
            if self.folder.exists() and not self.folder.is_dir():
                why = "a file of that name is in the way; move it aside"
            self._fail(f"cannot create a recording in {self.folder}: {why}")

    def _fail(self, message: str) -> None:
        self._error = f"Recording stopped: {message}; monitoring continues in memory only."
        logging.getLogger("ecmo_monitor.recorder").error(self._error)
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None

    def write(self, frame: Frame) -> bool:
        """Append one frame; False when recording has stopped (see :attr:`status`)."""
        with self._lock:
            if self._handle is None:
                return False
            try:
                self._handle.write(format_frame_row(frame))
                self._handle.flush()
            except OSError as exc:
                self._fail(f"writing {self.path} failed: {exc.strerror or exc}")
                return False
            self._rows += 1
            return True

    def status(self) -> RecorderStatus:
        with self._lock:
            return RecorderStatus(self.path, self._rows, self._error)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
