"""Level timers: when a priority level of a rule becomes active and when it clears.

Per rule and per priority level, a :class:`LevelTimer` (one sample at a time) and
:func:`debounce` (a whole recording at once) decide when the level is *active*. They are
the same definition written twice, and a property test checks that they agree. Each
sample of the rule either meets the level's alert condition (value past the threshold),
its clear condition (value back past the threshold by the hysteresis), or neither (in
the hysteresis band). Then:

- the level becomes active at a sample when, over the last on-delay (the window
  [now - on-delay, now]), no sample met the clear condition, the samples cover the whole
  on-delay, and at least ``timing.hold_fraction`` (default three quarters) of them met
  the alert condition;
- an active level clears at a sample when, over the last off-delay, no sample met the
  alert condition, the samples cover the whole off-delay, and at least that fraction of
  them met the clear condition.

A hold fraction of 1 is the classic unbroken hold. Below 1, a noisy signal whose mean
sits past the limit alerts promptly instead of waiting for an unbroken run of samples
past it (with 2 mmHg of noise and the mean 0.5 mmHg past a limit, fifteen samples in a
row past it take about 40 minutes to come).

So a spike shorter than the on-delay (a transducer flush) never alerts; a step past the
limit alerts exactly one on-delay after the first sample past it; a noisy signal whose
mean sits past the limit alerts promptly instead of waiting for an unbroken run; and
once active, an alert does not flap while the signal wanders inside the band.

Time is a per-rule clock in integer microseconds that advances only between the rule's
own valid samples, and not at all across a gap longer than ``timing.freeze_after_s``:
timers are frozen while data is missing, and missing data never clears an alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from .windows import lagged_edges


class _Window:
    """The samples of the current run that fall in the last ``delay`` µs, and their hits."""

    __slots__ = ("clocks", "delay", "fraction", "hits", "start", "votes")

    def __init__(self, delay: int, fraction: float) -> None:
        self.delay = delay
        self.fraction = fraction
        self.start: int | None = None
        self.clocks: deque[int] = deque()
        self.hits: deque[bool] = deque()
        self.votes = 0

    def feed(self, clock: int, hit: bool) -> bool:
        """Add a sample of the run; whether the run covers the delay with enough hits."""
        if self.start is None:
            self.start = clock
        clocks, hits = self.clocks, self.hits
        clocks.append(clock)
        hits.append(hit)
        self.votes += hit
        edge = clock - self.delay
        while clocks[0] < edge:
            clocks.popleft()
            self.votes -= hits.popleft()
        return self.start <= edge and self.votes >= self.fraction * len(clocks)

    def interrupt(self) -> None:
        if self.start is not None:
            self.start = None
            self.clocks.clear()
            self.hits.clear()
            self.votes = 0


class LevelTimer:
    """On-delay and off-delay of one priority level, a sample at a time (see module doc)."""

    __slots__ = ("active", "falling", "rising")

    def __init__(self, on_delay_us: int, off_delay_us: int, fraction: float = 0.75) -> None:
        self.rising = _Window(on_delay_us, fraction)
        self.falling = _Window(off_delay_us, fraction)
        self.active = False

    def step(self, clock: int, on: bool, off: bool) -> bool:
        """Feed one valid sample (rule clock in µs, its alert and clear conditions)."""
        if off and not self.active:
            # the usual sample of a quiet rule: it ends any rising run, and the falling
            # run need not be kept, as nothing can clear an inactive level and the level
            # becomes active only after an alert sample, which interrupts that run anyway
            rising = self.rising
            if rising.start is not None:
                rising.interrupt()
            return False
        if off:
            self.rising.interrupt()
            rise = False
        else:
            rise = self.rising.feed(clock, on)
        if on:
            self.falling.interrupt()
            fall = False
        else:
            fall = self.falling.feed(clock, off)
        if rise:
            self.active = True
        elif fall:
            self.active = False
        return self.active

    @property
    def pending(self) -> bool:
        """Not active, but the alert condition was met within the current on-delay window."""
        return not self.active and self.rising.votes > 0

    @property
    def engaged(self) -> bool:
        """Active or pending: what :func:`engaged` gives for the whole array."""
        return self.active or self.rising.votes > 0

    def reset(self) -> None:
        self.rising.interrupt()
        self.falling.interrupt()
        self.active = False


#: Rows looked at a time by the whole-array timers: each temporary of a part is a few
#: hundred kB, which the allocator hands out again for the next part, where one as long
#: as a week of samples (5 MB) would be fresh memory each time.
PART_ROWS = 1 << 15


def _window_parts(
    clock: np.ndarray,
    member: np.ndarray,
    hit: np.ndarray,
    delay: int,
    edges: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The window of each member sample: the members of its run of ``member`` samples that
    fall in the last ``delay`` µs, as :class:`_Window` keeps them, ``PART_ROWS`` rows at
    a time.

    Yields, part by part, the members' indices, where their runs start, where their
    windows start, and how many ``hit`` samples their windows hold. ``edges``, if given,
    is ``searchsorted(clock, clock - delay)`` for every sample, computed once.
    """
    n = clock.size
    begins = member.copy()
    begins[1:] &= ~member[:-1]
    firsts = np.flatnonzero(begins)  # where each run of members starts
    if firsts.size == 0:
        return
    hits = np.empty(n + 1, dtype=np.int32 if n < 2**31 else np.int64)
    hits[0] = 0
    np.cumsum(hit, out=hits[1:])
    for lo in range(int(firsts[0]), n, PART_ROWS):
        index = np.flatnonzero(member[lo : lo + PART_ROWS])
        if index.size == 0:
            continue
        index += lo
        run_start = firsts[np.searchsorted(firsts, index, side="right") - 1]
        window_start = edges[index] if edges is not None else lagged_edges(clock, index, delay)
        np.maximum(window_start, run_start, out=window_start)
        votes = hits[index + 1]
        votes -= hits[window_start]
        yield index, run_start, window_start, votes


def _ready(
    clock: np.ndarray,
    member: np.ndarray,
    hit: np.ndarray,
    delay: int,
    fraction: float,
    edges: np.ndarray | None = None,
) -> np.ndarray:
    """Indices where a run of ``member`` covers the last ``delay`` µs with enough ``hit``.

    Only the members are looked at (a healthy signal has few samples that are not
    clear), which keeps a week of data to a few milliseconds per level.
    """
    found = []
    for index, run_start, window_start, votes in _window_parts(clock, member, hit, delay, edges):
        enough = votes >= fraction * (index + 1 - window_start)
        found.append(index[(clock[run_start] <= clock[index] - delay) & enough])
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def debounce(
    clock: np.ndarray,
    on: np.ndarray,
    off: np.ndarray,
    on_delay_us: int,
    off_delay_us: int,
    fraction: float = 0.75,
    edges: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Whether one level is active at each sample: :class:`LevelTimer` over whole arrays.

    ``clock`` is the rule clock (int64 µs, non-decreasing); ``on`` and ``off`` are the
    alert and clear conditions (never both true). The level switches on where the
    on-delay window is ready and off where the off-delay window is (never both at one
    sample); in between it holds, so the answer is a forward fill of those switches.
    ``edges`` caches, per delay, where each sample's window starts (for several levels
    of one rule); it is filled in as needed.
    """
    n = clock.size
    rises = _ready(clock, ~off, on, on_delay_us, fraction)
    if rises.size == 0:
        return np.zeros(n, dtype=bool)
    # nothing can clear before the first activation: start at the run of not-alert
    # samples that contains it, so that the run (and its window) is seen whole
    alerts = np.flatnonzero(on[: rises[0] + 1])
    begin = int(alerts[-1]) + 1 if alerts.size else 0
    cached = None
    if edges is not None:
        if off_delay_us not in edges:
            edges[off_delay_us] = lagged_edges(clock, np.arange(n), off_delay_us)
        cached = np.maximum(edges[off_delay_us][begin:] - begin, 0)
    falls = begin + _ready(clock[begin:], ~on[begin:], off[begin:], off_delay_us, fraction, cached)
    switch = np.full(n, -1, dtype=np.int8)
    switch[rises] = 1
    switch[falls] = 0
    # the level holds between switches: keep the switches that change it (they alternate,
    # the first an activation), then +1 where it comes on and -1 where it goes off, summed
    at = np.flatnonzero(switch >= 0)
    to = switch[at]
    changes = at[to != np.concatenate(([0], to[:-1]))]
    step = np.zeros(n, dtype=np.int8)
    step[changes[0::2]] = 1
    step[changes[1::2]] = -1
    return np.cumsum(step, dtype=np.int8).view(bool)


def engaged(
    clock: np.ndarray,
    on: np.ndarray,
    off: np.ndarray,
    on_delay_us: int,
    off_delay_us: int,
    fraction: float = 0.75,
) -> np.ndarray:
    """Whether one level is active or pending at each sample (:attr:`LevelTimer.engaged`):
    active, or the alert condition met within the current on-delay window."""
    out = debounce(clock, on, off, on_delay_us, off_delay_us, fraction)
    for index, _, _, votes in _window_parts(clock, ~off, on, on_delay_us):
        out[index[votes > 0]] = True
    return out


def rule_clock(times_us: np.ndarray, freeze_after_us: int) -> np.ndarray:
    """Per-rule clock over its valid samples: time advances unless the step is a gap."""
    steps = np.empty(times_us.size, dtype=np.int64)
    if times_us.size:
        steps[0] = 0
        np.subtract(times_us[1:], times_us[:-1], out=steps[1:])
        steps[(steps < 0) | (steps > freeze_after_us)] = 0
    return np.cumsum(steps, out=steps)
