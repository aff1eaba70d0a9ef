"""A bed publishing to the broker: every frame, every alarm transition, a status each second.

The bed stays complete on its own; this only reads what the session already holds (its
buffer, its alarm log) and sends it. Each (re)connection begins by asking the stream for
the bed's last stored frame and alarm, and resumes after them, so an outage of the broker
loses nothing: what the stream lacks is resent from the bed's own record, and a resend
the stream already holds is dropped by its message id. While the broker cannot be
reached the bed shows a low-priority technical alert and monitors on.

Frame numbers on the bus continue across restarts of the bed: the first connection takes
the stream's last number for the bed as the base of this run's buffer numbers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from nats.js.errors import NotFoundError

from adapters import EVENT, NUMERIC_COLUMNS, TIMESTAMP, epoch_seconds
from monitor.bus.connection import BrokerSettings, ensure_streams, stay_connected, where
from monitor.bus.loop import BusLoop
from monitor.bus.messages import (
    ALARM,
    FRAME,
    STATUS,
    STREAM,
    AlarmMessage,
    AlertSummary,
    FrameMessage,
    StatusMessage,
    alarm_id,
    frame_id,
    subject,
)
from monitor.runtime import Session

log = logging.getLogger("ecmo_monitor.bus")
BROKER_ALARM = "broker_unreachable"
#: Frames or alarm rows sent in one batch of concurrent publishes.
BATCH = 256
_SEQ, _MASK = "seq", "artifact_mask"


@dataclass(frozen=True, slots=True)
class PublisherStatus:
    url: str
    connected: bool
    error: str | None
    frames_published: int
    alarms_published: int
    backlog: int


class BedPublisher:
    """Publishes one session to the broker from its own event-loop thread."""

    def __init__(
        self,
        session: Session,
        settings: BrokerSettings,
        *,
        status_interval: float = 1.0,
        quiet_s: float = 5.0,
        retry_max: float = 5.0,
    ) -> None:
        self.session = session
        self.bed = session.bed_id
        self.settings = settings
        self.status_interval = status_interval
        self.quiet_s = quiet_s
        self.retry_max = retry_max
        self._lock = threading.Lock()
        self._connected = False
        self._error: str | None = None
        self._frames = 0
        self._alarms = 0
        self._base: int | None = None  # bus number of this run's buffer seq 0
        self._next_seq = 1  # the next buffer seq to publish
        self._next_alarm = 1  # the next alarm-log row id to publish
        # rows of earlier runs went out then; a stream that knows the bed says what it lacks
        self._run_alarms = (session.store.last_alarm_id() + 1) if session.store else 1
        self._loop: BusLoop | None = None
        self._wake: asyncio.Event | None = None
        self.responder = None  # set by the action responder (actions.py), if any
        session.add_technical_check(self._technical)

    # -- the bed's side -----------------------------------------------------------------
    def _technical(self):
        with self._lock:
            if self._connected or self._error is None:
                return None
            return BROKER_ALARM, "low", self._error

    def status(self) -> PublisherStatus:
        with self._lock:
            backlog = max(0, self.session.buffer.last_seq - self._next_seq + 1)
            return PublisherStatus(
                where(self.settings),
                self._connected,
                self._error,
                self._frames,
                self._alarms,
                backlog,
            )

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # -- the loop's side ----------------------------------------------------------------
    def _set(self, connected: bool, error: str | None) -> None:
        with self._lock:
            was = self._connected
            self._connected, self._error = connected, error
        if connected != was or error != self._last_logged:
            self.session.watch_technical()  # the alarm log shows the link lost and back
        if connected and not was:
            log.info("publishing bed %s to %s", self.bed, self._where())
        elif not connected and (was or self._last_logged is None):
            log.warning("bed %s: %s", self.bed, error)
        self._last_logged = error

    _last_logged: str | None = None

    def start(self) -> BedPublisher:
        self._loop = BusLoop(f"bus-{self.bed}")
        self._loop.submit(stay_connected(self.settings, self._serve, self._report, self.retry_max))
        return self

    def _report(self, connected: bool, problem: str | None) -> None:
        error = None if connected else (
            f"Central station link lost: {problem}; monitoring goes on here, frames are sent "
            "when it returns"
        )  # fmt: skip
        self._set(connected, error)

    async def _serve(self, nc, ready) -> None:
        js = nc.jetstream(timeout=5)
        await ensure_streams(js, self.settings.replicas)
        await self._resume(js)
        if self.responder is not None:
            await self.responder.listen(nc)
        ready()
        await self._publish_loop(nc, js)

    def _where(self) -> str:
        return where(self.settings)

    async def _last(self, js, kind: str):
        try:
            raw = await js.get_last_msg(STREAM, subject(self.bed, kind), direct=True)
        except NotFoundError:
            return None
        decode = FrameMessage.decode if kind == FRAME else AlarmMessage.decode
        return decode(raw.data)

    async def _resume(self, js) -> None:
        """Where to go on from: after the last frame and alarm row the stream holds."""
        last = await self._last(js, FRAME)
        stored = last.seq if last is not None else 0
        if self._base is None:
            self._base = stored
        first = self.session.buffer.first_seq
        self._next_seq = max(stored - self._base + 1, first, 1)
        last_alarm = await self._last(js, ALARM)
        self._next_alarm = (last_alarm.ident + 1) if last_alarm is not None else self._run_alarms

    def _alert_states(self) -> tuple:
        return tuple((a.rule, a.priority, a.state) for a in self.session.alerts())

    async def _publish_loop(self, nc, js) -> None:
        """Frames and alarm rows as they come; the heartbeat each ``status_interval`` and at
        once when an alert starts, changes or ends, so a central is not a beat behind."""
        next_status, alerts = 0.0, None
        while nc.is_connected:
            sent = await self._publish_frames(js)
            sent += await self._publish_alarms(js)
            now = time.monotonic()
            if (latest := self._alert_states()) != alerts or now >= next_status:
                alerts = latest
                await js.publish(subject(self.bed, STATUS), self._status_message().encode())
                next_status = now + self.status_interval
            if sent == 0:
                await asyncio.sleep(0.05)

    async def _publish_frames(self, js) -> int:
        rows = self.session.buffer.since(self._next_seq - 1, limit=BATCH)
        if rows.empty:
            return 0
        seqs = rows[_SEQ].to_numpy()
        times = epoch_seconds(rows[TIMESTAMP])
        values = {name: rows[name].to_numpy() for name in NUMERIC_COLUMNS if name in rows}
        masks = rows[_MASK].to_numpy()
        events = rows[EVENT].to_numpy(dtype=object)
        publishes = []
        for i, seq in enumerate(seqs):
            number = int(self._base + seq)
            message = FrameMessage(
                self.bed,
                number,
                round(float(times[i]), 3),
                {n: float(v[i]) for n, v in values.items() if not np.isnan(v[i])},
                int(masks[i]),
                events[i] or None,
            )
            publishes.append(
                js.publish(
                    subject(self.bed, FRAME),
                    message.encode(),
                    headers={"Nats-Msg-Id": frame_id(self.bed, number)},
                )
            )
        await asyncio.gather(*publishes)
        with self._lock:
            self._next_seq = int(seqs[-1]) + 1
            self._frames += len(seqs)
        return len(seqs)

    async def _publish_alarms(self, js) -> int:
        store = self.session.store
        if store is None:
            return 0
        rows = await asyncio.to_thread(store.alarm_log_after, self._next_alarm - 1, BATCH)
        if not rows:
            return 0
        publishes = []
        for row in rows:
            message = AlarmMessage(
                self.bed, row.id, row.time, row.rule, row.priority, row.state, row.message,
                _finite(row.value), _finite(row.threshold), _finite(row.baseline),
                row.user, row.role, row.note,
            )  # fmt: skip
            publishes.append(
                js.publish(
                    subject(self.bed, ALARM),
                    message.encode(),
                    headers={"Nats-Msg-Id": alarm_id(self.bed, row.id)},
                )
            )
        await asyncio.gather(*publishes)
        with self._lock:
            self._next_alarm = rows[-1].id + 1
            self._alarms += len(rows)
        return len(rows)

    def _status_message(self) -> StatusMessage:
        session = self.session
        snapshot = session.snapshot()
        alerts = tuple(
            AlertSummary(
                a.rule, str(a.priority), str(a.state), float(a.since), a.message, a.technical
            )
            for a in session.alerts()
            if a.rule != BROKER_ALARM
        )
        baseline = session.baseline()
        base = self._base or 0
        return StatusMessage(
            bed=self.bed,
            sent=time.time(),
            label=snapshot.bed_label,
            source_state=str(snapshot.source.state),
            last_seq=base + snapshot.last_seq,
            quiet_s=self.quiet_s,
            weight_kg=snapshot.weight_kg,
            newest_frame_time=snapshot.newest_frame_time,
            frame_age_s=_finite(snapshot.frame_age()),
            delta_p_rise=_finite(baseline.rise_mmhg),
            alerts=alerts,
            resistance=_finite(baseline.resistance),
            baseline_since=_finite(baseline.established),
        )


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
