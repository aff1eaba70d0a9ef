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
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.store.alarms import AlarmStore
from monitor.store.lockout import LOCKOUT_SECONDS, MAX_FAILURES, LockedOut, Lockout

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
SESSION_IDLE_S = 30 * 60.0
SESSION_MAX_S = 12 * 3600.0  # one shift
#: The salt an unknown name's attempt is hashed with, so it costs what a known one does.
_UNKNOWN_SALT = secrets.token_bytes(16)
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

    def __init__(
        self,
        store: AlarmStore,
        clock=time.monotonic,
        *,
        wall=time.time,
        idle_s: float = SESSION_IDLE_S,
        max_s: float = SESSION_MAX_S,
    ) -> None:
        self.store = store
        self._lockout = Lockout(clock)
        self._wall = wall
        self.idle_s, self.max_s = idle_s, max_s
        self._told: set[bytes] = set()  # sessions whose end has been logged

    def add(self, name: str, role: str, pin: str) -> User:
        check_name(name)
        check_pin(pin)
        if role not in ROLES:
            raise AuthError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
        salt = secrets.token_bytes(16)
        self.store.add_user(name, role, salt, hash_pin(pin, salt), PBKDF2_ITERATIONS)
        return User(name, role)

    def authenticate(self, name: str, pin: str, address: str = "local") -> User:
        """The user when name and PIN match; AuthError otherwise (same words either way).

        ``address`` is the client's: the lockout counts failures per name and address
        (:mod:`monitor.store.lockout`). Every attempt costs one PIN hash, so an unknown
        name answers no faster than a known one.
        """
        name = (name or "").strip()
        try:
            started = self._lockout.begin(name, address)
        except LockedOut as exc:
            log.warning("sign-in refused for %r from %s: %s", name, address, exc)
            raise AuthError(str(exc)) from None
        record = self.store.user(name) if _NAME.match(name) else None
        well_formed = bool(_PIN.match(pin or ""))
        if record is None:
            salt, expected, iterations = _UNKNOWN_SALT, b"", PBKDF2_ITERATIONS
        else:
            salt, expected, iterations = record.salt, record.pin_hash, record.iterations
        candidate = hash_pin(pin if well_formed else "", salt, iterations)
        if record is not None and well_formed and hmac.compare_digest(candidate, expected):
            self._lockout.succeeded(name, address, started)
            log.info("signed in: %s (%s) from %s", name, record.role, address)
            return User(record.name, record.role)
        if self._lockout.locked_now(name, address):
            text = "sign-in for %r locked for %.0f s after %d failures from %s"
            log.warning(text, name, LOCKOUT_SECONDS, MAX_FAILURES, address)
        log.warning("sign-in failed for %r from %s", name, address)
        raise AuthError("Unknown user or wrong PIN.")

    # -- sessions on the server ----------------------------------------------------------
    def start_session(self, user: User, address: str) -> str:
        """A new sign-in for ``user``; the token the cookie carries (kept here only hashed)."""
        token = secrets.token_urlsafe(32)
        self.store.add_sign_in(_digest(token), user.name, address, self._wall())
        return token

    def session_user(self, token: str) -> User | None:
        """The user a cookie's token signs in, or None once the sign-in has ended.

        A sign-in ends on sign-out, after ``idle_s`` without a request, ``max_s`` after it
        began (one shift), and when its user is removed or gets a new PIN. Why one ended
        is logged once.
        """
        digest = _digest(token)
        record = self.store.sign_in(digest)
        now = self._wall()
        if record is None:
            return self._refuse(digest, "a session cookie naming no sign-in was ignored")
        if record.ended is not None:
            return self._refuse(
                digest, f"the sign-in of {record.name} has ended ({record.end_reason})"
            )
        reason = None
        if now - record.last_seen > self.idle_s:
            reason = f"idle for more than {self.idle_s / 60:g} min"
        elif now - record.started > self.max_s:
            reason = f"older than {self.max_s / 3600:g} h"
        role = self.role_of(record.name)
        if role is None:
            reason = reason or "the user was removed"
        if reason is not None:
            self.store.end_sign_ins(now, reason, token_hash=digest)
            return self._refuse(digest, f"the sign-in of {record.name} ended: {reason}")
        if now - record.last_seen > 30.0:  # a write per half-minute, not per refresh
            self.store.touch_sign_in(digest, now)
        return User(record.name, role)

    def end_session(self, token: str, reason: str = "signed out") -> None:
        self.store.end_sign_ins(self._wall(), reason, token_hash=_digest(token))

    def _refuse(self, digest: bytes, why: str) -> None:
        if digest not in self._told:
            self._told.add(digest)
            log.warning("%s; treated as not signed in", why)
        return None

    # -- user changes end their sign-ins ------------------------------------------------
    def remove(self, name: str) -> None:
        if not self.store.remove_user(name):
            raise AuthError(f"There is no user called {name!r}.")
        ended = self.store.end_sign_ins(self._wall(), "user removed", name=name)
        log.info("removed user %s; %d sign-in(s) ended", name, ended)

    def set_pin(self, name: str, pin: str) -> None:
        check_pin(pin)
        salt = secrets.token_bytes(16)
        if not self.store.set_user_pin(name, salt, hash_pin(pin, salt), PBKDF2_ITERATIONS):
            raise AuthError(f"There is no user called {name!r}.")
        ended = self.store.end_sign_ins(self._wall(), "new PIN", name=name)
        log.info("new PIN for %s; %d sign-in(s) ended", name, ended)

    def role_of(self, name: str) -> str | None:
        record = self.store.user(name)
        return record.role if record else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


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
