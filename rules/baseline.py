"""The oxygenator delta P baseline, collected a sample at a time or found in a recording.

The baseline is the median delta P and the median resistance (delta P / flow, mmHg per
L/min) over the first ``baseline_window_min`` (30) minutes of usable data: delta P and
flow valid, flow above ``min_flow_lpm``. The window opens at the first usable sample
after the start of monitoring, or after an ``oxygenator_change``, ``circuit_change`` or
``baseline_reset`` event, and spans [first, first + window) in time; the baseline is in
force from the first sample (usable or not) at or after the end of the window. Until
then there is no ``delta_p_rise`` judgement. Both engines take the median with
``numpy.median`` of the same values in the same order, so they agree exactly.

Both engines list every baseline started, in order: the one of the start of monitoring
once its window opens, and one per baseline event (waiting, collecting or established).
:func:`resistance_in_force` needs nothing else to say which baseline judged a moment:
each established baseline holds from its ``established`` time until the next baseline's
``reason_time``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from adapters import BASELINE_EVENTS


@dataclass(frozen=True, slots=True)
class Baseline:
    """The oxygenator delta P baseline: why it was (re)started, its window and values.

    ``state`` is ``waiting`` (no usable sample yet), ``collecting`` (the 30-minute window
    runs) or ``established``. ``resistance`` is the median delta P / flow (mmHg per
    L/min) over the window, ``delta_p_mmhg`` the median delta P. ``delta_p_now`` and
    ``flow_now`` are filled in by the incremental engine's snapshot. ``samples``: how
    many samples the medians are over (0 until established).
    """

    reason: str
    reason_time: float | None
    window_start: float | None
    established: float | None = None
    delta_p_mmhg: float | None = None
    resistance: float | None = None
    samples: int = 0
    delta_p_now: float | None = None
    flow_now: float | None = None

    @property
    def listed(self) -> bool:
        """Whether the engines list it: started by an event, or its window has opened."""
        return self.reason_time is not None or self.window_start is not None

    @property
    def state(self) -> str:
        if self.window_start is None:
            return "waiting"
        return "collecting" if self.resistance is None else "established"

    @property
    def scaled_mmhg(self) -> float | None:
        """The baseline scaled to the current flow (resistance x flow)."""
        if self.resistance is None or self.flow_now is None:
            return None
        return self.resistance * self.flow_now

    @property
    def rise_mmhg(self) -> float | None:
        scaled = self.scaled_mmhg
        return None if scaled is None or self.delta_p_now is None else self.delta_p_now - scaled

    def with_now(self, delta_p: float, flow: float) -> Baseline:
        return dataclasses.replace(self, delta_p_now=delta_p, flow_now=flow)


class BaselineCollector:
    """The baseline in force, fed a sample at a time (incremental engine).

    ``history`` holds the baselines replaced so far that are listed (see
    :attr:`Baseline.listed`), in their state when they were replaced.
    """

    __slots__ = ("_delta_ps", "_end_us", "_resistances", "current", "history", "window_us")

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self.current = Baseline("start", None, None)
        self.history: list[Baseline] = []
        self._end_us: int | None = None
        self._delta_ps: list[float] = []
        self._resistances: list[float] = []

    def baselines(self) -> list[Baseline]:
        """Every baseline started so far, oldest first, the current one last."""
        current = [self.current] if self.current.listed else []
        return [*self.history, *current]

    def feed(self, t: float, t_us: int, delta_p, flow, usable: bool) -> float | None:
        """Take one sample; the baseline resistance in force for it (None: not yet)."""
        base = self.current
        if base.resistance is not None:
            return base.resistance
        if self._end_us is None:
            if usable:
                self.current = dataclasses.replace(base, window_start=t)
                self._end_us = t_us + self.window_us
                self._delta_ps.append(delta_p)
                self._resistances.append(delta_p / flow)
            return None
        if t_us < self._end_us:
            if usable:
                self._delta_ps.append(delta_p)
                self._resistances.append(delta_p / flow)
            return None
        self.current = dataclasses.replace(
            base,
            established=t,
            delta_p_mmhg=float(np.median(np.array(self._delta_ps))),
            resistance=float(np.median(np.array(self._resistances))),
            samples=len(self._delta_ps),
        )
        self._delta_ps, self._resistances = [], []
        return self.current.resistance

    def restart(self, reason: str, time: float) -> None:
        """Discard the baseline: a new window opens at the next usable sample."""
        if self.current.listed:
            self.history.append(self.current)
        self.current = Baseline(reason, time, None)
        self._end_us = None
        self._delta_ps, self._resistances = [], []


@dataclass(frozen=True, slots=True)
class Segment:
    """Rows judged against one baseline, up to the event that ended it (if any)."""

    rows: np.ndarray
    resistance: float
    end_time: float | None


def baseline_segments(
    seconds: np.ndarray,
    times_us: np.ndarray,
    event_rows: np.ndarray,
    event_kinds: list[str],
    delta_p: np.ndarray,
    flow: np.ndarray,
    usable: np.ndarray,
    window_us: int,
) -> tuple[list[Segment], list[Baseline]]:
    """The baselines of a whole recording (batch engine), and the rows each one judges.

    ``event_rows`` are the rows with an event and ``event_kinds`` its normalised text; a
    baseline event starts a new segment at its row. Every listed baseline is returned,
    established or not; only the established ones have a segment.
    """
    n = seconds.size
    reasons = {
        int(row): kind
        for row, kind in zip(event_rows.tolist(), event_kinds, strict=True)
        if kind in BASELINE_EVENTS
    }
    bounds = sorted({0, n, *reasons})
    segments, baselines = [], []
    for start, stop in itertools.pairwise(bounds):
        reason, reason_time = "start", None
        if start in reasons:
            reason, reason_time = reasons[start], float(seconds[start])
        rows = start + np.flatnonzero(usable[start:stop])
        if rows.size == 0:
            if reason_time is not None:
                baselines.append(Baseline(reason, reason_time, None))
            continue
        window_start = float(seconds[rows[0]])
        window_end = times_us[rows[0]] + window_us
        established = start + int(np.searchsorted(times_us[start:stop], window_end, "left"))
        if established >= stop:
            baselines.append(Baseline(reason, reason_time, window_start))
            continue
        inside = rows[times_us[rows] < window_end]
        baseline = Baseline(
            reason=reason,
            reason_time=reason_time,
            window_start=window_start,
            established=float(seconds[established]),
            delta_p_mmhg=float(np.median(delta_p[inside])),
            resistance=float(np.median(delta_p[inside] / flow[inside])),
            samples=int(inside.size),
        )
        baselines.append(baseline)
        end_time = float(seconds[stop]) if stop < n else None
        segments.append(Segment(rows[rows >= established], baseline.resistance, end_time))
    return segments, baselines


def resistance_in_force(baselines: Sequence[Baseline]) -> Callable[[np.ndarray], np.ndarray]:
    """Baseline resistance (mmHg per L/min) in force at given POSIX seconds, NaN where none.

    ``baselines`` as the engines list them (``IncrementalEngine.baselines()``,
    ``Analysis.baselines``): each established baseline holds from its ``established``
    time until the next baseline's ``reason_time``; before the first, there is none.
    """
    spans = []
    for i, base in enumerate(baselines):
        if base.resistance is None or base.established is None:
            continue
        later = baselines[i + 1].reason_time if i + 1 < len(baselines) else None
        spans.append((base.established, np.inf if later is None else later, base.resistance))

    def in_force(seconds: np.ndarray) -> np.ndarray:
        times = np.asarray(seconds, dtype="float64")
        out = np.full(times.shape, np.nan)
        for start, end, resistance in spans:
            out[(times >= start) & (times < end)] = resistance
        return out

    return in_force
