"""Scenarios of gas exchange and foresight: sweep gas lost and a weaning trial, a failing
membrane lung, recirculation, drainage chatter and a steady resistance rise.

Noise-free and seed-free like every course (``_course_base``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._circuit import (
    OXY_R,
    healthy,
    operating_point,
)
from ._course_base import _QUIET_LABS, LEAD_S, Course, _course, _gas_draws, _onset, _ramp


def chatter_gate(t: np.ndarray, onset: float, end: float) -> np.ndarray:
    """Venous line chatter between ``onset`` and ``end``: 0 (open) to 1 (collapsed),
    irregular, faster than a 1 Hz export samples it."""
    wave = 0.5 + 0.3 * np.sin(2 * np.pi * 0.73 * t) + 0.2 * np.sin(2 * np.pi * 0.31 * t + 1.0)
    return np.where((t >= onset) & (t < end), wave, 0.0)


#: How long the drainage chatter scenario's chatter lasts.
CHATTER_S = 15 * 60


def drainage_chatter(t: np.ndarray, d: float) -> Course:
    """The drainage cannula sucks against the vessel wall for 15 minutes: drainage pressure
    swings between about -45 and -92 mmHg and flow by about 15 % at a steady pump speed,
    never held past -80 mmHg."""
    s, onset = healthy(t), _onset(d, 0.4, room_s=CHATTER_S + 10 * 60)
    u = chatter_gate(t, onset, onset + CHATTER_S)
    # the collapsing vein restricts drainage; the pump head cavitates a little with it
    s = replace(s, drain_resistance=s.drain_resistance + 16 * u, pump_efficiency=1 - 0.105 * u)
    marks = {
        "chatter": (onset, "the cannula sucks against the vessel wall: P1 and flow swing"),
        "chatter_end": (onset + CHATTER_S, "fluid given: the line is calm again"),
    }
    return _course(s, d, marks)


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


#: When the steady resistance rise reaches the +30 mmHg limit, as a fraction of the run.
RISE_CROSSING = 0.8


def steady_resistance_rise(t: np.ndarray, d: float) -> Course:
    """The oxygenator's resistance climbs steadily for days (about 3 mmHg/(L/min) a day
    over a three-day run), the pump speed is changed twice on the way, and delta P
    reaches baseline +30 mmHg at four fifths of the run: a failure that can be foreseen."""
    s, onset = healthy(t), LEAD_S
    first, second = 0.3 * d, 0.5 * d
    speed = s.speed_rpm + 200 * _ramp((t - first) / 10.0) - 400 * _ramp((t - second) / 10.0)
    # the fibrin's resistance at the crossing: with the ageing, +30 mmHg at the flow then
    at = np.array([RISE_CROSSING * d])
    ageing = float(healthy(at).oxy_resistance[0]) - OXY_R
    total = 0.0
    for _ in range(5):
        op = operating_point(
            replace(healthy(at), speed_rpm=speed[-1:], oxy_resistance=OXY_R + total + at * 0)
        )
        total = 30.0 / float(op.flow_lpm[0])
    added = total - ageing
    slope = added / (RISE_CROSSING * d - onset)
    oxy = s.oxy_resistance + slope * np.clip(t - onset, 0.0, None)
    marks = {
        "onset": (
            onset,
            f"fibrin builds steadily: resistance +{slope * 86400:.1f} mmHg/(L/min) a day",
        ),
        "speed_change_1": (first, "pump speed set 3200 -> 3400 rpm on purpose; flow follows"),
        "speed_change_2": (second, "pump speed set 3400 -> 3000 rpm on purpose; flow follows"),
    }
    events = ((first, "pump speed set to 3400 rpm"), (second, "pump speed set to 3000 rpm"))
    s = replace(s, oxy_resistance=oxy, speed_rpm=speed)
    # a quiet oxygenator otherwise: its resistance wanders 0.2 %, not the usual 2 %
    return _course(
        s, d, marks, "delta_p_rise_30 delta_p_rise_40", events=events, resistance_wander=0.002
    )
