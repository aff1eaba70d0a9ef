"""The derived values of CLINICAL.md (Blood gases), checked on worked numbers."""

from __future__ import annotations

import math

import pytest

from rules import derived


def test_o2_transfer_of_a_working_membrane_lung():
    # Hb 10 g/dL; pre 70 % / 40 mmHg, post 100 % / 400 mmHg; 4 L/min
    pre = 1.34 * 10 * 0.70 + 0.0031 * 40
    post = 1.34 * 10 * 1.00 + 0.0031 * 400
    expected = 4.0 * (post - pre) * 10
    assert derived.o2_transfer_ml_min(4.0, 10.0, 70, 40, 100, 400) == pytest.approx(expected)
    assert 200 < expected < 220  # about 210 mL/min
    assert derived.o2_transfer_ml_min(4.0, None, 70, 40, 100, 400) is None
    assert derived.o2_transfer_ml_min(math.nan, 10.0, 70, 40, 100, 400) is None


def test_co2_removal_from_sweep_and_exhaust_co2():
    # 4 L/min sweep with 30 mmHg exhaust CO2 at 760 mmHg: about 158 mL/min
    assert derived.co2_removal_ml_min(4.0, 30.0) == pytest.approx(4000 * 30 / 760)
    assert derived.co2_removal_ml_min(4.0, None) is None


def test_recirculation_and_effective_flow():
    assert round(derived.recirculation_pct(80, 100, 65)) == 43
    assert round(derived.recirculation_pct(72, 100, 65)) == 20
    assert derived.recirculation_pct(80, 60, 65) is None  # post not above venous
    r = derived.recirculation_pct(80, 100, 65)
    assert derived.effective_flow_lpm(4.2, r) == pytest.approx(4.2 * (1 - 15 / 35))
    assert derived.per_kg_ml_min(2.4, 80.0) == pytest.approx(30.0)
    assert derived.per_kg_ml_min(2.4, None) is None


def test_resistance_needs_a_meaningful_flow():
    assert derived.resistance(24.0, 4.0) == pytest.approx(6.0)
    assert derived.resistance(24.0, 0.3) is None
