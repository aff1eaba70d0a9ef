"""A central station: every bed's frames, alarms and heartbeat, kept from the stream.

On start (and after every lost connection) it reads the stream from where it stopped, or
from its beginning (the 72 h the stream keeps) the first time, so a station that starts
or restarts rebuilds each bed's buffer and alarm log with no hole. The heartbeats come
from the status stream, which keeps the latest of each bed, so a bed that died before the
station started is still shown, as NO DATA. Any number of stations can run at once: each
reads the streams on its own (an ordered consumer per station, nothing shared).

The beds are the source of truth: their alerts are what their heartbeats say.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from nats.js import api

from adapters import Frame
from monitor.bus import (
    ACTION,
    STATUS_STREAM,
    STREAM,
    AlarmMessage,
    BrokerSettings,
    BusError,
    BusLoop,
    FrameMessage,
    StatusMessage,
    ensure_streams,
    sign_request,
    stay_connected,
    subject,
)
from monitor.central.sparkline import Sparkline, sparkline
from monitor.runtime import TelemetryBuffer
from rules import Baseline, RulesConfig

log = logging.getLogger("ecmo_monitor.central")
NO_DATA = "no_data"
#: Alarm-log rows kept per bed at the central (the bed's own store keeps them all).
ALARM_ROWS = 5000
#: A bed is NO DATA this long after its quiet time without a heartbeat.
HEARTBEAT_GRACE_S = 0.5
#: How long a bed has to answer an action request.
REQUEST_TIMEOUT_S = 5.0


@dataclass
class RemoteBed:
    """What a central station holds of one bed."""

    bed: str
    buffer: TelemetryBuffer
    status: StatusMessage | None = None
    status_at: float | None = None  # monotonic time the heartbeat arrived here
    last_seq: int = 0  # the bed's newest frame number seen
    frames: int = 0
    alarms: deque = field(default_factory=lambda: deque(maxlen=ALARM_ROWS))
    last_alarm: int = 0
    _sparks: tuple = ()  # (the newest Sparkline, the one before), worked out once a minute

    def sparkline(self, config: RulesConfig) -> tuple[Sparkline | None, Sparkline | None]:
        """The bed's sparkline: the hour of whole minutes before the minute of its newest
        frame (as its trends end at its newest frame), and the one of the minute before
        if that was worked out (a page holding it then needs only the newest point).
        (None, None) before the first frame."""
        latest = self.buffer.latest()
        if latest is None:
            return None, None
        minute = int(latest["time"] // 60)
        sparks = self._sparks
        if not sparks or sparks[0].minute != minute:
            status = self.status
            resistance, since = (
                (status.resistance, status.baseline_since) if status else (None, None)
            )
            newest = sparkline(self.buffer, minute, resistance, since, config)
            earlier = sparks[0] if sparks and sparks[0].minute == minute - 1 else None
            self._sparks = sparks = (newest, earlier)
        return sparks

    def baselines(self) -> list[Baseline]:
        """The baseline the bed's heartbeat says is in force, as the rules list baselines
        (the bed's own store keeps the earlier ones)."""
        status = self.status
        if status is None or status.resistance is None or status.baseline_since is None:
            return []
        since = status.baseline_since
        return [Baseline("in force", since, since, since, resistance=status.resistance)]

    @property
    def label(self) -> str:
        return self.status.label if self.status else self.bed

    def heartbeat_age(self, now: float | None = None) -> float | None:
        if self.status_at is None:
            return None
        return max(0.0, (now if now is not None else time.monotonic()) - self.status_at)

    def state(self, now: float | None = None) -> str:
        """NO DATA when the heartbeat is older than the bed's quiet time, else the bed's own."""
        age = self.heartbeat_age(now)
        if self.status is None or age is None or age > self.status.quiet_s + HEARTBEAT_GRACE_S:
            return NO_DATA
        return self.status.source_state

    def frame_age(self, now: float | None = None) -> float | None:
        """Seconds since the newest frame reached the bed, as its last heartbeat tells."""
        age = self.heartbeat_age(now)
        if self.status is None or self.status.frame_age_s is None or age is None:
            return None
        return self.status.frame_age_s + age


@dataclass(frozen=True, slots=True)
class StationStatus:
    url: str
    connected: bool
    error: str | None
    beds: int
    messages: int
    refused: int
    frames: int  # frames taken into the beds' buffers


class CentralStation:
    """Subscribes to every bed; thread-safe reads for the page."""

    def __init__(
        self,
        settings: BrokerSettings,
        capacity: int | None = None,
        *,
        name: str = "central",
        action_key: bytes | None = None,
    ) -> None:
        self.settings = settings
        self.capacity = capacity
        self.name = name
        self.action_key = action_key
        self._beds: dict[str, RemoteBed] = {}
        self._lock = threading.Lock()
        self._connected = False
        self._error: str | None = None
        self._messages = 0
        self._refused = 0
        self._stream_seq = 0  # the last message of the frame/alarm stream taken in
        self._loop: BusLoop | None = None
        self.nc = None  # the live connection, for action requests (actions.py)

    # -- for the page ---------------------------------------------------------------------
    def beds(self) -> list[RemoteBed]:
        with self._lock:
            return list(self._beds.values())

    def bed(self, bed_id: str) -> RemoteBed | None:
        with self._lock:
            return self._beds.get(bed_id)

    def alarm_rows_after(self, bed_id: str, ident: int, limit: int = 500) -> list[AlarmMessage]:
        """The alarm-log rows held of ``bed_id`` after its row ``ident``, oldest first (as a
        bed's store answers ``alarm_log_after``; what an HL7 link reports)."""
        with self._lock:
            remote = self._beds.get(bed_id)
            if remote is None or remote.last_alarm <= ident:
                return []
            rows = [row for row in remote.alarms if row.ident > ident]
        return rows[:limit]

    def status(self) -> StationStatus:
        with self._lock:
            return StationStatus(
                self.settings.url.split("@")[-1],
                self._connected,
                self._error,
                len(self._beds),
                self._messages,
                self._refused,
                sum(remote.frames for remote in self._beds.values()),
            )

    def request(self, bed: str, action: str, args: dict, user: str, role: str) -> dict:
        """Ask ``bed`` to carry out ``action`` for ``user``; its reply (result, message).

        Never raises: a bed that cannot be asked or does not answer is a ``refused`` reply
        saying so, and nothing was done there.
        """
        if self.action_key is None:
            return {"result": "refused", "message": "This central station has no action key "
                    "(--action-key), so it cannot act on beds."}  # fmt: skip
        nc, loop = self.nc, self._loop
        if nc is None or loop is None:
            return {"result": "refused", "message": "The broker cannot be reached; nothing was "
                    f"done at {bed}."}  # fmt: skip
        data = sign_request(self.action_key, bed, action, args, user, role, self.name)

        async def ask():
            return await nc.request(subject(bed, ACTION), data, timeout=REQUEST_TIMEOUT_S)

        try:
            reply = json.loads(loop.call(ask(), REQUEST_TIMEOUT_S + 1).data)
        except Exception:
            return {"result": "refused", "message": f"{bed} did not answer within "
                    f"{REQUEST_TIMEOUT_S:g} s; nothing was done there."}  # fmt: skip
        if not isinstance(reply, dict) or reply.get("result") not in ("ok", "already", "refused"):
            return {"result": "refused", "message": f"{bed} gave an answer that is not one."}
        return {"result": reply["result"], "message": str(reply.get("message", ""))[:300]}

    @property
    def loop(self) -> BusLoop | None:
        return self._loop

    def start(self) -> CentralStation:
        self._loop = BusLoop("central")
        self._loop.submit(stay_connected(self.settings, self._serve, self._report))
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # -- taking messages in ---------------------------------------------------------------
    def _remote(self, bed_id: str) -> RemoteBed:
        remote = self._beds.get(bed_id)
        if remote is None:
            buffer = TelemetryBuffer() if self.capacity is None else TelemetryBuffer(self.capacity)
            remote = self._beds[bed_id] = RemoteBed(bed_id, buffer)
        return remote

    def _bed_of(self, msg_subject: str) -> str | None:
        parts = msg_subject.split(".")
        return parts[1] if len(parts) == 3 else None

    def take_frame(self, data: bytes, msg_subject: str) -> None:
        message = FrameMessage.decode(data)
        if message.bed != self._bed_of(msg_subject):
            raise BusError("A frame message naming another bed than its subject was refused.")
        with self._lock:
            remote = self._remote(message.bed)
            if message.seq <= remote.last_seq:
                return  # already held (a resend, or a consumer started over)
            remote.buffer.append(Frame.build(message.time, message.values, event=message.event))
            remote.last_seq = message.seq
            remote.frames += 1

    def take_alarm(self, data: bytes, msg_subject: str) -> None:
        message = AlarmMessage.decode(data)
        if message.bed != self._bed_of(msg_subject):
            raise BusError("An alarm message naming another bed than its subject was refused.")
        with self._lock:
            remote = self._remote(message.bed)
            if message.ident <= remote.last_alarm:
                return
            remote.alarms.append(message)
            remote.last_alarm = message.ident

    def take_status(self, data: bytes, msg_subject: str) -> None:
        message = StatusMessage.decode(data)
        if message.bed != self._bed_of(msg_subject):
            raise BusError("A status message naming another bed than its subject was refused.")
        with self._lock:
            remote = self._remote(message.bed)
            remote.status, remote.status_at = message, time.monotonic()

    def _count(self, ok: bool) -> None:
        with self._lock:
            self._messages += 1
            self._refused += not ok

    async def _on_stream(self, msg) -> None:
        kind = msg.subject.rsplit(".", 1)[-1]
        try:
            if kind == "frame":
                self.take_frame(msg.data, msg.subject)
            elif kind == "alarm":
                self.take_alarm(msg.data, msg.subject)
            self._count(True)
        except BusError as exc:
            self._count(False)
            log.warning("refused a message on %s: %s", msg.subject[:80], exc)
        with contextlib.suppress(Exception):
            self._stream_seq = max(self._stream_seq, msg.metadata.sequence.stream)

    async def _on_status(self, msg) -> None:
        try:
            self.take_status(msg.data, msg.subject)
            self._count(True)
        except BusError as exc:
            self._count(False)
            log.warning("refused a message on %s: %s", msg.subject[:80], exc)

    def _set(self, connected: bool, error: str | None) -> None:
        with self._lock:
            was, self._connected, self._error = self._connected, connected, error
        if connected and not was:
            log.info("central station reading %s", self.settings.url.split("@")[-1])
        elif not connected and was:
            log.warning("central station: %s", error)

    def _report(self, connected: bool, problem: str | None) -> None:
        self._set(connected, None if connected else f"Broker {problem}; showing what was received")

    async def _serve(self, nc, ready) -> None:
        js = nc.jetstream(timeout=5)
        await ensure_streams(js, self.settings.replicas)
        start = self._stream_seq + 1
        policy = (
            {"deliver_policy": api.DeliverPolicy.ALL}
            if start == 1
            else {"config": api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            )}
        )  # fmt: skip
        await js.subscribe(
            "ecmo.*.*", stream=STREAM, cb=self._on_stream, ordered_consumer=True, **policy
        )
        await js.subscribe(
            "ecmo.*.status",
            stream=STATUS_STREAM,
            cb=self._on_status,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
        )
        self.nc = nc
        ready()
        try:
            while nc.is_connected:
                await asyncio.sleep(0.2)
        finally:
            self.nc = None
