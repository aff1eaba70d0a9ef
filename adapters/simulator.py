"""The circuit simulator: scenario recordings from a small pump-and-circuit model.

``simulate`` turns a scenario's noise-free course (``_courses``, through the circuit model
of ``_circuit``) into a canonical telemetry DataFrame with sensor noise, slow
physiological wander, transducer-flush spikes, sparse lab results and events;
``write_csv`` stores it as a recording and ``stream_to_port`` plays it to a serial port
in any device protocol. Each scenario tells its story (``Scenario.story``,
``Scenario.milestones``) in seconds from the start, the same for every seed, so rule
tests can check that alerts fire when they should.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import serial

from . import _circuit, _courses
from .contract import (
    CANONICAL_COLUMNS,
    EVENT,
    NUMERIC_COLUMNS,
    TIMESTAMP,
    epoch_seconds,
    to_datetime_utc,
)
from .encoders import FrameEncoder
from .errors import SourceError, TelemetryError
from .recording import write_dataframe

#: Start of a simulated run when none is given, so that a seed alone fixes the data.
DEFAULT_START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DEFAULT_DURATION_S = 4 * 3600.0

FLUSH_EVERY_S = (60 * 60, 120 * 60)
#: A flush holds 2-4 s: always shorter than the 5 s on-delay of the shortest rule.
FLUSH_HOLD_S = (2.0, 4.0)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named circuit story: what goes wrong, and when (seconds from the start)."""

    name: str
    description: str
    build: Callable[[np.ndarray, float], _courses.Course] = field(repr=False)
    min_duration_s: float = 0.0

    def milestones(self, duration_s: float = DEFAULT_DURATION_S) -> dict[str, float]:
        """Named times (s): scheduled happenings and where watched conditions start.

        A condition's time is when it starts and then holds at least the rule's on-delay
        (15 s delta P, 10 s flow, 5 s pressures); the alert is due one on-delay later.
        Lab keys (``pfhb_50`` ...) are the draw time of the first result past the limit.
        """
        return {key: when for when, key, _ in self._entries(duration_s)}

    def story(
        self, duration_s: float = DEFAULT_DURATION_S, seed: int | None = None
    ) -> list[tuple[float, str]]:
        """(seconds from start, what happens then), in time order; with a seed, also
        the transducer flushes of that run (which must not alert)."""
        entries = [(when, text) for when, _, text in self._entries(duration_s)]
        for when, channel, level, hold in [] if seed is None else _flushes(self, duration_s, seed):
            where = "drainage" if channel == "p_venous_mmhg" else "pre-oxygenator"
            text = f"{where} transducer flush: {level:.0f} mmHg for {hold:.1f} s (no alert)"
            entries.append((when, text))
        return sorted(entries, key=lambda e: e[0])

    def _entries(self, duration_s: float) -> list[tuple[float, str, str]]:
        t = np.arange(math.floor(duration_s)) * 1.0
        course = self.build(t, duration_s)
        texts = {w.key: w.text for w in course.watches}
        out = [(0.0, "start", HEALTHY), (float(_courses.BASELINE_S), "baseline_end", BASELINE)]
        out += [(when, key, text) for key, (when, text) in course.marks.items()]
        out += [(when, key, texts[key]) for key, when in _courses.watch_times(t, course).items()]
        out += [(when, key, text) for key, (when, text) in _courses.lab_crossings(course).items()]
        return sorted((e for e in out if e[0] < duration_s), key=lambda e: e[0])


HEALTHY = "healthy circuit: about 3200 rpm, 4.2 L/min, P1 -45, P2 200, P3 175, delta P 25 mmHg"
BASELINE = "the first 30 minutes end (the delta P baseline window)"

SCENARIOS: dict[str, Scenario] = {
    b.__name__: Scenario(b.__name__, _courses.description(b), b, _courses.min_duration_s(b))
    for b in _courses.BUILDERS
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``, or a TelemetryError listing the known ones."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise TelemetryError(f"Unknown scenario {name!r}; choose one of: {known}.") from None


def _start_seconds(start: datetime | float | None) -> float:
    if start is None:
        start = DEFAULT_START
    if isinstance(start, datetime):
        return (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
    return float(start)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    # one independent stream per kind of randomness, so adding flushes never moves the noise
    return np.random.default_rng([seed, *stream])


def _wander(
    rng: np.random.Generator, t: np.ndarray, duration_s: float, sigma: float, tau_s: float
) -> np.ndarray:
    """Slow Ornstein-Uhlenbeck drift: AR(1) on a one-minute grid, interpolated to ``t``."""
    grid = np.arange(0.0, duration_s + 120.0, 60.0)
    phi = math.exp(-60.0 / tau_s)
    shocks = rng.normal(0.0, sigma * math.sqrt(1 - phi * phi), grid.size)
    shocks[0] = rng.normal(0.0, sigma)
    x = np.empty_like(shocks)
    acc = 0.0
    for i, e in enumerate(shocks):  # about 10,000 steps for a week: cheap
        acc = phi * acc + e if i else e
        x[i] = acc
    return np.interp(t, grid, x)


def _flushes(
    scenario: Scenario, duration_s: float, seed: int
) -> list[tuple[float, str, float, float]]:
    """(start s, channel, level mmHg, hold s) of the transducer flushes of a run."""
    rng = _rng(seed, 3, zlib.crc32(scenario.name.encode()))  # differ between scenarios
    out, when = [], rng.uniform(20 * 60, 80 * 60)
    while when < duration_s:
        # a flush reads the flush-bag pressure; P3 is not flushed here because pre minus
        # post would then go far below -50 mmHg and turn delta P into an artifact
        if rng.random() < 0.65:
            out.append((when, "p_pre_oxy_mmhg", rng.uniform(300, 450), rng.uniform(*FLUSH_HOLD_S)))
        else:
            out.append((when, "p_venous_mmhg", rng.uniform(40, 90), rng.uniform(*FLUSH_HOLD_S)))
        when += rng.uniform(*FLUSH_EVERY_S)
    return out


def _setting_steps(rng, t, duration_s, first, choices, every_h) -> np.ndarray:
    """A bedside setting (sweep gas, FdO2) that the team changes every few hours."""
    out = np.full(t.shape, first, dtype="float64")
    every_s = (every_h[0] * 3600, every_h[1] * 3600)
    when = rng.uniform(*every_s)
    while when < duration_s:
        out[t >= when] = rng.choice(choices)
        when += rng.uniform(*every_s)
    return out


def _normal_labs(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "plasma_free_hb_mg_dl": np.round(rng.uniform(3, 9, n), 1),
        "ldh_u_l": np.round(rng.uniform(240, 340, n)),
        "haptoglobin_mg_dl": np.round(rng.uniform(70, 130, n)),
        "bilirubin_mg_dl": np.round(rng.uniform(0.5, 1.1, n), 1),
    }


def _measure(
    spec: Scenario, course: _courses.Course, t: np.ndarray, duration_s: float, seed: int
) -> dict[str, np.ndarray]:
    """Every telemetry channel at every sample time: model, wander, noise, flushes, faults."""
    slow, noise, bedside = _rng(seed, 1), _rng(seed, 2), _rng(seed, 4)

    def wander(sigma: float, tau_s: float) -> np.ndarray:
        return _wander(slow, t, duration_s, sigma, tau_s)

    def jitter(sigma: float) -> np.ndarray:
        return noise.normal(0.0, sigma, t.size)

    s = course.settings
    s = replace(
        s,
        cvp_mmhg=s.cvp_mmhg + wander(1.0, 20 * 60),
        oxy_resistance=s.oxy_resistance * (1 + wander(course.resistance_wander, 90 * 60)),
    )
    op = _circuit.operating_point(s)
    flow = np.maximum(op.flow_lpm + jitter(0.03) * (op.flow_lpm > 0.05), 0.0)
    out = {
        "pump_speed_rpm": np.round(s.speed_rpm + jitter(1.5) * (s.speed_rpm > 0)),
        "blood_flow_lpm": np.round(flow, 2),
        "p_venous_mmhg": op.p_venous_mmhg + jitter(1.0),
        "p_pre_oxy_mmhg": op.p_pre_oxy_mmhg + jitter(1.0),
        "p_post_oxy_mmhg": op.p_post_oxy_mmhg + jitter(1.0),
    }
    wobble = _rng(seed, 6)
    for when, channel, level, hold in _flushes(spec, duration_s, seed):
        lo, hi = np.searchsorted(t, [when, when + hold])
        reading = level + wobble.normal(0.0, 2.0, hi - lo)
        if channel == "p_pre_oxy_mmhg":  # keep delta P inside its plausible 400 mmHg
            reading = np.minimum(reading, out["p_post_oxy_mmhg"][lo:hi] + 390)
        out[channel][lo:hi] = reading
    for name in ("p_venous_mmhg", "p_pre_oxy_mmhg", "p_post_oxy_mmhg"):
        out[name] = np.round(out[name], 1)
    hb_drop = 0.0 if course.hb_drop_g_dl is None else course.hb_drop_g_dl
    svo2 = 68 + 5 * (op.flow_lpm - 4.2) + wander(2.0, 40 * 60) + jitter(0.3)
    sweep_choices, fdo2_choices = (3.0, 3.5, 4.0, 4.5, 5.0), (0.8, 0.9, 1.0)
    out |= {
        "sweep_gas_lpm": _setting_steps(bedside, t, duration_s, 4.0, sweep_choices, (4, 8)),
        "fdo2": _setting_steps(bedside, t, duration_s, 1.0, fdo2_choices, (6, 12)),
        "svo2_pct": np.round(np.clip(svo2, 40, 90), 1),
        "hb_g_dl": np.round(10.4 - hb_drop + wander(0.2, 3 * 3600) + jitter(0.05), 1),
        "temp_c": np.round(36.9 + wander(0.15, 60 * 60) + jitter(0.03), 1),
    }
    for first, last, channel, value in course.faults:
        out[channel][(t >= first) & (t < last)] = value
    out["delta_p_mmhg"] = np.round(out["p_pre_oxy_mmhg"] - out["p_post_oxy_mmhg"], 1)
    return out


def simulate(
    scenario: str,
    duration_s: float = DEFAULT_DURATION_S,
    start: datetime | float | None = None,
    rate_hz: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A scenario's telemetry: columns exactly CANONICAL_COLUMNS, ``timestamp`` tz-aware UTC.

    ``duration_s`` seconds at ``rate_hz`` from ``start`` (datetime, naive taken as UTC, or
    POSIX seconds; default DEFAULT_START). ``seed`` fixes the noise, drift and flushes;
    the story (``SCENARIOS[scenario].story``) does not depend on it. The same arguments
    always give the same data. Unknown scenario or too short a run: TelemetryError.
    """
    spec = get_scenario(scenario)
    if not duration_s >= spec.min_duration_s or duration_s <= 0:
        raise TelemetryError(
            f"Scenario {scenario!r} needs a duration of at least "
            f"{max(spec.min_duration_s, 1):.0f} s to tell its story, not {duration_s} s; "
            "give a longer duration."
        )
    if not 0 < rate_hz <= 100:
        raise TelemetryError(
            f"The sample rate must be between 0 and 100 Hz, not {rate_hz}; give e.g. 1."
        )
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    course = spec.build(t, duration_s)
    measured = _measure(spec, course, t, duration_s, seed)

    keep = np.ones(t.size, dtype=bool)
    for first, last in course.gaps:
        keep &= (t < first) | (t >= last)
    t = t[keep]
    frame = pd.DataFrame({TIMESTAMP: to_datetime_utc(_start_seconds(start) + t)})
    for name in NUMERIC_COLUMNS:
        frame[name] = measured[name][keep] if name in measured else np.nan
    # a lab result or an event lands on the first row at or after its time
    labs = course.labs or _normal_labs(_rng(seed, 5), len(course.lab_times))
    rows = np.searchsorted(t, course.lab_times)
    inside = rows < t.size
    for name in labs:
        frame.loc[rows[inside], name] = np.asarray(labs[name], dtype="float64")[inside]
    events = np.full(t.size, "", dtype=object)
    for when, text in course.events:
        row = np.searchsorted(t, when)
        if row < t.size:
            events[row] = text
    frame[EVENT] = pd.Series(events, dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


def write_csv(
    scenario: str,
    path: str | Path,
    duration_s: float = DEFAULT_DURATION_S,
    start: datetime | float | None = None,
    seed: int = 0,
) -> Path:
    """Simulate ``scenario`` and write it as a canonical CSV recording at ``path``."""
    frame = simulate(scenario, duration_s, start=start, seed=seed)
    write_dataframe(frame, path)
    return Path(path)


def stream_to_port(
    frame: pd.DataFrame,
    port: str,
    protocol: str,
    speed: float = 1.0,
    baud: int = 115200,
    stop: threading.Event | None = None,
    *,
    rebase: bool = True,
) -> int:
    """Play ``frame`` to a serial port (name or pyserial URL) as a console would; rows written.

    Each row goes out at its time from the first row divided by ``speed`` (``math.inf``:
    as fast as the port takes them). With ``rebase`` the device timestamps are moved so
    the first row is "now", keeping the rows' spacing in data time whatever the speed.
    Setting ``stop`` ends the stream early.
    """
    if not speed > 0:
        raise TelemetryError(
            f"The replay speed must be above 0, not {speed}; give e.g. 1 for real time."
        )
    encoder = FrameEncoder(protocol)
    stop = stop or threading.Event()
    seconds = epoch_seconds(frame[TIMESTAMP]) if len(frame) else np.empty(0)
    channels = [c for c in NUMERIC_COLUMNS if c in frame.columns]
    values = frame[channels].to_numpy(dtype="float64")
    events = (
        frame[EVENT].fillna("").astype(str).tolist()
        if EVENT in frame.columns
        else [""] * len(frame)
    )
    try:
        link = serial.serial_for_url(port, baudrate=baud, timeout=1, write_timeout=5)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise SourceError(
            f"Cannot open serial port {port!r} to stream to ({exc}); check the port name."
        ) from exc
    written = 0
    with link:
        begun, wall = time.monotonic(), time.time()
        for i, row in enumerate(values):
            offset = float(seconds[i] - seconds[0])
            delay = begun + offset / speed - time.monotonic()
            if (delay > 0 and stop.wait(delay)) or stop.is_set():
                break
            sample = {name: float(v) for name, v in zip(channels, row, strict=True) if v == v}
            stamp = wall + offset if rebase else float(seconds[i])
            packet = encoder.encode(sample, timestamp=stamp, event=events[i] or None)
            try:
                link.write(packet)
            except (serial.SerialException, OSError) as exc:
                raise SourceError(
                    f"Serial port {port!r} failed after {written} rows ({exc}); check that "
                    "the port is still there and that something reads from it."
                ) from exc
            written += 1
    return written
