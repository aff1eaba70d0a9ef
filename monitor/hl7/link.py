"""The HL7 link of one bed: a feeder that turns the session into messages, and a sender
that delivers them over MLLP, each in its own thread.

- The feeder polls what the session already holds, never the frame path: the buffer's
  new frames (every ``interval_s`` of the session's clock, a replay's being the
  recording's time, an ORU^R01 of the values at hand: each continuous channel's newest
  valid value of the interval, resistance from rules/, and each lab or blood gas result
  new since the last report) and the alarm log's new rows (an ORU^R40 for each
  activation, escalation, acknowledgement and end). It queues them in the outbox with its
  cursors, in one transaction.
- The sender takes the oldest message, sends it framed (MLLP: VT, message, FS CR) and
  waits for its acknowledgement: MSA-1 AA (or CA) with MSA-2 its control id removes it;
  AE, AR, anything else, a timeout or a lost connection leave it first in line, and it is
  sent again after a backoff (1 s, doubling, at most ``retry_max_s``). So messages arrive
  in order, each until acknowledged, across restarts of the engine or of the monitor.
- While the engine cannot be reached the bed shows a low technical alert with the queue;
  the page and ``/api/status`` show the queue's length and its oldest message.
"""

from __future__ import annotations

import logging
import math
import socket
import threading

import numpy as np

from adapters import LAB_COLUMNS, TIMESTAMP, clean_column, epoch_seconds
from monitor.hl7 import codes
from monitor.hl7.bed import BedView, LinkStatus, parse_url
from monitor.hl7.messages import (
    AlarmEvent,
    HL7Error,
    Party,
    alarm_message,
    observation_message,
    read_ack,
)
from monitor.hl7.outbox import Outbox
from monitor.runtime import Session
from rules import RULE_IDS, TECHNICAL_RULES, resistance, rule_title

log = logging.getLogger("ecmo_monitor.hl7")
HL7_ALARM = "hl7_unreachable"
START, END = b"\x0b", b"\x1c\r"
_MASK = "artifact_mask"
#: Continuous channels reported (labs and gases are reported when new).
CONTINUOUS = tuple(c for c in codes.OBSERVATIONS if c not in LAB_COLUMNS and c != "resistance")
SPARSE = tuple(c for c in codes.OBSERVATIONS if c in LAB_COLUMNS)


class HL7Link:
    """One session's HL7 link: feeder and sender threads around an on-disk outbox."""

    def __init__(
        self,
        bed: Session | BedView,
        url: str,
        outbox: Outbox,
        party: Party,
        *,
        interval_s: float = 60.0,
        ack_timeout_s: float = 10.0,
        retry_max_s: float = 30.0,
        poll_s: float = 0.25,
    ) -> None:
        if isinstance(bed, Session):
            bed = BedView.of_session(bed)
        self.bed = bed
        self.url = url
        self.host, self.port = parse_url(url)
        self.outbox = outbox
        self.party = party
        self.interval = interval_s
        self.ack_timeout = ack_timeout_s
        self.retry_max = retry_max_s
        self.poll = poll_s
        self.min_flow = bed.min_flow_lpm
        self._lock = threading.Lock()
        self._connected = False
        self._error: str | None = None
        self._feed_error: str | None = None  # why the last poll queued nothing, if it failed
        self._sent = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        # the feeder's place: the next interval to report, the last alarm row reported
        self._seq = 0
        self._boundary = outbox.cursor("observations")
        alarm = outbox.cursor("alarms")
        if alarm is None:  # a new outbox: report what happens from now on
            alarm = float(bed.last_alarm_id())
        self._alarm = int(alarm)
        self._latest: dict[str, tuple[float, float]] = {}
        self._active: dict[str, int] = {}  # rule -> the priority level it is active at
        bed.add_check(self._technical)
        bed.add_link("hl7", self.status)

    # -- status -------------------------------------------------------------------------
    def status(self) -> LinkStatus:
        queued, oldest = self.outbox.waiting()
        with self._lock:
            return LinkStatus(
                self.url, self._connected, self._error, queued, oldest, self._sent,
                self.outbox.dropped,
            )  # fmt: skip

    def _technical(self):
        with self._lock:
            feed_error = self._feed_error
            error = None if self._connected else self._error
        if feed_error is not None:
            return (
                HL7_ALARM,
                "low",
                f"HL7 messages cannot be queued ({feed_error}); the monitor keeps trying "
                f"and nothing is skipped",
            )
        if error is None:
            return None
        queued, _oldest = self.outbox.waiting()
        return (
            HL7_ALARM,
            "low",
            f"HL7 interface engine {self.host}:{self.port} not reachable ({error}); "
            f"{queued} message(s) wait on disk and are sent when it returns",
        )

    def _set(self, connected: bool, error: str | None) -> None:
        with self._lock:
            changed = (connected, error) != (self._connected, self._error)
            self._connected, self._error = connected, error
        if changed:
            if error:
                log.warning("HL7 link to %s:%s: %s", self.host, self.port, error)
            self.bed.on_change()

    # -- threads ------------------------------------------------------------------------
    def start(self) -> HL7Link:
        for name, target in (("hl7-feeder", self._feed_loop), ("hl7-sender", self._send_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._feed_once()  # what came in since the last poll is kept for the next run

    def _feed_loop(self) -> None:
        while not self._stop.wait(self.poll):
            if self._feed_once():
                self._wake.set()

    # -- the feeder ---------------------------------------------------------------------
    def _feed_once(self) -> int:
        """Queue what came in since the last poll, all or nothing: when a message cannot
        be made or queued, the feeder's place stays where it was and the next poll tries
        the same rows again (the failure shows as the link's technical alert)."""
        place = (self._seq, self._boundary, self._alarm, dict(self._latest), dict(self._active))
        try:
            entries = self._observations() + self._alarms()
            if not entries and self._boundary is None:
                return 0
            entries.sort(key=lambda e: e[0])
            cursors = {"alarms": float(self._alarm)}
            if self._boundary is not None:
                cursors["observations"] = self._boundary
            queued = self.outbox.put(entries, cursors)
        except Exception as exc:
            self._seq, self._boundary, self._alarm, self._latest, self._active = place
            self._set_feed_error(exc)
            return 0
        self._set_feed_error(None)
        return queued

    def _set_feed_error(self, exc: Exception | None) -> None:
        error = None if exc is None else f"{type(exc).__name__}: {exc}"[:160]  # shown on the page
        with self._lock:
            changed, self._feed_error = error != self._feed_error, error
        if changed:
            if exc is not None:  # once per new failure, not at every poll
                log.error("HL7 feeder: messages cannot be queued", exc_info=exc)
            self.bed.on_change()

    def _observations(self) -> list:
        rows = self.bed.buffer.since(self._seq, limit=20_000)
        if rows.empty:
            return []
        self._seq = int(rows["seq"].iloc[-1])
        times = epoch_seconds(rows[TIMESTAMP])
        mask = rows[_MASK].to_numpy(dtype="int64", na_value=0) if _MASK in rows else None
        clean = {}
        for channel in (*CONTINUOUS, *SPARSE):
            if channel in rows.columns:
                raw = rows[channel].to_numpy(dtype="float64", na_value=np.nan)
                clean[channel] = clean_column(raw, channel, mask)
        if self._boundary is None or self._boundary < times[0] - self.interval:
            self._boundary = math.ceil(times[0] / self.interval) * self.interval - self.interval
        entries = []
        while self._boundary + self.interval < times[-1]:
            at = self._boundary + self.interval
            upto = int(np.searchsorted(times, at, side="right"))  # frames at or before
            values = self._values_at(at, times, clean, upto)
            if values:
                entries.append((at, "ORU^R01", self._builder(at, values)))
            self._boundary = at
        for channel, column in clean.items():  # the newest of this chunk, for the next
            good = np.flatnonzero(~np.isnan(column))
            if good.size:
                self._latest[channel] = (float(times[good[-1]]), float(column[good[-1]]))
        return entries

    def _values_at(self, at: float, times, clean, upto: int) -> dict:
        values = {}
        for channel, column in clean.items():
            good = np.flatnonzero(~np.isnan(column[:upto]))
            got = (
                (float(times[good[-1]]), float(column[good[-1]]))
                if good.size
                else self._latest.get(channel)
            )
            if got is None or got[0] <= at - self.interval:
                continue  # not in this interval: not at hand (a lab result: not new)
            values[channel] = got
        for channel, got in self._latest.items():  # a result of an earlier chunk
            if channel not in values and at - self.interval < got[0] <= at:
                values[channel] = got
        if "delta_p_mmhg" in values and "blood_flow_lpm" in values:
            when, dp = values["delta_p_mmhg"]
            r = resistance(dp, values["blood_flow_lpm"][1], self.min_flow)
            if r is not None:
                values["resistance"] = (when, r)
        return values

    def _builder(self, at: float, values: dict):
        party = self.party
        return lambda control: observation_message(control, at, party, values)

    def _alarms(self) -> list:
        rows = self.bed.alarms_after(self._alarm, 500)
        entries = []
        for row in rows:
            self._alarm = max(self._alarm, row.id)
            phase = self._phase(row.rule, row.state, row.priority)
            if phase is None:
                continue
            event = AlarmEvent(
                time=row.time,
                rule=row.rule,
                title=rule_title(row.rule),
                priority=row.priority,
                phase=phase,
                technical=row.rule in TECHNICAL_RULES or row.rule not in RULE_IDS,
                message=row.message,
                value=row.value,
                limit=row.threshold,
                user=row.user,
                role=row.role,
            )
            entries.append((row.time, "ORU^R40", self._alarm_builder(event)))
        return entries

    def _alarm_builder(self, event: AlarmEvent):
        party = self.party
        return lambda control: alarm_message(control, party, event)

    def _phase(self, rule: str, state: str, priority: str) -> str | None:
        level = {"low": 1, "medium": 2, "high": 3}.get(priority, 0)
        if state == "active":
            before = self._active.get(rule)
            self._active[rule] = level
            if before is None:
                return "start"
            return "escalate" if level > before else "de-escalate"
        if state == "acknowledged":
            return "acknowledged"
        if state == "cleared":
            self._active.pop(rule, None)
            return "cleared"
        return None  # pending, normal: not alarms

    # -- the sender ---------------------------------------------------------------------
    def _send_loop(self) -> None:
        connection: socket.socket | None = None
        backoff = 1.0
        while not self._stop.is_set():
            waiting = self.outbox.oldest()
            if waiting is None:
                self._wake.wait(self.poll)
                self._wake.clear()
                continue
            try:
                reused = connection is not None
                if connection is None:
                    connection = self._connect()
                try:
                    code, control = self._exchange(connection, waiting.message)
                except (ConnectionError, BrokenPipeError):
                    if not reused:
                        raise
                    # the engine closes after each message (some do): once more, afresh
                    connection.close()
                    connection = self._connect()
                    code, control = self._exchange(connection, waiting.message)
                if code in ("AA", "CA") and control == str(waiting.id):
                    self.outbox.done(waiting.id)
                    with self._lock:
                        self._sent += 1
                    self._set(True, None)
                    backoff = 1.0
                    continue
                self._set(True, f"message {waiting.id} answered {code or '?'}, sent again")
            except (OSError, HL7Error) as exc:
                if connection is not None:
                    connection.close()
                    connection = None
                self._set(False, _why(exc))
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.retry_max)
        if connection is not None:
            connection.close()

    def _connect(self) -> socket.socket:
        connection = socket.create_connection((self.host, self.port), timeout=5)
        connection.settimeout(self.ack_timeout)
        return connection

    def _exchange(self, connection: socket.socket, message: str) -> tuple[str, str]:
        connection.sendall(START + message.encode("utf-8") + END)
        reply = b""
        while END not in reply:
            part = connection.recv(65536)
            if not part:
                raise ConnectionResetError("the engine closed the connection")
            reply += part
            if len(reply) > 1_000_000:
                raise HL7Error("The reply is too long to be an acknowledgement.")
        body = reply.split(START, 1)[-1].split(END, 1)[0]
        return read_ack(body.decode("utf-8", errors="replace"))


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no acknowledgement in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, HL7Error):
        return str(exc)
    return exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc)
