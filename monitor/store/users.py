"""Users, roles and sign-in: salted PBKDF2 PINs, lockout, the signed session cookie.

Permissions are checked on the server in every callback that changes state (see
:func:`require`), never by hiding buttons alone. Roles (DESIGN.md section 7):

- ``viewer``: sees everything live (everyone, signed in or not);
- ``specialist``: also acknowledges alerts, resets the baseline, records events and labs,
  sets weight, the flow minimum and thresholds;
- ``qa``: also replays and analyses recordings and exports reports. QA reviews after the
  fact, so it does not acknowledge a live bedside alert.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.store.alarms import AlarmStore

log = logging.getLogger("ecmo_monitor.auth")

ROLES: tuple[str, ...] = ("viewer", "specialist", "qa")
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "specialist": frozenset(
        {"acknowledge", "record_event", "enter_lab", "reset_baseline", "settings", "thresholds"}
    ),
    "qa": frozenset({"replay", "analyse", "export"}),
}
PBKDF2_ITERATIONS = 200_000
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
_ROLE_WORDS = {"viewer": "a viewer", "specialist": "a specialist", "qa": "a QA user"}
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_PIN = re.compile(r"^[0-9]{4,12}$")


class AuthError(Exception):
    """A sign-in or permission problem, worded for the person at the screen."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str

    def may(self, action: str) -> bool:
        return action in PERMISSIONS.get(self.role, frozenset())


def hash_pin(pin: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AuthError("A user name is 1 to 40 letters, digits, dots, dashes or underscores.")
    return name


def check_pin(pin: str) -> str:
    if not _PIN.match(pin or ""):
        raise AuthError("A PIN is 4 to 12 digits.")
    return pin


class Users:
    """The user list in the store, with sign-in and a lockout against PIN guessing."""

    def __init__(self, store: AlarmStore, clock=time.monotonic) -> None:
        self.store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def add(self, name: str, role: str, pin: str) -> User:
        check_name(name)
        check_pin(pin)
        if role not in ROLES:
            raise AuthError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
        salt = secrets.token_bytes(16)
        self.store.add_user(name, role, salt, hash_pin(pin, salt), PBKDF2_ITERATIONS)
        return User(name, role)

    def authenticate(self, name: str, pin: str) -> User:
        """The user when name and PIN match; AuthError otherwise (same words either way)."""
        name = (name or "").strip()
        now = self._clock()
        with self._lock:
            until = self._locked_until.get(name, 0.0)
            if until > now:
                log.warning("sign-in refused for %r: locked for %.0f s more", name, until - now)
                raise AuthError(
                    f"Too many wrong PINs for {name}; try again in {int(until - now) + 1} s."
                )
        record = self.store.user(name) if _NAME.match(name) else None
        ok = False
        if record is not None and _PIN.match(pin or ""):
            ok = hmac.compare_digest(hash_pin(pin, record.salt, record.iterations), record.pin_hash)
        if ok:
            with self._lock:
                self._failures.pop(name, None)
            log.info("signed in: %s (%s)", name, record.role)
            return User(record.name, record.role)
        with self._lock:
            failures = self._failures.setdefault(name, [])
            failures.append(now)
            if len(failures) >= MAX_FAILURES:
                self._locked_until[name] = now + LOCKOUT_SECONDS
                failures.clear()
                log.warning(
                    "sign-in for %r locked for %.0f s after %d failures",
                    name,
                    LOCKOUT_SECONDS,
                    MAX_FAILURES,
                )
        log.warning("sign-in failed for %r", name)
        raise AuthError("Unknown user or wrong PIN.")

    def role_of(self, name: str) -> str | None:
        record = self.store.user(name)
        return record.role if record else None


def session_secret(data_dir: str | Path) -> bytes:
    """The cookie-signing secret: generated once, kept (mode 600) in the data directory."""
    path = Path(data_dir) / "secret.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex())
    return secret


def require(user: User | None, action: str) -> User:
    """The signed-in user when they may do ``action``; AuthError (and a log line) if not."""
    if user is None:
        log.warning("refused %s: nobody is signed in", action)
        roles = [_ROLE_WORDS.get(r, r) for r, allowed in PERMISSIONS.items() if action in allowed]
        raise AuthError(f"Sign in as {' or '.join(roles) or 'an authorised user'} to do this.")
    if not user.may(action):
        log.warning("refused %s for %s: role %s", action, user.name, user.role)
        raise AuthError(f"{user.name} ({user.role}) may not {action.replace('_', ' ')}.")
    return user
