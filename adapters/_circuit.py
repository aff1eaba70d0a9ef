"""The circuit model behind the simulator: pump, cannulae, oxygenator and return line.

A centrifugal pump works against the circuit's pressure losses: the drainage cannula,
the oxygenator and the return line. The blood flow is the operating point where the
pump's head equals those losses; it is solved in closed form (a quadratic in flow) over
whole numpy arrays at once. Everything here is noise-free and seed-free; the course
each scenario takes through it is in ``_courses``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Pump head (mmHg) = efficiency * SHUTOFF * w^2 - SLIP * w * Q - LOSS * Q^2, w = rpm / 1000.
# Calibrated so 3000 / 3200 / 3400 rpm give about 3.9 / 4.2 / 4.5 L/min in a healthy
# adult VV circuit; the shut-off head at 3200 rpm is about 420 mmHg, so an obstructed
# return line can push the post-oxygenator pressure past 350 mmHg.
PUMP_SHUTOFF = 41.0
PUMP_SLIP = 2.0
PUMP_LOSS = 8.4
# Pressure losses: linear (mmHg per L/min) and turbulent (mmHg per (L/min)^2) parts.
DRAIN_R, DRAIN_K = 5.0, 1.8
RETURN_R, RETURN_K = 15.0, 5.9
#: Hollow-fibre oxygenator: delta P near-linear in flow, about 25 mmHg at 4.2 L/min.
OXY_R = 6.0
#: A new oxygenator after an exchange runs a little below the old one's baseline.
NEW_OXY_R = 4.8
#: Slow ageing of a healthy oxygenator: resistance +5 % per day.
OXY_AGEING_PER_S = 0.05 / 86400
CVP_MMHG = 8.0
SPEED_RPM = 3200.0


@dataclass(frozen=True, slots=True)
class Settings:
    """The circuit's state over time (one array entry per sample), before it is solved."""

    speed_rpm: np.ndarray
    cvp_mmhg: np.ndarray
    filling_deficit_mmhg: np.ndarray
    drain_resistance: np.ndarray
    oxy_resistance: np.ndarray
    kink_resistance: np.ndarray
    pump_efficiency: np.ndarray


@dataclass(frozen=True, slots=True)
class Operating:
    """The solved operating point: flow and the three circuit pressures."""

    flow_lpm: np.ndarray
    p_venous_mmhg: np.ndarray
    p_pre_oxy_mmhg: np.ndarray
    p_post_oxy_mmhg: np.ndarray

    @property
    def delta_p_mmhg(self) -> np.ndarray:
        return self.p_pre_oxy_mmhg - self.p_post_oxy_mmhg


def healthy(t: np.ndarray) -> Settings:
    """A well-functioning circuit at 3200 rpm, its oxygenator ageing slowly."""
    ones = np.ones_like(t, dtype="float64")
    return Settings(
        speed_rpm=SPEED_RPM * ones,
        cvp_mmhg=CVP_MMHG * ones,
        filling_deficit_mmhg=0.0 * ones,
        drain_resistance=DRAIN_R * ones,
        oxy_resistance=OXY_R * (1 + OXY_AGEING_PER_S * t),
        kink_resistance=0.0 * ones,
        pump_efficiency=ones,
    )


def operating_point(s: Settings) -> Operating:
    """Solve pump head = circuit losses for the flow, then the pressures along the circuit.

    P1 = filling - drainage loss; P3 = CVP + return loss; P2 = P3 + oxygenator loss; and
    P2 - P1 = pump head gives A Q^2 + B Q - C = 0 with the positive root taken.
    """
    w = s.speed_rpm / 1000.0
    p_fill = s.cvp_mmhg - s.filling_deficit_mmhg
    a = PUMP_LOSS + DRAIN_K + RETURN_K
    b = PUMP_SLIP * w + s.drain_resistance + s.oxy_resistance + RETURN_R + s.kink_resistance
    c = s.pump_efficiency * PUMP_SHUTOFF * w**2 - (s.cvp_mmhg - p_fill)
    flow = np.maximum((-b + np.sqrt(b * b + 4 * a * np.maximum(c, 0.0))) / (2 * a), 0.0)
    p_venous = p_fill - s.drain_resistance * flow - DRAIN_K * flow**2
    p_post = s.cvp_mmhg + (RETURN_R + s.kink_resistance) * flow + RETURN_K * flow**2
    p_pre = p_post + s.oxy_resistance * flow
    return Operating(flow, p_venous, p_pre, p_post)
