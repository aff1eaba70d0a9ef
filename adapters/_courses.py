"""The course each simulator scenario takes: settings over time and scheduled happenings.

A scenario is a builder: sample times in, a :class:`Course` through the circuit model
(``_circuit``) out. Everything here is noise-free and seed-free, so a scenario's story
(when its fault starts, when a threshold is crossed) is the same for every seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from ._circuit import (
    NEW_OXY_R,
    OXY_AGEING_PER_S,
    SPEED_RPM,
    healthy,
    operating_point,
)
from ._course_base import (
    BASELINE_S,
    FAULT_MIN_DURATION_S,
    LAB_EVERY_S,
    LAB_FIRST_S,
    LEAD_S,
    Course,
    _course,
    _onset,
    _ramp,
    _smooth,
)
from ._courses_gas import (
    TRIAL_OFF_S,
    drainage_chatter,
    high_recirculation,
    membrane_lung_failure,
    steady_resistance_rise,
    sweep_loss,
    weaning_trial,
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


Builder = Callable[[np.ndarray, float], Course]
#: The scenarios in story order; each builder's docstring is its one-sentence description.
BUILDERS: tuple[Builder, ...] = (
    stable,
    gradual_oxygenator_thrombosis,
    acute_oxygenator_clot,
    pump_head_thrombosis,
    drainage_insufficiency,
    drainage_chatter,
    return_line_kink,
    sensor_dropout,
    oxygenator_exchange,
    sweep_loss,
    weaning_trial,
    membrane_lung_failure,
    high_recirculation,
    steady_resistance_rise,
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
