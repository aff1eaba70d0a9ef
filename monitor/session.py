"""One circuit (bed): its source, buffer, recorder and, when wired, rules engine and store.

The acquisition thread of the source calls :meth:`Session.on_frame`; everything else
(the Dash callbacks) reads snapshots and never talks to a device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters import NOT_DELIVERING, Frame, Source, SourceStatus

from .buffer import TelemetryBuffer
from .recorder import Recorder, RecorderStatus

FrameListener = Callable[[Frame, int], None]


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What the page needs to draw the header: the state of every running part."""

    bed_id: str
    bed_label: str
    weight_kg: float | None
    source: SourceStatus
    recorder: RecorderStatus | None
    last_seq: int
    newest_frame_time: float | None
    newest_frame_received: float | None  # wall clock (time.time()) when it arrived
    frames_in_buffer: int

    @property
    def stale(self) -> bool:
        return self.source.state in NOT_DELIVERING

    def frame_age(self, now: float | None = None) -> float | None:
        """Seconds since the newest frame arrived (wall clock)."""
        if self.newest_frame_received is None:
            return None
        return max(0.0, (now or time.time()) - self.newest_frame_received)


class Session:
    """Owns the running pieces of one bed and wires frames through them."""

    def __init__(
        self,
        source: Source,
        buffer: TelemetryBuffer | None = None,
        recorder: Recorder | None = None,
        bed_id: str = "bed-1",
        bed_label: str | None = None,
        weight_kg: float | None = None,
    ) -> None:
        self.bed_id = bed_id
        self.bed_label = bed_label or bed_id
        self.weight_kg = weight_kg
        self.source = source
        self.buffer = buffer or TelemetryBuffer()
        self.recorder = recorder
        self._listeners: list[FrameListener] = []
        self._lock = threading.Lock()
        self._newest_received: float | None = None
        self._newest_time: float | None = None

    def add_listener(self, listener: FrameListener) -> None:
        """Call ``listener(frame, seq)`` for every frame, after buffer and recorder."""
        self._listeners.append(listener)

    def on_frame(self, frame: Frame) -> None:
        seq = self.buffer.append(frame)
        if self.recorder is not None:
            self.recorder.write(frame)
        with self._lock:
            self._newest_received = time.time()
            self._newest_time = frame.timestamp
        for listener in self._listeners:
            listener(frame, seq)

    def start(self) -> None:
        self.source.start(self.on_frame)

    def stop(self) -> None:
        self.source.stop()
        if self.recorder is not None:
            self.recorder.close()

    def snapshot(self) -> SessionSnapshot:
        with self._lock:
            received, newest = self._newest_received, self._newest_time
        return SessionSnapshot(
            bed_id=self.bed_id,
            bed_label=self.bed_label,
            weight_kg=self.weight_kg,
            source=self.source.status(),
            recorder=self.recorder.status() if self.recorder else None,
            last_seq=self.buffer.last_seq,
            newest_frame_time=newest,
            newest_frame_received=received,
            frames_in_buffer=len(self.buffer),
        )


class SessionRegistry:
    """Sessions keyed by bed id, so one server can later show many beds."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def add(self, session: Session) -> Session:
        self._sessions[session.bed_id] = session
        return session

    def get(self, bed_id: str) -> Session:
        return self._sessions[bed_id]

    def first(self) -> Session:
        return next(iter(self._sessions.values()))

    def __iter__(self):
        return iter(self._sessions.values())
