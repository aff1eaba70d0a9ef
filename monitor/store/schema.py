"""The store's schema: its tables, the append-only triggers and the migrations in order.

Opening a store applies the missing migrations in one transaction; never edit a released
entry of :data:`MIGRATIONS`, add one.
"""

from __future__ import annotations

FILENAME = "ecmo-monitor.db"
#: Tables that only ever grow.
LOG_TABLES: tuple[str, ...] = (
    "alarm_log",
    "acknowledgements",
    "events",
    "lab_entries",
    "baseline_resets",
)


def _append_only(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be deleted'); END",
    )


_V1 = (
    """CREATE TABLE alarm_log (
        id INTEGER PRIMARY KEY,
        bed TEXT NOT NULL,
        time REAL NOT NULL,
        time_utc TEXT NOT NULL,
        rule TEXT NOT NULL,
        priority TEXT NOT NULL,
        state TEXT NOT NULL,
        value REAL,
        threshold REAL,
        baseline REAL,
        user TEXT,
        role TEXT,
        note TEXT,
        message TEXT NOT NULL
    )""",
    "CREATE INDEX alarm_log_time ON alarm_log (time)",
    """CREATE TABLE acknowledgements (
        id INTEGER PRIMARY KEY,
        bed TEXT NOT NULL,
        time REAL NOT NULL,
        time_utc TEXT NOT NULL,
        rule TEXT NOT NULL,
        priority TEXT NOT NULL,
        user TEXT NOT NULL,
        role TEXT NOT NULL,
        note TEXT NOT NULL,
        message TEXT NOT NULL
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        bed TEXT NOT NULL,
        time REAL NOT NULL,
        time_utc TEXT NOT NULL,
        kind TEXT NOT NULL,
        user TEXT,
        note TEXT NOT NULL
    )""",
    """CREATE TABLE lab_entries (
        id INTEGER PRIMARY KEY,
        bed TEXT NOT NULL,
        time REAL NOT NULL,
        time_utc TEXT NOT NULL,
        analyte TEXT NOT NULL,
        value REAL NOT NULL,
        unit TEXT NOT NULL,
        user TEXT
    )""",
    """CREATE TABLE baseline_resets (
        id INTEGER PRIMARY KEY,
        bed TEXT NOT NULL,
        time REAL NOT NULL,
        time_utc TEXT NOT NULL,
        user TEXT,
        reason TEXT NOT NULL
    )""",
    """CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        salt BLOB NOT NULL,
        pin_hash BLOB NOT NULL,
        iterations INTEGER NOT NULL,
        created REAL NOT NULL
    )""",
    *(statement for table in LOG_TABLES for statement in _append_only(table)),
)

#: Sign-ins live on the server: a cookie names one by a token (kept here only hashed),
#: and signing out, a timeout or a change to the user ends it for every copy of the cookie.
_V2 = (
    """CREATE TABLE sign_ins (
        token_hash BLOB PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        started REAL NOT NULL,
        last_seen REAL NOT NULL,
        ended REAL,
        end_reason TEXT
    )""",
    "CREATE INDEX sign_ins_by_name ON sign_ins (name, started)",
)

#: (version, what it does, statements), oldest first; never edit a released entry.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "alarm log, acknowledgements, events, labs, baseline resets, users", _V1),
    (2, "sign-ins kept on the server", _V2),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
