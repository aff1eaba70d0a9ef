"""QA replays: a session of its own for each signed-in QA user, never shared.

A QA user who opens a recording gets a replay session keyed by their name; another QA
user opening another recording gets another, and neither sees the other's. At most
``limit`` replays run at once: opening one more closes the one idle longest. The live
beds never hold a replay, so a bedside viewer cannot land on one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from adapters import Recording, ReplaySource
from monitor.runtime.session import Session
from rules import IncrementalEngine, RulesConfig

#: The bed id a browser holds while it shows its user's QA replay.
QA_BED = "qa-replay"
#: Replays kept at once by default (each holds a recording and an engine in memory).
MAX_REPLAYS = 4


class QaReplays:
    """The QA replay sessions of one server, one per user name, least recently used last."""

    def __init__(self, limit: int = MAX_REPLAYS, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._used: dict[str, float] = {}

    def open(
        self, user: str, recording: Recording, config: RulesConfig, label: str, speed: float = 60.0
    ) -> Session:
        """A new paused replay of ``recording`` for ``user``, replacing theirs if any."""
        source = ReplaySource(recording, speed=speed)
        source.pause()
        session = Session(
            source,
            engine=IncrementalEngine(config),
            bed_id=QA_BED,
            bed_label=label,
            live=False,
        )
        self._put(user, session)
        session.start()
        return session

    def get(self, user: str) -> Session | None:
        """The user's replay (and it counts as used now), or None."""
        with self._lock:
            session = self._sessions.get(user)
            if session is not None:
                self._used[user] = self._clock()
            return session

    def seek(self, user: str, target: float) -> Session | None:
        """Seek the user's replay to ``target`` (POSIX seconds); the new session, or None.

        The engine's state depends on everything before, so a seek (backwards or
        forwards) replays the frames before the target at full speed into a fresh
        session, which then waits paused at the target.
        """
        old = self.get(user)
        if old is None or not isinstance(old.source, ReplaySource):
            return None
        source = old.source
        fresh_source = ReplaySource(
            source.recording, speed=source.speed if source.speed != float("inf") else 0
        )
        fresh_source.pause()
        fresh_source.seek(target)
        session = Session(
            fresh_source,
            engine=IncrementalEngine(old.engine.config),
            bed_id=QA_BED,
            bed_label=old.bed_label,
            live=False,
        )
        for frame in fresh_source.frames_before(target):
            session.on_frame(frame)
        self._put(user, session)
        session.start()
        return session

    def close(self, user: str) -> None:
        with self._lock:
            session = self._sessions.pop(user, None)
            self._used.pop(user, None)
        if session is not None:
            session.stop()

    def close_all(self) -> None:
        for user in list(self._sessions):
            self.close(user)

    def users(self) -> list[str]:
        """Who has a replay open, least recently used first."""
        with self._lock:
            return sorted(self._sessions, key=self._used.__getitem__)

    def _put(self, user: str, session: Session) -> None:
        closed = []
        with self._lock:
            old = self._sessions.pop(user, None)
            if old is not None:
                closed.append(old)
            while len(self._sessions) >= self.limit:
                idle = min(self._sessions, key=self._used.__getitem__)
                closed.append(self._sessions.pop(idle))
                self._used.pop(idle)
            self._sessions[user] = session
            self._used[user] = self._clock()
        for stale in closed:
            stale.stop()
