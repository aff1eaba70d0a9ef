"""The course each simulator scenario takes: settings over time and scheduled happenings.

A scenario is a builder: sample times in, a :class:`Course` through the circuit model
(``_circuit``) out. Everything here is noise-free and seed-free, so a scenario's story
(when its fault starts, when a threshold is crossed) is the same for every seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._circuit import NEW_OXY_R, OXY_AGEING_PER_S, SPEED_RPM, Settings, healthy, operating_point

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


def stable(t: np.ndarray, d: float) -> Course:
    """A healthy circuit with noise, slow drift, transducer flushes and deliberate speed
    changes, which should raise no clinical alert."""
    s = healthy(t)
    speed = s.speed_rpm.copy()
    marks, events, level = {}, [], SPEED_RPM
    for k, when in enumerate(np.arange(100 * 60, d, 120 * 60)):
        step = (200, -200, -200, 200)[k % 4]
        speed += step * _ramp((t - when) / 10.0)
        text = f"pump speed set {level:.0f} -> {level + step:.0f} rpm on purpose; flow follows"
        marks[f"speed_change_{k + 1}"] = (float(when), text + " (no flow alert)")
        level += step
        events.append((float(when), f"pump speed set to {level:.0f} rpm"))
    return _course(replace(s, speed_rpm=speed), d, marks, events=tuple(events))


def gradual_oxygenator_thrombosis(t: np.ndarray, d: float) -> Course:
    """The oxygenator clots slowly over hours, so delta P rises past baseline +30 then +40
    mmHg."""
    s, onset = healthy(t), _onset(d, 0.25)
    u = _ramp((t - onset) / (d - onset))
    text = (
        "fibrin starts to build in the oxygenator; its resistance climbs for the rest "
        "of the run (pre-oxygenator pressure rises, post-oxygenator falls)"
    )
    oxy = s.oxy_resistance + 24 * u**1.5
    watches = "delta_p_rise_30 delta_p_rise_40"
    return _course(replace(s, oxy_resistance=oxy), d, {"onset": (onset, text)}, watches)


def acute_oxygenator_clot(t: np.ndarray, d: float) -> Course:
    """An acute oxygenator clot: delta P climbs steeply over minutes, then blood flow falls."""
    s, onset = healthy(t), _onset(d, 0.5, room_s=20 * 60)
    fall = onset + 12 * 60
    oxy = s.oxy_resistance + 24 * _ramp((t - onset) / 720) ** 2 + 110 * _smooth((t - fall) / 90)
    marks = {
        "onset": (onset, "acute clot in the oxygenator: delta P climbs steeply for 12 minutes"),
        "flow_fall": (fall, "the clot obstructs the oxygenator: flow falls within 90 s"),
    }
    watches = "delta_p_rise_30 delta_p_rise_40 flow_drop_20 flow_drop_35"
    return _course(replace(s, oxy_resistance=oxy), d, marks, watches)


def pump_head_thrombosis(t: np.ndarray, d: float) -> Course:
    """Pump-head thrombosis: plasma free hemoglobin, LDH and bilirubin rise and haptoglobin
    falls, with pump speed and flow nearly unchanged."""
    s, onset = healthy(t), _onset(d, 0.2)
    span = d - 10 * 60 - onset
    n = max(7, math.ceil(span / LAB_EVERY_S))
    draws = (LAB_FIRST_S, *(onset + k * span / n for k in range(1, n + 1)))
    g = np.array([0.0, *(k / n for k in range(1, n + 1))])
    labs = {
        "plasma_free_hb_mg_dl": tuple(np.round(6 * 30**g, 1)),
        "ldh_u_l": tuple(np.round(300 * (2800 / 300) ** g)),
        "haptoglobin_mg_dl": tuple(np.round(95 * (8 / 95) ** g)),
        "bilirubin_mg_dl": tuple(np.round(0.8 * (3.6 / 0.8) ** g, 1)),
    }
    u = _ramp((t - onset) / (d - onset))
    text = (
        "thrombus forms in the pump head: hemolysis, speed and flow almost unchanged; "
        f"labs every {span / n / 60:.0f} min from here"
    )
    return _course(
        replace(s, pump_efficiency=1 - 0.03 * u),
        d,
        {"onset": (onset, text)},
        lab_times=tuple(float(x) for x in draws),
        labs=labs,
        hb_drop_g_dl=0.8 * u,
    )


def chatter_wave(t: np.ndarray) -> np.ndarray:
    """Cannula chatter: the vein collapses on the drainage cannula every few seconds."""
    return 0.7 * np.sin(2 * np.pi * t / 5.3) + 0.3 * np.sin(2 * np.pi * t / 13.1 + 1.0)


def drainage_insufficiency(t: np.ndarray, d: float) -> Course:
    """Hypovolemia: drainage pressure sags past -80 then -100 mmHg and flow chatters at
    constant speed."""
    s, onset = healthy(t), _onset(d, 0.3)
    severity = _smooth((t - onset) / (0.8 * (d - onset)))
    chatter = 0.25 * _ramp((severity - 0.15) / 0.45)
    drain = (s.drain_resistance + 25 * severity) * (1 + chatter * chatter_wave(t))
    begins = float(t[np.argmax(chatter >= 0.1)]) if np.any(chatter >= 0.1) else d
    marks = {
        "onset": (onset, "hypovolemia: filling pressure falls, the vein collapses on the cannula"),
        "chatter": (begins, "flow chatters: +/-0.1 L/min and growing, every 5-13 s"),
    }
    s = replace(s, filling_deficit_mmhg=10 * severity, drain_resistance=drain)
    return _course(s, d, marks, "p_venous_80 p_venous_100")


def return_line_kink(t: np.ndarray, d: float) -> Course:
    """A kinked return line: post-oxygenator pressure rises past 300 then 350 mmHg and flow
    falls, until the kink is relieved."""
    s, onset = healthy(t), _onset(d, 0.5, room_s=40 * 60)
    relief = onset + 30 * 60
    kink = 230 * _smooth((t - onset) / 240) * (1 - _ramp((t - relief) / 20))
    marks = {
        "onset": (onset, "the return line kinks over 4 min: post-oxy pressure up, flow down"),
        "relieved": (relief, "the kink is relieved: pressures and flow normal again within 20 s"),
    }
    watches = "p_post_300 p_post_350 flow_drop_20 flow_drop_35"
    return _course(replace(s, kink_resistance=kink), d, marks, watches)


def sensor_dropout(t: np.ndarray, d: float) -> Course:
    """Data-quality faults: no rows for 90 s and for 45 s, blood flow missing for 5
    minutes and drainage pressure reading -999 for 2 minutes."""
    onset = _onset(d, 0.25)
    a, b, c, e = (onset + f * (d - onset) for f in (0.0, 0.25, 0.5, 0.75))
    marks = {
        "gap_1_start": (a, "the console stops sending: no rows for 90 s"),
        "gap_1_end": (a + 90, "rows resume"),
        "flow_missing_start": (b, "flow probe loses contact: blood flow empty (NaN) for 5 min"),
        "flow_missing_end": (b + 300, "blood flow reads again"),
        "p_venous_artifact_start": (c, "drainage transducer fault: P1 reads -999 for 2 min"),
        "p_venous_artifact_end": (c + 120, "drainage pressure reads normally again"),
        "gap_2_start": (e, "the console stops sending: no rows for 45 s"),
        "gap_2_end": (e + 45, "rows resume"),
    }
    faults = ((b, b + 300, "blood_flow_lpm", math.nan), (c, c + 120, "p_venous_mmhg", -999.0))
    return _course(healthy(t), d, marks, gaps=((a, a + 90), (e, e + 45)), faults=faults)


def oxygenator_exchange(t: np.ndarray, d: float) -> Course:
    """The oxygenator clots past baseline +40 mmHg and is exchanged (oxygenator_change
    event), after which delta P settles at a new, lower baseline."""
    s, onset = healthy(t), _onset(d, 0.2)
    full, stop = 0.7 * d, 0.75 * d
    restart = stop + 90
    u = _ramp((t - onset) / (full - onset))
    new = NEW_OXY_R * (1 + OXY_AGEING_PER_S * (t - restart))
    oxy = np.where(t < restart, s.oxy_resistance + 24 * u**1.5, new)
    speed = s.speed_rpm * (1 - _ramp((t - stop) / 5) + _ramp((t - restart + 5) / 5))
    marks = {
        "onset": (onset, "fibrin starts to build in the oxygenator: delta P rises for hours"),
        "pump_stop": (stop, "pump stopped, circuit clamped to exchange the oxygenator (90 s)"),
        "oxygenator_change": (restart, "new oxygenator running: delta P at a new, lower level"),
    }
    s = replace(s, oxy_resistance=oxy, speed_rpm=speed)
    events = ((restart, "oxygenator_change"),)
    return _course(s, d, marks, "delta_p_rise_30 delta_p_rise_40", events=events)


def sweep_loss(t: np.ndarray, d: float) -> Course:
    """The oxygen cylinder runs empty: sweep gas falls to 0 L/min while blood flows on,
    for 20 minutes until a new cylinder is connected."""
    onset = _onset(d, 0.4, room_s=25 * 60)
    restored = onset + 20 * 60
    marks = {
        "sweep_lost": (onset, "the oxygen cylinder is empty: sweep 0 L/min, blood flow unchanged"),
        "sweep_restored": (restored, "a new cylinder: sweep back at its setting"),
    }
    faults = ((onset, restored, "sweep_gas_lpm", 0.0),)
    return _course(healthy(t), d, marks, faults=faults)


#: How long the weaning trial's sweep stays off: past the trial's 60-minute default.
TRIAL_OFF_S = 80 * 60


def weaning_trial(t: np.ndarray, d: float) -> Course:
    """A weaning trial: a specialist records sweep_off_trial and turns the sweep off for
    80 minutes, 20 minutes longer than the trial's length."""
    onset = _onset(d, 0.3, room_s=TRIAL_OFF_S + 10 * 60)
    marks = {
        "sweep_lost": (onset, "sweep off on purpose: sweep_off_trial recorded (low reminder)"),
        "trial_over": (onset + 3600, "the trial's 60 minutes are over, sweep still off (high)"),
        "sweep_restored": (onset + TRIAL_OFF_S, "sweep turned back on"),
    }
    faults = ((onset, onset + TRIAL_OFF_S, "sweep_gas_lpm", 0.0),)
    events = ((onset, "sweep_off_trial"),)
    return _course(healthy(t), d, marks, faults=faults, events=events)


#: Hemolysis markers of a healthy circuit, for scenarios that fix their lab draws.
_QUIET_LABS = {
    "plasma_free_hb_mg_dl": 6.0,
    "ldh_u_l": 290.0,
    "haptoglobin_mg_dl": 100.0,
    "bilirubin_mg_dl": 0.8,
}


def _gas_draws(d: float, every_s: float) -> tuple[float, ...]:
    return tuple(float(x) for x in np.arange(LAB_FIRST_S, d - 60, every_s))


def membrane_lung_failure(t: np.ndarray, d: float) -> Course:
    """The membrane lung fails to transfer oxygen: post-oxygenator PO2 results at FdO2
    1.0 fall from about 470 mmHg below 200 and then 150 mmHg, PCO2 rises; pressures stay
    normal."""
    draws = _gas_draws(d, 30 * 60)
    n = len(draws)
    g = np.arange(n) / max(n - 1, 1)
    labs = {name: (value,) * n for name, value in _QUIET_LABS.items()}
    labs["post_oxy_po2_mmhg"] = tuple(np.round(470 * (135 / 470) ** g))
    labs["post_oxy_pco2_mmhg"] = tuple(np.round(34 + 18 * g))
    po2 = np.asarray(labs["post_oxy_po2_mmhg"])
    marks = {}
    for limit, level in ((200, "low"), (150, "medium")):
        below = np.flatnonzero(po2 < limit)
        if below.size:
            text = f"post-oxygenator PO2 {po2[below[0]]:g} mmHg at FdO2 1.0 ({level})"
            marks[f"po2_below_{limit}"] = (draws[below[0]], text)
    faults = ((0.0, d, "fdo2", 1.0),)
    return _course(healthy(t), d, marks, lab_times=draws, labs=labs, faults=faults)


def high_recirculation(t: np.ndarray, d: float) -> Course:
    """The return cannula moves towards the drainage cannula: the pre-oxygenator (console)
    SvO2 rises from about 68 % to 80 % while the patient's central venous SO2 stays at
    65 %, so recirculation climbs from about 9 % to 43 %."""
    onset = _onset(d, 0.4, room_s=40 * 60)
    draws = _gas_draws(d, 30 * 60)
    n = len(draws)
    labs = {name: (value,) * n for name, value in _QUIET_LABS.items()}
    labs["post_oxy_so2_pct"] = (100.0,) * n
    labs["central_venous_so2_pct"] = (65.0,) * n
    marks = {"onset": (onset, "the cannulas draw closer: pre-oxygenator SvO2 80 % from here")}
    faults = ((onset, d, "svo2_pct", 80.0),)
    return _course(healthy(t), d, marks, lab_times=draws, labs=labs, faults=faults)


Builder = Callable[[np.ndarray, float], Course]
#: The scenarios in story order; each builder's docstring is its one-sentence description.
BUILDERS: tuple[Builder, ...] = (
    stable,
    gradual_oxygenator_thrombosis,
    acute_oxygenator_clot,
    pump_head_thrombosis,
    drainage_insufficiency,
    return_line_kink,
    sensor_dropout,
    oxygenator_exchange,
    sweep_loss,
    weaning_trial,
    membrane_lung_failure,
    high_recirculation,
)


def description(build: Builder) -> str:
    """A builder's docstring as one line."""
    return " ".join((build.__doc__ or "").split())


def min_duration_s(build: Builder) -> float:
    if build is stable:
        return 60.0
    if build is weaning_trial:
        return LEAD_S + TRIAL_OFF_S + 10 * 60
    return FAULT_MIN_DURATION_S


def _first_holding(condition: np.ndarray, hold: int) -> int | None:
    """Index where ``condition`` first starts a run of at least ``hold`` samples."""
    hold = max(hold, 1)
    if condition.size < hold:
        return None
    c = np.concatenate(([0], np.cumsum(condition, dtype="int64")))
    full = np.flatnonzero(c[hold:] - c[:-hold] == hold)
    return int(full[0]) if full.size else None


def watch_times(t: np.ndarray, course: Course) -> dict[str, float]:
    """When each watched condition starts (noise-free, 1 Hz grid ``t``), if it does."""
    op = operating_point(course.settings)
    early = t < BASELINE_S
    base = np.median(op.delta_p_mmhg[early] / op.flow_lpm[early])
    speed = course.settings.speed_rpm
    flow = pd.Series(op.flow_lpm)
    prior = flow.rolling(300, min_periods=60).median().shift(1).to_numpy()
    speed_prior = pd.Series(speed).shift(300).bfill().to_numpy()
    conditions = {
        "rise": lambda x: op.delta_p_mmhg - base * op.flow_lpm >= x,
        "venous": lambda x: op.p_venous_mmhg < x,
        "post": lambda x: op.p_post_oxy_mmhg > x,
        "drop": lambda x: (
            (op.flow_lpm < (1 - x) * prior) & (np.abs(speed / speed_prior - 1) < 0.05)
        ),
    }
    out = {}
    for w in course.watches:
        i = _first_holding(conditions[w.kind](w.threshold), int(w.hold_s))
        if i is not None:
            out[w.key] = float(t[i])
    return out


#: key, lab column, limit, True when the alert is for a value above the limit, story text.
_LAB_CROSSINGS = (
    ("pfhb_50", "plasma_free_hb_mg_dl", 50, True, "PfHb result above 50 mg/dL (medium)"),
    ("pfhb_100", "plasma_free_hb_mg_dl", 100, True, "PfHb result above 100 mg/dL (high)"),
    ("ldh_2_5x_first", "ldh_u_l", None, True, "LDH result above 2.5 x the first (low)"),
    ("ldh_1000", "ldh_u_l", 1000, True, "LDH result above 1000 U/L (low)"),
    ("haptoglobin_30", "haptoglobin_mg_dl", 30, False, "haptoglobin result below 30 mg/dL (low)"),
    ("bilirubin_2", "bilirubin_mg_dl", 2, True, "bilirubin result above 2 mg/dL (low)"),
)


def lab_crossings(course: Course) -> dict[str, tuple[float, str]]:
    """The first lab draw at which each fixed lab series crosses its threshold."""
    out = {}
    for key, column, limit, above, text in _LAB_CROSSINGS if course.labs else ():
        values = np.asarray(course.labs[column])
        limit = 2.5 * values[0] if limit is None else limit
        hit = np.flatnonzero(values > limit if above else values < limit)
        if hit.size:
            out[key] = (course.lab_times[hit[0]], f"{text}: {values[hit[0]]:g}")
    return out
