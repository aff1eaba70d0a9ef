"""The HL7 link's outbox: messages waiting for their acknowledgement, in order, on disk.

A SQLite file in the data directory (``hl7-outbox.db``, WAL). A message is queued in the
same transaction as the feeder's cursors (the last interval reported, the last alarm
log row), so a restart of the monitor neither loses nor repeats one; it leaves the
outbox only when the engine acknowledged it (MSA-1 AA). Its row id is its control id
(MSH-10), the same on every retry, so an engine can drop a repeat it already holds.

Bounded: at ``capacity`` messages a new one is refused and counted as dropped (the
link's status says so), rather than the oldest being thrown away unseen.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.store import StoreError

FILENAME = "hl7-outbox.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    reports REAL NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message waiting: its control id, when it was queued (wall clock), the session
    time it reports, what it is (ORU^R01 or ORU^R40) and its text."""

    id: int
    created: float
    reports: float
    kind: str
    message: str


#: A message to queue: (session time it reports, kind, build(control id) -> ER7 text).
Entry = tuple[float, str, Callable[[str], str]]


class Outbox:
    """Messages in order, each until acknowledged; thread-safe (one connection, a lock)."""

    def __init__(self, data_dir: str | Path, capacity: int = 10_000) -> None:
        path = Path(data_dir) / FILENAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # queued means on disk
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: the HL7 outbox cannot be opened ({exc}).") from None
        self.path = path
        self.capacity = capacity
        self.dropped = 0
        self._lock = threading.Lock()

    def put(self, entries: Iterable[Entry], cursors: Mapping[str, float]) -> int:
        """Queue ``entries`` in order and move the cursors, all or nothing; how many were
        queued (the rest dropped: the outbox was full)."""
        queued = 0
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                now = time.time()
                for reports, kind, build in entries:
                    if count >= self.capacity:
                        self.dropped += 1
                        continue
                    row = db.execute(
                        "INSERT INTO outbox (created, reports, kind, message) VALUES (?, ?, ?, '')",
                        (now, reports, kind),
                    ).lastrowid
                    db.execute("UPDATE outbox SET message = ? WHERE id = ?", (build(str(row)), row))
                    count += 1
                    queued += 1
                db.executemany(
                    "INSERT INTO cursors (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    list(cursors.items()),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return queued

    def cursor(self, name: str) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else float(row[0])

    def oldest(self) -> Waiting | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, created, reports, kind, message FROM outbox ORDER BY id LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return Waiting(int(row[0]), float(row[1]), float(row[2]), row[3], row[4])

    def done(self, ident: int) -> None:
        """The engine acknowledged message ``ident``."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (ident,))

    def waiting(self) -> tuple[int, float | None]:
        """How many messages wait, and when the oldest of them was queued."""
        with self._lock:
            count, oldest = self._db.execute("SELECT COUNT(*), MIN(created) FROM outbox").fetchone()
        return int(count), None if oldest is None else float(oldest)

    def close(self) -> None:
        with self._lock:
            self._db.close()
