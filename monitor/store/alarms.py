"""The SQLite store: append-only alarm log, acknowledgements, events, labs, baseline resets.

One file, ``<data-dir>/ecmo-monitor.db``, standard library ``sqlite3`` in WAL mode so
the page can read while the acquisition thread writes. The schema is versioned
(``PRAGMA user_version`` plus a ``schema_version`` table that records when each
migration ran); :data:`MIGRATIONS` lists them in order and opening a store applies the
missing ones in one transaction.

The log tables are append-only, and the database itself enforces it: triggers refuse
every UPDATE and DELETE on them, so no code path (ours or a hand-run query) can rewrite
history. Only the ``users`` table (for the sign-in of a later issue) may change.

Thread-safe: one connection guarded by a lock; every append commits at once (a crash
loses at most the record being written).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from adapters import format_timestamp
from monitor.store.records import (
    AcknowledgementEntry,
    BaselineResetEntry,
    EventEntry,
    LabEntry,
    LogEntry,
    SignInRecord,
    StoreError,
    UserRecord,
)
from monitor.store.schema import FILENAME, MIGRATIONS, SCHEMA_VERSION
from rules import Acknowledgement, Transition


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does on a full disk),
    so the error that caused it is the one reported."""
    if db.in_transaction:
        db.execute("ROLLBACK")


class AlarmStore:
    """The monitor's SQLite database (see module doc)."""

    def __init__(self, data_dir: str | Path, bed: str = "bed-1", *, filename: str = FILENAME):
        self.path = Path(data_dir) / filename
        self.bed = bed
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the database {self.path} ({exc}); check that the data directory "
                "is writable."
            ) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(
                f"{self.path} is not a usable ecmo-monitor database ({exc}); move it aside "
                "or choose another data directory."
            ) from None
        except BaseException:
            self._db.close()
            raise

    # -- schema ------------------------------------------------------------------------
    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer ecmo-monitor (schema {current}, this "
                    f"one knows up to {SCHEMA_VERSION}); upgrade ecmo-monitor to open it."
                )
            if current == 0:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, applied REAL NOT NULL, description TEXT NOT NULL)"
                )
            for version, description, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, applied, description) VALUES (?, ?, ?)",
                    (version, time.time(), description),
                )
                db.execute(f"PRAGMA user_version = {int(version)}")
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    @property
    def journal_mode(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    # -- appends -----------------------------------------------------------------------
    def _insert(self, sql: str, rows: Sequence[tuple]) -> None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(sql, rows)
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise

    def _transition_row(self, t: Transition) -> tuple:
        return (
            self.bed, float(t.time), format_timestamp(t.time), t.rule, str(t.priority), t.state,
            _number(t.value), _number(t.threshold), _number(t.baseline), t.user, t.role, t.note,
            t.message,
        )  # fmt: skip

    _LOG_SQL = (
        "INSERT INTO alarm_log (bed, time, time_utc, rule, priority, state, value, threshold, "
        "baseline, user, role, note, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def append_transitions(self, transitions: Iterable[Transition]) -> int:
        """Append alarm transitions to the log, in one transaction; how many."""
        rows = [self._transition_row(t) for t in transitions]
        if rows:
            self._insert(self._LOG_SQL, rows)
        return len(rows)

    def append_acknowledgement(self, ack: Acknowledgement) -> None:
        """Record an acknowledgement and its alarm-log line, together."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO acknowledgements (bed, time, time_utc, rule, priority, user, "
                    "role, note, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.bed, float(ack.time), format_timestamp(ack.time), ack.rule,
                        str(ack.priority), ack.user, ack.role, ack.note, ack.message,
                    ),
                )  # fmt: skip
                db.execute(self._LOG_SQL, self._transition_row(ack.transition()))
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise

    def append_event(self, kind: str, time: float, user: str | None = None, note: str = "") -> None:
        self._insert(
            "INSERT INTO events (bed, time, time_utc, kind, user, note) VALUES (?, ?, ?, ?, ?, ?)",
            [(self.bed, float(time), format_timestamp(time), kind, user, note)],
        )

    def append_lab(
        self, analyte: str, value: float, time: float, unit: str = "", user: str | None = None
    ) -> None:
        self._insert(
            "INSERT INTO lab_entries (bed, time, time_utc, analyte, value, unit, user) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(self.bed, float(time), format_timestamp(time), analyte, float(value), unit, user)],
        )

    def append_baseline_reset(
        self, time: float, user: str | None, reason: str = "baseline_reset"
    ) -> None:
        self._insert(
            "INSERT INTO baseline_resets (bed, time, time_utc, user, reason) VALUES (?, ?, ?, ?, ?)",
            [(self.bed, float(time), format_timestamp(time), user, reason)],
        )

    # -- reading back --------------------------------------------------------------------
    def _select(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    @staticmethod
    def _filters(bed, since, limit, extra=()) -> tuple[str, list]:
        clauses, args = ["bed = ?"], [bed]
        if since is not None:
            clauses.append("time >= ?")
            args.append(float(since))
        for column, value in extra:
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        tail = " WHERE " + " AND ".join(clauses) + " ORDER BY time DESC, id DESC"
        if limit is not None:
            tail += " LIMIT ?"
            args.append(int(limit))
        return tail, args

    def alarm_log(
        self, limit: int | None = None, rule: str | None = None, since: float | None = None
    ) -> list[LogEntry]:
        """Alarm-log rows of this bed, newest first."""
        tail, args = self._filters(self.bed, since, limit, [("rule", rule)])
        rows = self._select(
            "SELECT id, bed, time, rule, priority, state, value, threshold, baseline, user, role, "
            "note, message FROM alarm_log" + tail,
            args,
        )
        return [LogEntry(*row) for row in rows]

    def alarm_log_after(self, ident: int, limit: int = 500) -> list[LogEntry]:
        """Alarm-log rows of this bed with a row id above ``ident``, oldest first.

        What a publishing bed resends after the broker comes back: the rows the stream
        lacks, in the order they were written.
        """
        rows = self._select(
            "SELECT id, bed, time, rule, priority, state, value, threshold, baseline, user, role, "
            "note, message FROM alarm_log WHERE bed = ? AND id > ? ORDER BY id LIMIT ?",
            [self.bed, int(ident), int(limit)],
        )
        return [LogEntry(*row) for row in rows]

    def last_alarm_id(self) -> int:
        """The row id of this bed's newest alarm-log row (0 when it has none)."""
        [(ident,)] = self._select("SELECT MAX(id) FROM alarm_log WHERE bed = ?", [self.bed])
        return int(ident or 0)

    def acknowledgements(self, limit: int | None = None) -> list[AcknowledgementEntry]:
        tail, args = self._filters(self.bed, None, limit)
        rows = self._select(
            "SELECT id, bed, time, rule, priority, user, role, note, message FROM acknowledgements"
            + tail,
            args,
        )
        return [AcknowledgementEntry(*row) for row in rows]

    def events(self, limit: int | None = None) -> list[EventEntry]:
        tail, args = self._filters(self.bed, None, limit)
        rows = self._select("SELECT id, bed, time, kind, user, note FROM events" + tail, args)
        return [EventEntry(*row) for row in rows]

    def labs(self, limit: int | None = None, analyte: str | None = None) -> list[LabEntry]:
        tail, args = self._filters(self.bed, None, limit, [("analyte", analyte)])
        rows = self._select(
            "SELECT id, bed, time, analyte, value, unit, user FROM lab_entries" + tail, args
        )
        return [LabEntry(*row) for row in rows]

    def baseline_resets(self, limit: int | None = None) -> list[BaselineResetEntry]:
        tail, args = self._filters(self.bed, None, limit)
        rows = self._select("SELECT id, bed, time, user, reason FROM baseline_resets" + tail, args)
        return [BaselineResetEntry(*row) for row in rows]

    # -- users ---------------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        role: str,
        salt: bytes,
        pin_hash: bytes,
        iterations: int,
        created: float | None = None,
    ) -> None:
        try:
            self._insert(
                "INSERT INTO users (name, role, salt, pin_hash, iterations, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(name, role, salt, pin_hash, int(iterations), created or time.time())],
            )
        except sqlite3.IntegrityError:
            raise StoreError(
                f"A user called {name!r} already exists; choose another name."
            ) from None

    def user(self, name: str) -> UserRecord | None:
        rows = self._select(
            "SELECT name, role, salt, pin_hash, iterations, created FROM users WHERE name = ?",
            (name,),
        )
        return UserRecord(*rows[0]) if rows else None

    def users(self) -> list[UserRecord]:
        rows = self._select(
            "SELECT name, role, salt, pin_hash, iterations, created FROM users ORDER BY name"
        )
        return [UserRecord(*row) for row in rows]

    def remove_user(self, name: str) -> bool:
        """Remove a user (their sign-ins end with it); whether there was one."""
        with self._lock:
            removed = self._db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
        return bool(removed)

    def set_user_pin(self, name: str, salt: bytes, pin_hash: bytes, iterations: int) -> bool:
        with self._lock:
            changed = self._db.execute(
                "UPDATE users SET salt = ?, pin_hash = ?, iterations = ? WHERE name = ?",
                (salt, pin_hash, int(iterations), name),
            ).rowcount
        return bool(changed)

    # -- sign-ins ------------------------------------------------------------------------
    def add_sign_in(self, token_hash: bytes, name: str, address: str, now: float) -> None:
        self._insert(
            "INSERT INTO sign_ins (token_hash, name, address, started, last_seen) "
            "VALUES (?, ?, ?, ?, ?)",
            [(token_hash, name, address, now, now)],
        )

    def sign_in(self, token_hash: bytes) -> SignInRecord | None:
        rows = self._select(
            "SELECT name, address, started, last_seen, ended, end_reason FROM sign_ins "
            "WHERE token_hash = ?",
            (token_hash,),
        )
        return SignInRecord(*rows[0]) if rows else None

    def touch_sign_in(self, token_hash: bytes, now: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sign_ins SET last_seen = ? WHERE token_hash = ? AND ended IS NULL",
                (now, token_hash),
            )

    def end_sign_ins(
        self, now: float, reason: str, token_hash: bytes | None = None, name: str | None = None
    ) -> int:
        """End one sign-in (by token) or every open one of a user (by name); how many."""
        where, arg = (
            ("token_hash = ?", token_hash) if token_hash is not None else ("name = ?", name)
        )
        with self._lock:
            return self._db.execute(
                f"UPDATE sign_ins SET ended = ?, end_reason = ? WHERE {where} AND ended IS NULL",
                (now, reason, arg),
            ).rowcount

    def last_sign_in(self, name: str) -> float | None:
        rows = self._select("SELECT max(started) FROM sign_ins WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AlarmStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
