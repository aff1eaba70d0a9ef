"""Derived values of gas exchange and flow, from CLINICAL.md (Blood gases), one formula
each, for the page, the report and the central station to ask for instead of restating.

- O2 content C = 1.34 x Hb x SO2 + 0.0031 x PO2 (mL/dL; Hb g/dL, SO2 as a fraction, PO2
  mmHg); membrane lung O2 transfer = blood flow (L/min) x (C post - C pre) x 10 (mL/min)
  (Epis and Belliato, J Thorac Dis 2018).
- CO2 removal = sweep (L/min) x the exhaust CO2 fraction (exhaust PCO2 / barometric
  pressure) x 1000 (mL/min).
- Recirculation R = (S pre - S venous) / (S post - S venous) (the Messai equation,
  PMC2943384); effective flow = (1 - R) x pump flow, and per kg.
- Resistance = delta P / flow (mmHg per L/min; Zakhary et al., Crit Care 2020).

Each returns None when an input is missing or the value is undefined.
"""

from __future__ import annotations

#: Barometric pressure at sea level (mmHg), for the exhaust CO2 fraction.
BAROMETRIC_MMHG = 760.0


def _have(*values) -> bool:
    return all(v is not None and v == v for v in values)


def o2_content_ml_dl(hb_g_dl, so2_pct, po2_mmhg) -> float | None:
    """Blood O2 content (mL/dL)."""
    if not _have(hb_g_dl, so2_pct, po2_mmhg):
        return None
    return 1.34 * hb_g_dl * so2_pct / 100.0 + 0.0031 * po2_mmhg


def o2_transfer_ml_min(flow_lpm, hb_g_dl, pre_so2, pre_po2, post_so2, post_po2) -> float | None:
    """Membrane lung O2 transfer (mL/min) from pre- and post-oxygenator gases."""
    pre = o2_content_ml_dl(hb_g_dl, pre_so2, pre_po2)
    post = o2_content_ml_dl(hb_g_dl, post_so2, post_po2)
    if pre is None or post is None or not _have(flow_lpm):
        return None
    return flow_lpm * (post - pre) * 10.0


def co2_removal_ml_min(sweep_lpm, exhaust_co2_mmhg, barometric_mmhg=BAROMETRIC_MMHG):
    """CO2 removed by the membrane lung (mL/min) from sweep and exhaust CO2."""
    if not _have(sweep_lpm, exhaust_co2_mmhg) or barometric_mmhg <= 0:
        return None
    return sweep_lpm * exhaust_co2_mmhg / barometric_mmhg * 1000.0


def recirculation_pct(pre_so2, post_so2, venous_so2) -> float | None:
    """Recirculation (%), or None when post is not above venous."""
    if not _have(pre_so2, post_so2, venous_so2) or post_so2 <= venous_so2:
        return None
    return (pre_so2 - venous_so2) / (post_so2 - venous_so2) * 100.0


def effective_flow_lpm(flow_lpm, recirculation) -> float | None:
    """The flow that reaches the patient (L/min): (1 - R) x pump flow."""
    if not _have(flow_lpm, recirculation):
        return None
    return (1.0 - recirculation / 100.0) * flow_lpm


def per_kg_ml_min(flow_lpm, weight_kg) -> float | None:
    """A flow in mL/kg/min."""
    if not _have(flow_lpm, weight_kg) or weight_kg <= 0:
        return None
    return flow_lpm * 1000.0 / weight_kg


def resistance(delta_p_mmhg, flow_lpm, min_flow_lpm: float = 0.5) -> float | None:
    """Oxygenator resistance (mmHg per L/min); None at flows too low to mean anything."""
    if not _have(delta_p_mmhg, flow_lpm) or flow_lpm <= min_flow_lpm:
        return None
    return delta_p_mmhg / flow_lpm
