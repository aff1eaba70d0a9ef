"""The lockout against PIN guessing, which cannot be turned against the staff it protects.

- Failures count per name *and* client address: five wrong PINs for a name from one
  address lock that name for that address only, so nobody can lock a specialist out of
  the monitor by sending wrong PINs for their name; a correct PIN from another address
  still signs in.
- Failures from one address, whatever the names, slow that address down: past
  ``MAX_FAILURES`` each further attempt must wait twice as long as the one before (up to
  ``MAX_DELAY_S``), so spraying names is slow.
- Failures expire after ``FAILURE_WINDOW_S``.
- An attempt is checked and counted in one step, before the slow PIN hash, so a burst of
  concurrent guesses cannot all be checked before any is counted: :meth:`Lockout.begin`
  reserves the failure and :meth:`Lockout.succeeded` takes it back.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
FAILURE_WINDOW_S = 900.0
MAX_DELAY_S = 60.0


class LockedOut(Exception):
    """This attempt may not be checked now, as one sentence that says when to try again."""


class Lockout:
    """Failed sign-ins by (name, address) and by address, and the locks they earn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._by_name: dict[tuple[str, str], deque[float]] = {}
        self._by_address: dict[str, deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._wait_until: dict[str, float] = {}

    def begin(self, name: str, address: str) -> float:
        """Check an attempt and count it as failed until it succeeds; its start time.

        LockedOut when the name is locked for this address or the address must wait.
        Returns the time of the reserved failure, for :meth:`succeeded`.
        """
        key = (name, address)
        with self._guard:
            now = self._clock()
            until = self._locked_until.get(key, 0.0)
            if until > now:
                raise LockedOut(
                    f"Too many wrong PINs for {name}; try again in {int(until - now) + 1} s."
                )
            wait = self._wait_until.get(address, 0.0)
            if wait > now:
                raise LockedOut(
                    f"Too many wrong PINs from this computer; try again in {int(wait - now) + 1} s."
                )
            failures = self._recent(self._by_name, key, now)
            from_address = self._recent(self._by_address, address, now)
            failures.append(now)
            from_address.append(now)
            if len(failures) >= MAX_FAILURES:
                self._locked_until[key] = now + LOCKOUT_SECONDS
            past = len(from_address) - MAX_FAILURES
            if past > 0:
                self._wait_until[address] = now + min(2.0 ** (past - 1), MAX_DELAY_S)
            return now

    def locked_now(self, name: str, address: str) -> bool:
        """Whether this attempt, counted as failed, has just locked the name."""
        with self._guard:
            return self._locked_until.get((name, address), 0.0) > self._clock() and (
                len(self._by_name.get((name, address), ())) >= MAX_FAILURES
            )

    def succeeded(self, name: str, address: str, started: float) -> None:
        """The PIN was right: take the reserved failure back and forget the name's failures."""
        key = (name, address)
        with self._guard:
            self._by_name.pop(key, None)
            self._locked_until.pop(key, None)
            from_address = self._by_address.get(address)
            if from_address is not None and started in from_address:
                from_address.remove(started)
            if from_address is not None and len(from_address) <= MAX_FAILURES:
                self._wait_until.pop(address, None)

    def _recent(self, table: dict, key, now: float) -> deque[float]:
        kept = table.setdefault(key, deque())
        while kept and kept[0] <= now - FAILURE_WINDOW_S:
            kept.popleft()
        return kept
