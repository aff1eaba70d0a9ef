"""Alert episodes: what an alert did over a session, once per priority level it reached.

An :class:`Episode` is one stretch of time during which a rule's alert was at or above
one priority level (DESIGN.md section 6): a medium alert that escalates to high gives a
medium episode and a high episode, each starting when that level became active.

- ``start``: the time of the sample at which the level became active, that is the first
  sample past the threshold plus the on-delay (to the sample); for a gap in a recording,
  the last valid sample plus ``data_stale.recording_gap_s``.
- ``end``: the time of the sample at which the level cleared (after its off-delay), or
  of the event that ended it (an ``oxygenator_change`` ends a ``delta_p_rise`` alert);
  None when still active at the end of the data. A latched alert that waits for an
  acknowledgement has ended: the episode is about the condition, not the display.
- ``peak``: the worst value from ``start`` up to, not including, the sample that ended it
  (maximum, or minimum for a rule about a value falling); for hemolysis the highest
  plasma free Hb result; for a data gap its length in seconds.
- ``message``: the alert message at ``start``.

:class:`EpisodeTracker` follows levels a sample at a time (the incremental engine);
:func:`level_runs` finds the same stretches in a whole array of levels (the batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters import format_timestamp

from .lifecycle import Priority


@dataclass(frozen=True, slots=True)
class Episode:
    """One priority level of one alert, from when it became active to when it cleared."""

    rule: str
    priority: Priority
    start: float
    end: float | None
    peak: float | None
    message: str
    threshold: float | None = None
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of DESIGN.md section 6 (ISO 8601 times, null when open)."""
        return {
            "rule": self.rule,
            "priority": str(self.priority),
            "start": format_timestamp(self.start),
            "end": None if self.end is None else format_timestamp(self.end),
            "peak": self.peak,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch without valid frames longer than ``data_stale.recording_gap_s``:
    from the last valid sample before it to the first after it (POSIX seconds)."""

    start: float
    end: float
    seconds: float


class EpisodeTracker:
    """Open and closed episodes of one rule, fed its alert level as it changes."""

    __slots__ = ("above", "closed", "levels", "open", "rule", "unit")

    def __init__(self, rule: str, unit: str, levels: tuple[int, ...], above: bool = True) -> None:
        self.rule = rule
        self.unit = unit
        self.levels = levels
        self.above = above
        # level -> [start, peak, message, threshold]
        self.open: dict[int, list] = {}
        self.closed: list[Episode] = []

    def change(
        self,
        time: float,
        old: int,
        new: int,
        message_of: Callable[[int], str],
        threshold_of: Callable[[int], float | None],
    ) -> None:
        """The alert went from level ``old`` to ``new`` at ``time`` (levels 0-3)."""
        for level in range(old, new, -1):
            entry = self.open.pop(level, None)
            if entry is not None:
                self.closed.append(self._episode(level, entry, time))
        for level in range(old + 1, new + 1):
            if level in self.levels:
                self.open[level] = [time, None, message_of(level), threshold_of(level)]

    def observe(self, value: float | None) -> None:
        """A valid sample while levels are open: keep the worst value as the peak."""
        if value is None or value != value:
            return
        for entry in self.open.values():
            peak = entry[1]
            if peak is None or (value > peak if self.above else value < peak):
                entry[1] = value

    def end_all(self, time: float) -> None:
        for level in sorted(self.open, reverse=True):
            self.closed.append(self._episode(level, self.open[level], time))
        self.open.clear()

    def _episode(self, level: int, entry: list, end: float | None) -> Episode:
        start, peak, message, threshold = entry
        return Episode(
            rule=self.rule,
            priority=Priority.of_level(level),
            start=start,
            end=end,
            peak=None if peak is None else float(peak),
            message=message,
            threshold=threshold,
            unit=self.unit,
        )

    def episodes(self) -> list[Episode]:
        """Closed episodes, then those still open (end None)."""
        still = [self._episode(level, entry, None) for level, entry in sorted(self.open.items())]
        return [*self.closed, *still]


def level_runs(levels: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end index (exclusive; ``len`` when still on) of each run of ``levels >= level``."""
    on = levels >= level
    edges = np.diff(on.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
