"""What every simulator scenario is made of: a course, its watches, timing helpers.

A :class:`Course` is what happens in one run, noise aside; the scenarios that build
them are in ``_courses`` (the circuit's classic faults) and ``_courses_gas`` (sweep
gas, blood gases and foresight).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._circuit import (
    Settings,
)

#: Healthy data before any fault: the 30-minute delta P baseline plus a margin.
LEAD_S = 45 * 60
BASELINE_S = 30 * 60
#: Shortest run a fault scenario can tell its story in.
FAULT_MIN_DURATION_S = 90 * 60
LAB_FIRST_S = 20 * 60
LAB_EVERY_S = 6 * 3600


@dataclass(frozen=True, slots=True)
class Watch:
    """A condition whose start the story reports: it begins, then holds for ``hold_s``."""

    key: str
    text: str
    kind: str  # rise (delta P over baseline) | drop (flow) | venous (below) | post (above)
    threshold: float
    hold_s: float


@dataclass(frozen=True, slots=True)
class Course:
    """What happens in one run, noise aside: settings over time and scheduled happenings."""

    settings: Settings
    #: Named scheduled times (seconds from start) with what happens then.
    marks: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    watches: tuple[Watch, ...] = ()
    #: (seconds, text) written to the ``event`` column.
    events: tuple[tuple[float, str], ...] = ()
    #: [start, end) stretches with no rows at all.
    gaps: tuple[tuple[float, float], ...] = ()
    #: (start, end, channel, value): the channel reads ``value`` (NaN or a fault code).
    faults: tuple[tuple[float, float, str, float], ...] = ()
    lab_times: tuple[float, ...] = ()
    #: Lab values per draw when the scenario fixes them; None for seeded normal values.
    labs: Mapping[str, tuple[float, ...]] | None = None
    hb_drop_g_dl: np.ndarray | None = None
    #: Slow relative wander of the oxygenator's resistance (sigma; 90-minute memory).
    resistance_wander: float = 0.02


def _ramp(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


def _smooth(x: np.ndarray) -> np.ndarray:
    x = _ramp(x)
    return x * x * (3 - 2 * x)


def _regular_labs(duration_s: float) -> tuple[float, ...]:
    return tuple(float(t) for t in np.arange(LAB_FIRST_S, duration_s, LAB_EVERY_S))


def _onset(duration_s: float, fraction: float, room_s: float = 0.0) -> float:
    """Fault onset: a fixed fraction of the run, never before LEAD_S, leaving ``room_s``."""
    return max(LEAD_S, min(fraction * duration_s, duration_s - room_s))


#: key -> (what the story says, condition kind, threshold, hold s = the rule's on-delay)
WATCHES: dict[str, tuple[str, str, float, float]] = {
    "delta_p_rise_30": ("delta P +30 mmHg over its flow-scaled baseline (medium)", "rise", 30, 15),
    "delta_p_rise_40": ("delta P +40 mmHg over its flow-scaled baseline (high)", "rise", 40, 15),
    "flow_drop_20": ("flow 20 % below its 5-min median, speed unchanged (medium)", "drop", 0.2, 10),
    "flow_drop_35": ("flow 35 % below its 5-min median, speed unchanged (high)", "drop", 0.35, 10),
    "p_venous_80": ("drainage pressure below -80 mmHg (medium)", "venous", -80, 5),
    "p_venous_100": ("drainage pressure below -100 mmHg (high)", "venous", -100, 5),
    "p_post_300": ("post-oxygenator pressure above 300 mmHg (medium)", "post", 300, 5),
    "p_post_350": ("post-oxygenator pressure above 350 mmHg (high)", "post", 350, 5),
}


def _course(settings: Settings, d: float, marks, watches: str = "", **more) -> Course:
    return Course(
        settings,
        marks,
        tuple(Watch(k, *WATCHES[k]) for k in watches.split()),
        lab_times=more.pop("lab_times", _regular_labs(d)),
        **more,
    )


#: Hemolysis markers of a healthy circuit, for scenarios that fix their lab draws.
_QUIET_LABS = {
    "plasma_free_hb_mg_dl": 6.0,
    "ldh_u_l": 290.0,
    "haptoglobin_mg_dl": 100.0,
    "bilirubin_mg_dl": 0.8,
}


def _gas_draws(d: float, every_s: float) -> tuple[float, ...]:
    return tuple(float(x) for x in np.arange(LAB_FIRST_S, d - 60, every_s))
