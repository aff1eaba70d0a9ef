"""The one interface every telemetry source (serial, replay, simulator) implements.

A source owns one thread that produces frames and hands each to ``on_frame``. Whatever
else wants to know how the source is doing reads :meth:`Source.status`, a snapshot; "no
data" and "disconnected" are states of their own, never a silent gap.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .contract import Frame

FrameHandler = Callable[[Frame], None]


class SourceState(StrEnum):
    CONNECTING = "connecting"
    RECEIVING = "receiving"
    NO_DATA = "no_data"
    DISCONNECTED = "disconnected"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


#: States in which the feed is not delivering data; the technical alarm keys off these.
NOT_DELIVERING = frozenset({SourceState.CONNECTING, SourceState.NO_DATA, SourceState.DISCONNECTED})


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A snapshot of a source's health, safe to read from any thread."""

    kind: str
    description: str
    state: SourceState
    good_frames: int
    bad_frames: int
    reconnects: int
    #: The latest problems, oldest first (at most 50): rejected input, errors, losses.
    recent_problems: tuple[str, ...]


class Source:
    """Base class: counters, state and problem log shared by every source.

    Subclasses implement :meth:`_run` (the body of the acquisition thread) and call
    :meth:`_deliver`, :meth:`_reject` and :meth:`_set_state`.
    """

    kind = "source"

    def __init__(self, description: str) -> None:
        self.description = description
        self._lock = threading.Lock()
        self._state = SourceState.STOPPED
        self._good = 0
        self._bad = 0
        self._reconnects = 0
        self._problems: deque[str] = deque(maxlen=50)
        self._on_frame: FrameHandler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self, on_frame: FrameHandler) -> None:
        """Start the acquisition thread; each frame is passed to ``on_frame`` in order."""
        self._on_frame = on_frame
        self._stop.clear()
        self._set_state(SourceState.CONNECTING)
        self._thread = threading.Thread(target=self._run_guarded, name=self.kind, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._state not in (SourceState.FINISHED,):
            self._set_state(SourceState.STOPPED)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(
                kind=self.kind,
                description=self.description,
                state=self._state,
                good_frames=self._good,
                bad_frames=self._bad,
                reconnects=self._reconnects,
                recent_problems=tuple(self._problems),
            )

    # -- for subclasses --------------------------------------------------------------
    def _run(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # the thread must never die silently
            self._note_error(f"{self.description}: stopped on an unexpected error: {exc!r}")
            self._set_state(SourceState.DISCONNECTED)
            raise

    def _deliver(self, frame: Frame) -> None:
        with self._lock:
            self._good += 1
            if self._state in NOT_DELIVERING:
                self._state = SourceState.RECEIVING
        if self._on_frame is not None:
            self._on_frame(frame)

    def _reject(self, where: str, why: str) -> None:
        with self._lock:
            self._bad += 1
            self._problems.append(f"{where}: {why}")

    def _note_error(self, message: str) -> None:
        with self._lock:
            self._problems.append(message)

    def _count_reconnect(self) -> None:
        with self._lock:
            self._reconnects += 1

    def _set_state(self, state: SourceState) -> None:
        with self._lock:
            self._state = state

    @property
    def state(self) -> SourceState:
        with self._lock:
            return self._state
