"""A bed's last hour at a glance: flow and delta P rise, one point per minute.

Each point is the mean of the minute's frames (wall-clock minutes, UTC); a minute with
no usable frame is a gap (None), so a bed that stopped sending shows where it stopped.
The rise is the bed's own definition (``rules.delta_p_rise``) over the baseline
resistance its heartbeat carries, from the time that baseline was established, judged as
the rule judges it: only while flow is above the rule's minimum flow. Without a baseline
(the first 30 minutes, or after an exchange) there is no rise to draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.runtime import TelemetryBuffer
from rules import RulesConfig, delta_p_rise

MINUTES = 60
FLOW, DELTA_P = "blood_flow_lpm", "delta_p_mmhg"


@dataclass(frozen=True, slots=True)
class Sparkline:
    """The points of the minutes ``minute - MINUTES`` to ``minute - 1`` (epoch minutes)."""

    minute: int
    flow: tuple[float | None, ...]
    rise: tuple[float | None, ...]

    def follows(self, earlier: Sparkline) -> bool:
        """Whether this is ``earlier`` moved on one minute, the older points unchanged:
        then a page that holds ``earlier`` needs only the newest point."""
        return (
            self.minute == earlier.minute + 1
            and self.flow[:-1] == earlier.flow[1:]
            and self.rise[:-1] == earlier.rise[1:]
        )


def _means(minutes: np.ndarray, values: np.ndarray, digits: int) -> tuple[float | None, ...]:
    usable = ~np.isnan(values)
    sums = np.bincount(minutes[usable], weights=values[usable], minlength=MINUTES)
    counts = np.bincount(minutes[usable], minlength=MINUTES)
    return tuple(
        round(float(s / c), digits) if c else None for s, c in zip(sums, counts, strict=True)
    )


def sparkline(
    buffer: TelemetryBuffer,
    minute: int,
    resistance: float | None,
    since: float | None,
    config: RulesConfig,
) -> Sparkline:
    """The hour of whole minutes before epoch minute ``minute``; the rise over
    ``resistance`` from ``since`` (when that baseline was established) on."""
    start = (minute - MINUTES) * 60
    times, values = buffer.arrays(start, (FLOW, DELTA_P))
    keep = times < minute * 60
    slot = ((times[keep] - start) // 60).astype("int64")
    flow, delta_p = values[FLOW][keep], values[DELTA_P][keep]
    if resistance is None or since is None or not math.isfinite(resistance):
        rise = (None,) * MINUTES
    else:
        judged = (flow > config.delta_p_rise.min_flow_lpm) & (times[keep] >= since)
        rises = np.where(judged, delta_p_rise(delta_p, flow, resistance), np.nan)
        rise = _means(slot, rises, 0)
    return Sparkline(minute, _means(slot, flow, 2), rise)
