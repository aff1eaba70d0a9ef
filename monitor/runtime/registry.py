"""The running beds of one server, keyed by bed id."""

from __future__ import annotations

from monitor.runtime.session import Session


class SessionRegistry:
    """Sessions keyed by bed id, so one server can later show many beds."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def add(self, session: Session) -> Session:
        self._sessions[session.bed_id] = session
        return session

    def get(self, bed_id: str) -> Session:
        return self._sessions[bed_id]

    def find(self, bed_id: object) -> Session:
        """The session for ``bed_id``, or the first one for an unknown id."""
        session = self._sessions.get(bed_id) if isinstance(bed_id, str) else None
        return session or self.first()

    def first(self) -> Session:
        return next(iter(self._sessions.values()))

    def __iter__(self):
        return iter(self._sessions.values())
