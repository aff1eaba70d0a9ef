"""One circuit (bed): its source, buffer, recorder, rules engine and alarm store.

The source's acquisition thread calls :meth:`Session.on_frame`; the Dash callbacks call
the snapshot readers and the specialist actions. Both sides go through one lock around
the engine, so an acknowledgement and a frame never interleave inside it. Nothing here
blocks on a device.

Time: a replayed session runs on the recording's clock (an action is stamped with the
newest frame's time); a live session runs on the arrival clock of the frames (wall time
from a monotonic base), so a console whose own clock jumps cannot reorder the record or
fake a gap, and the "no data" watchdog uses the same clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters import (
    NOT_DELIVERING,
    Frame,
    FrameClock,
    LabError,
    Source,
    SourceStatus,
    lab_value,
    unit_of,
)
from monitor.runtime.buffer import TelemetryBuffer
from monitor.runtime.recorder import Recorder, RecorderStatus
from monitor.store import AlarmStore
from rules import (
    Acknowledgement,
    AlertState,
    AlertStatus,
    Baseline,
    DerivedValue,
    Forecast,
    IncrementalEngine,
    NothingToAcknowledge,
    Priority,
    Transition,
    alert_sort_key,
    derived_values,
)

log = logging.getLogger("ecmo_monitor.session")
#: The session's own technical alarms: the recorder failing, the alarm log failing.
RECORDING_ALARM, ALARM_LOG_ALARM = "recording_stopped", "alarm_log_stopped"
#: The circuit events a specialist can record from the page.
EVENT_CHOICES: tuple[str, ...] = (
    "oxygenator_change",
    "pump_head_change",
    "circuit_change",
    "baseline_reset",
    "note",
)


class ActionError(Exception):
    """An action the session cannot carry out, worded for the person who asked."""


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What the page needs to draw the header: the state of every running part."""

    bed_id: str
    bed_label: str
    weight_kg: float | None
    flow_minimum: float | None
    source: SourceStatus
    recorder: RecorderStatus | None
    last_seq: int
    newest_frame_time: float | None
    newest_frame_received: float | None  # wall clock (time.time()) when it arrived
    store_error: str | None

    @property
    def stale(self) -> bool:
        return self.source.state in NOT_DELIVERING

    def frame_age(self, now: float | None = None) -> float | None:
        """Seconds since the newest frame arrived (wall clock)."""
        if self.newest_frame_received is None:
            return None
        return max(0.0, (now or time.time()) - self.newest_frame_received)


class Session:
    """Owns the running pieces of one bed and wires frames through them."""

    def __init__(
        self,
        source: Source,
        buffer: TelemetryBuffer | None = None,
        recorder: Recorder | None = None,
        engine: IncrementalEngine | None = None,
        store: AlarmStore | None = None,
        bed_id: str = "bed-1",
        bed_label: str | None = None,
        weight_kg: float | None = None,
        live: bool | None = None,
    ) -> None:
        self.bed_id = bed_id
        self.bed_label = bed_label or bed_id
        self.source = source
        self.buffer = buffer if buffer is not None else TelemetryBuffer()  # an empty one is falsy
        self.recorder = recorder
        self.engine = engine or IncrementalEngine(weight_kg=weight_kg)
        self.store = store
        self.live = source.kind == "serial" if live is None else live
        self.weight_kg = weight_kg
        self.flow_minimum: float | None = None
        if weight_kg:
            self.engine.set_weight(weight_kg)
        self._lock = threading.RLock()
        self._newest_received: float | None = None
        self._newest_time: float | None = None
        self._clock = FrameClock()
        self._store_error: str | None = None
        self._technical_since: dict[str, float] = {}
        self._checks: list[Callable[[], tuple[str, str, str] | None]] = []
        self._links: dict[str, Callable[[], object]] = {}
        self._raised: dict[str, Priority] = {}  # the checks' alarms, as last logged
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- the acquisition path -----------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        with self._lock:
            # live frames run on arrival time; and every frame of the record gets a
            # millisecond of its own after the one before (see adapters.timestamps)
            raw = frame.received_at if self.live and frame.received_at is not None else None
            frame = self._clock.stamp_frame(frame, raw)
            self.buffer.append(frame)
            if self.recorder is not None:
                self.recorder.write(frame)
            self._log(self.engine.process(frame))
            self._newest_received = time.time()
            self._newest_time = frame.timestamp
            self._watch_recorder()

    def _watch_recorder(self) -> str | None:
        """The recorder's error, if any; its alarm's raising and clearing are logged.

        The recorder retries by itself (on a write or a status request); this notices
        the change, so the alarm log shows ``active`` when recording stopped and
        ``cleared`` when it went on in a new file, as it does for a rule's alarm.
        """
        if self.recorder is None:
            return None
        raised = RECORDING_ALARM in self._technical_since
        if not raised and not self.recorder.stopped:  # the per-frame path: no status built
            return None
        status = self.recorder.status()
        if status.error and not raised:
            since = self._technical_since[RECORDING_ALARM] = self.now()
            self._log(
                [_technical_transition(RECORDING_ALARM, since, AlertStatus.ACTIVE, status.error)]
            )
        elif not status.error and raised:
            del self._technical_since[RECORDING_ALARM]
            message = status.resumed_text or "Recording resumed."
            self._log(
                [_technical_transition(RECORDING_ALARM, self.now(), AlertStatus.CLEARED, message)]
            )
        return status.error

    def _log(self, transitions: list[Transition]) -> None:
        if not transitions or self.store is None:
            return
        try:
            self.store.append_transitions(transitions)
        except Exception as exc:  # the alarm log failing must not stop monitoring
            if self._store_error is None:
                log.error("alarm log write failed: %s", exc)
            self._store_error = f"Alarm log not written: {exc}"

    def _tick(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                self._log(self.engine.tick(time.time()))
                self.watch_technical()

    def start(self) -> None:
        self.source.start(self.on_frame)
        if self.live:
            self._ticker = threading.Thread(target=self._tick, name="stale-watchdog", daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        self.source.stop()
        if self.recorder is not None:
            self.recorder.close()

    def now(self) -> float:
        """The session's clock: wall time live, the newest frame's time in a replay."""
        if self.live or self._newest_time is None:
            return time.time()
        return self._newest_time

    # -- snapshots ------------------------------------------------------------------------
    def snapshot(self) -> SessionSnapshot:
        with self._lock:
            received, newest = self._newest_received, self._newest_time
            store_error = self._store_error
        return SessionSnapshot(
            bed_id=self.bed_id,
            bed_label=self.bed_label,
            weight_kg=self.weight_kg,
            flow_minimum=self.flow_minimum,
            source=self.source.status(),
            recorder=self.recorder.status() if self.recorder else None,
            last_seq=self.buffer.last_seq,
            newest_frame_time=newest,
            newest_frame_received=received,
            store_error=store_error,
        )

    def alerts(self) -> list[AlertState]:
        """The engine's alerts plus the session's own technical ones (recording, log)."""
        with self._lock:
            return sorted(self._technical() + self.engine.alerts(), key=alert_sort_key)

    def add_link(self, name: str, status: Callable[[], object]) -> None:
        """A link beside the session (the HL7 link): ``status()`` gives its state, an
        object with ``summary()`` (a line for the page) and ``as_dict()`` (for the API)."""
        self._links[name] = status

    def links(self) -> dict[str, object]:
        """Each link's status now, by name."""
        return {name: status() for name, status in self._links.items()}

    def add_technical_check(self, check: Callable[[], tuple[str, str, str] | None]) -> None:
        """A part beside the session (the broker link) that can raise a technical alarm.

        ``check`` returns ``(rule, priority, message)`` while its problem lasts, else None.
        """
        self._checks.append(check)

    def watch_technical(self) -> dict[str, tuple[Priority, str]]:
        """The checks' problems now; their raising and clearing go to the alarm log."""
        with self._lock:
            problems = {}
            for check in self._checks:
                found = check()
                if found is not None:
                    rule, priority, message = found
                    problems[rule] = (Priority(priority), message)
            for rule in problems.keys() - self._raised:
                since = self._technical_since.setdefault(rule, self.now())
                priority, message = problems[rule]
                raised = _technical_transition(rule, since, AlertStatus.ACTIVE, message, priority)
                self._log([raised])
            for rule in self._raised.keys() - problems.keys():
                self._technical_since.pop(rule, None)
                cleared = _technical_transition(
                    rule, self.now(), AlertStatus.CLEARED, "resolved", self._raised[rule]
                )
                self._log([cleared])
            self._raised = {rule: priority for rule, (priority, _) in problems.items()}
            return problems

    def _technical(self) -> list[AlertState]:
        problems = {}
        recording_error = self._watch_recorder()
        if recording_error:
            problems[RECORDING_ALARM] = (Priority.HIGH, recording_error)
        if self._store_error:
            problems[ALARM_LOG_ALARM] = (Priority.HIGH, self._store_error)
        problems.update(self.watch_technical())
        out = []
        for rule, (priority, message) in problems.items():
            since = self._technical_since.setdefault(rule, self.now())
            out.append(
                AlertState(
                    rule=rule,
                    priority=priority,
                    state=AlertStatus.ACTIVE,
                    latched=False,
                    since=since,
                    value=None,
                    threshold=None,
                    message=message,
                    acknowledgement=None,
                    technical=True,
                )
            )
        return out

    def derived_values(self) -> list[DerivedValue]:
        """The derived values at hand now, from the newest sample of each channel
        (``rules.derived_values`` says which are fresh enough to combine)."""
        latest = {name: (t, v) for name, (v, t) in self.buffer.latest_values().items()}
        return derived_values(latest, self.now(), self.weight_kg, self.engine.config)

    def baseline(self) -> Baseline:
        with self._lock:
            return self.engine.baseline()

    def baselines(self) -> list[Baseline]:
        with self._lock:
            return self.engine.baselines()

    def forecasts(self) -> list[Forecast]:
        """The delta P forecast per limit as of the newest frame (advice, not an alarm)."""
        with self._lock:
            return self.engine.forecasts()

    # -- specialist actions (the caller has checked the role) -----------------------------
    def acknowledge(self, rule: str, user: str, role: str, note: str = "") -> Acknowledgement:
        if rule == RECORDING_ALARM:
            retry_s = self.recorder.retry_s if self.recorder is not None else 10.0
            raise ActionError(
                "This alarm stays until recording works again: free space or fix permissions "
                f"in the data directory; the monitor retries every {retry_s:g} s and then "
                "goes on in a new file."
            )
        if rule == ALARM_LOG_ALARM:
            raise ActionError(
                "This alarm stays until its cause is fixed: free space or permissions in the "
                "data directory, then restart the monitor."
            )
        with self._lock:
            try:
                ack = self.engine.acknowledge(rule, user, role, self.now(), note)
            except NothingToAcknowledge as exc:
                raise ActionError(str(exc)) from None
            if self.store is not None:
                try:
                    self.store.append_acknowledgement(ack)
                except Exception as exc:
                    self._store_error = f"Alarm log not written: {exc}"
        log.info("%s (%s) acknowledged %s %s", user, role, ack.priority, rule)
        return ack

    def record_event(self, kind: str, user: str, note: str = "") -> float:
        """Record a circuit event; it goes through the frame path so recordings keep it."""
        if kind not in EVENT_CHOICES:
            raise ActionError(f"Unknown event {kind!r}; choose one of: {', '.join(EVENT_CHOICES)}.")
        note = " ".join(note.split())[:200]
        text = kind if kind != "note" else (note or "note")
        when = self.now()
        self.on_frame(Frame(timestamp=when, values={}, event=text, received_at=when))
        if self.store is not None:
            self.store.append_event(kind, when, user, note)
            if kind == "baseline_reset":
                self.store.append_baseline_reset(when, user)
        log.info("%s recorded event %s", user, text)
        return when

    def reset_baseline(self, user: str) -> float:
        return self.record_event("baseline_reset", user)

    def enter_lab(self, analyte: str, value: float, user: str, unit: str | None = None) -> float:
        """Enter a lab result; it goes through the frame path so recordings keep it.

        ActionError with the sentence of ``adapters.lab_value`` (the one check of a lab
        result) for an unknown analyte or unit, or a value that is not plausible.
        """
        try:
            name, number = lab_value(analyte, value, unit)
        except LabError as exc:
            raise ActionError(str(exc)) from None
        when = self.now()
        self.on_frame(Frame(timestamp=when, values={name: number}, received_at=when))
        if self.store is not None:
            self.store.append_lab(name, number, when, unit_of(name), user)
        log.info("%s entered %s = %g", user, name, number)
        return when

    def set_weight(self, kg: float | None, user: str) -> None:
        if kg is not None and not (1 <= kg <= 300):
            raise ActionError(f"A weight of {kg:g} kg is not plausible; enter 1 to 300 kg.")
        with self._lock:
            self.engine.set_weight(kg)
            self.weight_kg = kg
        if self.store is not None:
            self.store.append_event(
                "weight_set", self.now(), user, f"{kg:g} kg" if kg else "cleared"
            )

    def set_flow_minimum(self, ml_kg_min: float | None, user: str) -> None:
        if ml_kg_min is not None and not (10 <= ml_kg_min <= 150):
            raise ActionError(
                f"A flow minimum of {ml_kg_min:g} mL/kg/min is not plausible; enter 10 to 150."
            )
        with self._lock:
            self.engine.set_flow_minimum(ml_kg_min)
            self.flow_minimum = ml_kg_min
        if self.store is not None:
            self.store.append_event(
                "flow_minimum_set",
                self.now(),
                user,
                f"{ml_kg_min:g} mL/kg/min" if ml_kg_min else "default",
            )


def _technical_transition(
    rule: str, when: float, state: AlertStatus, message: str, priority: Priority = Priority.HIGH
) -> Transition:
    """An alarm-log record of a technical alarm (the recording, the broker link)."""
    return Transition(
        time=when,
        rule=rule,
        priority=priority,
        state=state,
        value=None,
        threshold=None,
        baseline=None,
        message=message,
    )
