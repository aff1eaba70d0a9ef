"""Replaying a recorded session as if it were live: speed factor, pause, seek, loop."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from .contract import EVENT, NUMERIC_COLUMNS, Frame
from .csv_reader import Recording, read_recording
from .profiles import ColumnProfile
from .source import Source, SourceState

#: Frames delivered between checks of the clock/controls when playing as fast as possible.
_BURST = 2000


class ReplaySource(Source):
    """Plays a recording's rows, in time order, at ``speed`` times real time.

    ``speed`` of 0 or infinity plays as fast as possible. Frames keep their recorded
    timestamps; when looping, each pass is shifted by the recording's span so time
    never runs backwards. Lab columns and ``event`` pass through with the frame.
    """

    kind = "replay"

    def __init__(
        self,
        recording: Recording | str | Path,
        speed: float = 1.0,
        loop: bool = False,
        profile: str | ColumnProfile | None = None,
    ) -> None:
        if not isinstance(recording, Recording):
            recording = read_recording(recording, profile)
            # the read's scratch (the file's bytes, arrow's table) goes back to the system
            # now, not when arrow's allocator would next reuse it: tens of MB for days
            pa.default_memory_pool().release_unused()
        self.recording = recording
        self._speed = self._check_speed(speed)
        self.loop = loop
        super().__init__(f"replay {recording.path.name} at {self.speed_label}")
        data = recording.data
        self._seconds = recording.seconds
        # the recording's own columns (float64 already: views, not copies), so a replay
        # holds its session once; frames are built from them a burst at a time
        self._columns = [data[c].to_numpy(dtype="float64") for c in NUMERIC_COLUMNS]
        self._events = {i: e for i, e in enumerate(data[EVENT].to_numpy(dtype=object)) if e}
        self._masks = data["artifact_mask"].to_numpy(dtype="int64")
        self._controls = threading.Condition()
        self._paused = False
        self._index = 0
        self._loop_offset = 0.0
        self._anchor: tuple[float, float] | None = None  # (recording seconds, monotonic)

    # -- controls (any thread) -------------------------------------------------------
    @staticmethod
    def _check_speed(speed: float) -> float:
        if speed is None or speed <= 0 or math.isinf(speed):
            return math.inf
        return float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def speed_label(self) -> str:
        return "as fast as possible" if math.isinf(self._speed) else f"{self._speed:g}x"

    @property
    def span(self) -> tuple[float, float]:
        return float(self._seconds[0]), float(self._seconds[-1])

    @property
    def position(self) -> float:
        """Recording time (POSIX seconds) of the next frame to play."""
        with self._controls:
            i = min(self._index, len(self._seconds) - 1)
            return float(self._seconds[i])

    @property
    def paused(self) -> bool:
        return self._paused

    def set_speed(self, speed: float) -> None:
        with self._controls:
            self._speed = self._check_speed(speed)
            self._anchor = None
            self.description = f"replay {self.recording.path.name} at {self.speed_label}"
            self._controls.notify_all()

    def pause(self) -> None:
        with self._controls:
            self._paused = True
            self._anchor = None
            self._set_state(SourceState.PAUSED)
            self._controls.notify_all()

    def resume(self) -> None:
        with self._controls:
            self._paused = False
            self._anchor = None
            self._set_state(SourceState.RECEIVING)
            self._controls.notify_all()

    def seek(self, when: float | datetime) -> None:
        """Continue from the first frame at or after ``when`` (POSIX seconds or datetime)."""
        target = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._controls:
            self._index = int(np.searchsorted(self._seconds, target, side="left"))
            self._anchor = None
            self._controls.notify_all()

    def frames_before(self, when: float) -> Iterator[Frame]:
        """The recording's frames before ``when`` (POSIX seconds), in order.

        What a seek skips: a caller that must have seen them (an engine whose state
        depends on everything before) replays them first.
        """
        yield from self._frames(0, int(np.searchsorted(self._seconds, float(when), side="left")))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._controls:
            self._controls.notify_all()
        super().stop(timeout)

    # -- the acquisition thread -------------------------------------------------------
    def _frames(self, start: int, end: int) -> Iterator[Frame]:
        """Frames of rows [start, end), built a burst of rows at a time."""
        for a in range(start, end, _BURST):
            b = min(end, a + _BURST)
            rows = np.column_stack([column[a:b] for column in self._columns]).tolist()
            seconds = self._seconds[a:b].tolist()
            masks = self._masks[a:b].tolist()
            for k, row in enumerate(rows):
                timestamp = seconds[k] + self._loop_offset
                yield Frame(
                    timestamp=timestamp,
                    values={n: v for n, v in zip(NUMERIC_COLUMNS, row, strict=True) if v == v},
                    event=self._events.get(a + k),
                    received_at=time.time(),
                    artifacts=masks[k],
                    device_timestamp=timestamp,
                )

    def _run(self) -> None:
        self._set_state(SourceState.PAUSED if self._paused else SourceState.RECEIVING)
        count = len(self._seconds)
        while not self.stopping:
            with self._controls:
                while self._paused and not self.stopping:
                    self._controls.wait(0.5)
                if self.stopping:
                    break
                i = self._index
                if i >= count:
                    if not self.loop:
                        self._set_state(SourceState.FINISHED)
                        return
                    step = float(np.median(np.diff(self._seconds))) if count > 1 else 1.0
                    self._loop_offset += self._seconds[-1] - self._seconds[0] + step
                    self._index = 0
                    self._anchor = None
                    continue
                speed = self._speed
                if math.isinf(speed):
                    end = min(count, i + _BURST)
                else:
                    if self._anchor is None:
                        self._anchor = (float(self._seconds[i]), time.monotonic())
                    rec0, mono0 = self._anchor
                    due = rec0 + (time.monotonic() - mono0) * speed
                    end = int(np.searchsorted(self._seconds, due, side="right"))
                    if end <= i:
                        wait = (self._seconds[i] - due) / speed
                        self._controls.wait(min(wait, 0.25))
                        continue
                self._index = end
            for frame in self._frames(i, end):
                self._deliver(frame)
