"""What outlives a process: the SQLite alarm log and the users who may sign in."""

from monitor.store.alarms import AlarmStore
from monitor.store.records import (
    AcknowledgementEntry,
    BaselineResetEntry,
    EventEntry,
    LabEntry,
    LogEntry,
    StoreError,
    UserRecord,
)
from monitor.store.schema import FILENAME, LOG_TABLES, SCHEMA_VERSION
from monitor.store.users import (
    LOCKOUT_SECONDS,
    PERMISSIONS,
    AuthError,
    User,
    Users,
    require,
    session_secret,
)

__all__ = [
    "FILENAME",
    "LOCKOUT_SECONDS",
    "LOG_TABLES",
    "PERMISSIONS",
    "SCHEMA_VERSION",
    "AcknowledgementEntry",
    "AlarmStore",
    "AuthError",
    "BaselineResetEntry",
    "EventEntry",
    "LabEntry",
    "LogEntry",
    "StoreError",
    "User",
    "UserRecord",
    "Users",
    "require",
    "session_secret",
]
