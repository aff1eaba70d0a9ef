"""What the HL7 link reads of a bed and what it says of itself, and its settings.

:class:`BedView` is a bedside session (:meth:`BedView.of_session`) or a bed a central
station holds from the bus; :class:`LinkStatus` is the link's state for the page's
header and ``/api/status``; :func:`parse_url`, :func:`check_device_id` and :func:`check_interval` check the
command line's ``--hl7``, ``--device-id`` and ``--hl7-interval``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from adapters import TelemetryError
from monitor.runtime import Session


class LinkError(TelemetryError):
    """An HL7 link setting that cannot be used, as one sentence."""


def parse_url(url: str) -> tuple[str, int]:
    """``mllp://HOST:PORT`` as (host, port)."""
    parts = urlsplit(url)
    if parts.scheme != "mllp" or not parts.hostname or parts.port is None:
        raise LinkError(f"--hl7 must be mllp://HOST:PORT, not {url!r}.")
    return parts.hostname, parts.port


def check_device_id(device_id: str) -> str:
    text = device_id.strip().upper()
    if len(text) != 16 or any(c not in "0123456789ABCDEF" for c in text):
        raise LinkError(f"--device-id must be an EUI-64: 16 hexadecimal digits, not {device_id!r}.")
    return text


def check_interval(seconds: float) -> float:
    if not 1 <= seconds <= 3600:
        raise LinkError("--hl7-interval must be between 1 and 3600 seconds.")
    return seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class BedView:
    """What the link reads of one bed, and where it reports: a bedside session
    (:meth:`of_session`) or a bed a central station holds from the bus.

    ``alarms_after(ident, limit)``: alarm log rows after row ``ident``, oldest first, each
    with ``id, time, rule, priority, state, message, value, threshold, user, role``;
    ``on_change``: the link's state changed (a session logs its technical alarm);
    ``add_check`` and ``add_link`` hand the link's technical check and status over.
    """

    bed_id: str
    buffer: object
    min_flow_lpm: float
    alarms_after: Callable[[int, int], list]
    last_alarm_id: Callable[[], int]
    on_change: Callable[[], object] = lambda: None
    add_check: Callable[[Callable], object] = lambda check: None
    add_link: Callable[[str, Callable], object] = lambda name, status: None

    @classmethod
    def of_session(cls, session: Session) -> BedView:
        store = session.store
        return cls(
            bed_id=session.bed_id,
            buffer=session.buffer,
            min_flow_lpm=session.engine.config.delta_p_rise.min_flow_lpm,
            alarms_after=(lambda i, n: store.alarm_log_after(i, n)) if store else (lambda i, n: []),
            last_alarm_id=store.last_alarm_id if store else (lambda: 0),
            on_change=session.watch_technical,
            add_check=session.add_technical_check,
            add_link=session.add_link,
        )


@dataclass(frozen=True, slots=True)
class LinkStatus:
    url: str
    connected: bool
    error: str | None
    queued: int
    oldest_queued_at: float | None
    sent: int
    dropped: int

    def as_dict(self) -> dict:
        age = (
            None if self.oldest_queued_at is None else max(0.0, time.time() - self.oldest_queued_at)
        )
        return {
            "url": self.url,
            "connected": self.connected,
            "error": self.error,
            "queued": self.queued,
            "oldest_waiting_s": None if age is None else round(age, 1),
            "sent": self.sent,
            "dropped": self.dropped,
        }

    def summary(self) -> str:
        """One line for the page's header."""
        state = "connected" if self.connected else "NOT CONNECTED"
        text = f"HL7 {state}, {self.queued} waiting"
        if self.oldest_queued_at is not None and self.queued:
            text += f" (oldest {max(0.0, time.time() - self.oldest_queued_at):.0f} s)"
        if self.dropped:
            text += f", {self.dropped} dropped (outbox full)"
        return text
