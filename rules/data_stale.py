"""The "no data from device" rule, both halves: a technical alarm about the feed itself.

A frame is *valid* when it has a usable value of at least one of pump speed, blood flow
and the two oxygenator pressures. Live (:meth:`DataStaleState.tick`, arrival time), no
valid frame for ``data_stale.live_quiet_s`` raises the alarm (high), and the next valid
frame clears it. In a recording, a stretch between two valid frames longer than
``data_stale.recording_gap_s`` is a gap: an episode from the last valid sample plus
that limit (when the alarm would have been raised) to the first valid sample after it,
and a :class:`episodes.Gap`.
"""

from __future__ import annotations

import numpy as np

from adapters import format_timestamp

from .columns import Columns
from .definition import Findings, Rule, RuleState, Setup, micros
from .episodes import Episode, EpisodeTracker, Gap
from .lifecycle import AlertLifecycle, AlertState, Priority, Transition
from .threshold import HIGH

#: The channels whose presence makes a frame valid.
FEED = ("pump_speed_rpm", "blood_flow_lpm", "p_pre_oxy_mmhg", "p_post_oxy_mmhg")


def gap_message(last: float, now: float, limit: float) -> str:
    """Message of a stretch without valid data, from the last valid sample to ``now``."""
    return (
        f"no valid data from the device for {now - last:.0f} s (limit {limit:g} s), "
        f"from {format_timestamp(last)} to {format_timestamp(now)}"
    )


def stale_message(seconds: float, limit: float) -> str:
    return f"no data from the device for {seconds:.0f} s (limit {limit:g} s)"


class DataStaleState(RuleState):
    """The feed's alarm a frame at a time, and the gaps between valid frames."""

    __slots__ = (
        "gap_s",
        "gap_us",
        "gaps",
        "last_valid_t",
        "last_valid_us",
        "life",
        "quiet_s",
        "rule",
        "started",
        "track",
    )
    reads = FEED

    def __init__(self, setup: Setup) -> None:
        self.rule = "data_stale"
        self.life = AlertLifecycle("data_stale", setup.latching, technical=True)
        self.track = EpisodeTracker("data_stale", "s", (HIGH,))
        self.quiet_s = setup.config.data_stale.live_quiet_s
        self.gap_s = setup.config.data_stale.recording_gap_s
        self.gap_us = micros(self.gap_s)
        self.last_valid_t: float | None = None
        self.last_valid_us = 0
        self.started: float | None = None
        #: Stretches without valid frames longer than ``data_stale.recording_gap_s``.
        self.gaps: list[Gap] = []

    def step(self, t, t_us, values, clean, out) -> None:
        for name in FEED:
            if clean[name] is not None:
                if self.last_valid_t is not None:
                    self._returned(t, t_us, out)
                self.last_valid_t, self.last_valid_us = t, t_us
                return

    def _returned(self, t: float, t_us: int, out: list[Transition]) -> None:
        """A valid frame after the previous one: end a stale feed, or report a gap."""
        life, track, last, gap = self.life, self.track, self.last_valid_t, self.gap_s
        long_gap = t_us - self.last_valid_us > self.gap_us
        if long_gap:
            self.gaps.append(Gap(last, t, t - last))
        if not life.level and not long_gap:
            return
        message = gap_message(last, t, gap)
        if not life.level:  # a recording's gap: the alarm would have been raised then
            start = last + gap
            out += life.set_level(start, HIGH, t - last, gap, None, message)
            track.change(start, 0, HIGH, lambda lv: message, lambda lv: gap)
        track.observe(t - last)
        out += life.set_level(t, 0, t - last, life.threshold, None, message)
        track.change(t, HIGH, 0, lambda lv: message, lambda lv: gap)

    def tick(self, now: float) -> list[Transition]:
        """Live only: raise the alarm when no valid frame came for the quiet time."""
        reference = self.last_valid_t
        if reference is None:
            if self.started is None:
                self.started = now
            reference = self.started
        quiet = self.quiet_s
        if self.life.level or now - reference < quiet:
            return []
        message = stale_message(now - reference, quiet)
        self.track.change(now, 0, HIGH, lambda lv: message, lambda lv: quiet)
        return self.life.set_level(now, HIGH, now - reference, quiet, None, message)

    def alert(self, include_pending: bool, now: float) -> AlertState | None:
        return self.life.snapshot(None, self.life.message)


def data_stale_findings(cols: Columns, setup: Setup) -> Findings:
    """The gaps of a recording, each an episode and a :class:`Gap`."""
    valid = np.zeros(cols.n, dtype=bool)
    for name in FEED:
        valid |= cols.valid(name)
    rows = np.flatnonzero(valid)
    gap_s = setup.config.data_stale.recording_gap_s
    long = np.flatnonzero(np.diff(cols.times_us[rows]) > micros(gap_s))
    found = Findings()
    for i in long.tolist():
        last, now = float(cols.seconds[rows[i]]), float(cols.seconds[rows[i + 1]])
        found.episodes.append(
            Episode(
                rule="data_stale",
                priority=Priority.of_level(HIGH),
                start=last + gap_s,
                end=now,
                peak=now - last,
                message=gap_message(last, now, gap_s),
                threshold=gap_s,
                unit="s",
            )
        )
        found.gaps.append(Gap(last, now, now - last))
    return found


DATA_STALE = Rule(
    rule="data_stale",
    title="No data from device",
    channels=(),
    technical=True,
    incremental=DataStaleState,
    batch=data_stale_findings,
)
