"""The derived values of CLINICAL.md (Blood gases), checked on worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rules import DERIVED_KINDS, default_config, derived, derived_report, derived_values


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


# -- what the page and the report show ----------------------------------------------------

NOW = 1_767_254_400.0
CONFIG = default_config()


def at(minutes_ago: float, value: float) -> tuple[float, float]:
    return (NOW - minutes_ago * 60.0, value)


def shown(latest, weight_kg=None) -> dict[str, derived.DerivedValue]:
    return {v.key: v for v in derived_values(latest, NOW, weight_kg, CONFIG)}


FULL = {
    "blood_flow_lpm": at(0, 4.2),
    "delta_p_mmhg": at(0, 25.0),
    "sweep_gas_lpm": at(0, 4.0),
    "exhaust_co2_mmhg": at(0, 30.0),
    "hb_g_dl": at(30, 10.0),
    "svo2_pct": at(0, 80.0),
    "pre_oxy_po2_mmhg": at(10, 40.0),
    "pre_oxy_so2_pct": at(10, 70.0),
    "post_oxy_po2_mmhg": at(10, 400.0),
    "post_oxy_so2_pct": at(10, 100.0),
    "central_venous_so2_pct": at(20, 65.0),
}


def test_every_derived_value_is_shown_when_its_inputs_are_at_hand():
    values = derived_values(FULL, NOW, 70.0, CONFIG)
    assert [v.key for v in values] == [k.key for k in DERIVED_KINDS]
    got = {v.key: v for v in values}
    pre = 1.34 * 10 * 0.70 + 0.0031 * 40
    post = 1.34 * 10 * 1.00 + 0.0031 * 400
    assert got["o2_transfer"].value == pytest.approx(4.2 * (post - pre) * 10)
    assert got["co2_removal"].value == pytest.approx(4000 * 30 / 760)
    # the console SvO2 (80 %) is newer than the pre-oxygenator sample (70 %)
    assert got["recirculation"].value == pytest.approx(15 / 35 * 100)
    assert got["recirculation"].text == "43"
    assert got["effective_flow"].value == pytest.approx((1 - 0.428571) * 4.2, rel=1e-5)
    assert got["effective_flow_per_kg"].value == pytest.approx(2.4 * 1000 / 70)
    assert got["resistance"].value == pytest.approx(25.0 / 4.2)
    assert [(v.unit, v.digits) for v in values] == [
        ("mL/min", 0), ("mL/min", 0), ("%", 0), ("L/min", 2), ("mL/kg/min", 0),
        ("mmHg/(L/min)", 1),
    ]  # fmt: skip


def test_each_value_names_its_inputs():
    got = shown(FULL, 70.0)
    assert got["recirculation"].inputs == (
        "from console SvO2 80 %, post-oxygenator SO2 100 % (10 min ago) and "
        "central venous SO2 65 % (20 min ago)"
    )
    assert got["resistance"].inputs == "from oxygenator delta P 25 mmHg and blood flow 4.20 L/min"
    assert got["co2_removal"].inputs == "from sweep gas flow 4.0 L/min and exhaust CO2 30 mmHg"
    assert "hemoglobin 10.0 g/dL (30 min ago)" in got["o2_transfer"].inputs
    assert got["effective_flow_per_kg"].inputs == "from effective flow 2.40 L/min and weight 70 kg"


def test_a_newer_pre_oxygenator_sample_wins_over_the_console_svo2():
    latest = {**FULL, "svo2_pct": at(15, 80.0), "pre_oxy_so2_pct": at(5, 72.0)}
    got = shown(latest)
    assert got["recirculation"].value == pytest.approx(7 / 35 * 100)
    assert got["recirculation"].inputs.startswith("from pre-oxygenator SO2 72 % (5 min ago)")


def test_samples_older_than_the_limit_are_not_combined():
    assert CONFIG.derived.max_age_min == 120
    stale_post = {**FULL, "post_oxy_so2_pct": at(121, 100.0), "post_oxy_po2_mmhg": at(121, 400)}
    got = shown(stale_post, 70.0)
    assert set(got) == {"co2_removal", "resistance"}
    just_in_time = {**FULL, "post_oxy_so2_pct": at(120, 100.0)}
    assert "recirculation" in shown(just_in_time)
    # a stale console SvO2 leaves the older, still fresh pre-oxygenator sample
    stale_svo2 = {**FULL, "svo2_pct": at(130, 80.0)}
    assert shown(stale_svo2)["recirculation"].value == pytest.approx(5 / 35 * 100)
    assert "o2_transfer" not in shown({**FULL, "hb_g_dl": at(180, 10.0)})


def test_continuous_inputs_are_not_aged():
    # flow and delta P come with every frame; how fresh the feed is, the page says
    got = shown({"blood_flow_lpm": at(300, 4.0), "delta_p_mmhg": at(300, 24.0)})
    assert got["resistance"].value == pytest.approx(6.0)


def test_values_whose_inputs_are_missing_are_left_out_not_zero():
    assert derived_values({}, NOW, 70.0, CONFIG) == []
    nothing = {name: None for name in FULL}
    assert derived_values(nothing, NOW, 70.0, CONFIG) == []
    got = shown({**FULL, "exhaust_co2_mmhg": None, "pre_oxy_po2_mmhg": None})
    assert set(got) == {"recirculation", "effective_flow", "resistance"}  # no weight either
    assert "resistance" not in shown({**FULL, "blood_flow_lpm": at(0, 0.3)})
    no_flow = shown({**FULL, "blood_flow_lpm": None}, 70.0)
    assert set(no_flow) == {"co2_removal", "recirculation"}


def test_nan_and_implausible_inputs_are_not_used():
    got = shown({**FULL, "delta_p_mmhg": at(0, math.nan), "svo2_pct": at(0, 180.0)})
    assert "resistance" not in got
    assert got["recirculation"].value == pytest.approx(5 / 35 * 100)  # the sample's 70 %


def test_the_array_form_of_resistance_agrees_with_the_formula():
    delta_p = np.array([24.0, 24.0, math.nan, 30.0, 12.0])
    flow = np.array([4.0, 0.3, 4.0, math.nan, 0.5])
    column = derived.resistance_column(delta_p, flow, 0.5)
    for dp, q, r in zip(delta_p, flow, column, strict=True):
        one = derived.resistance(dp, q, 0.5)
        assert (one is None and math.isnan(r)) or one == pytest.approx(r)


# -- a whole recording --------------------------------------------------------------------


def recording(rows: dict[int, dict[str, float]], n: int = 7200) -> pd.DataFrame:
    """``n`` seconds of steady flow and delta P, with ``rows`` set on top."""
    data = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(NOW + np.arange(n), unit="s", utc=True),
            "pump_speed_rpm": 3000.0,
            "blood_flow_lpm": 4.0,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": 176.0,
            "svo2_pct": 70.0,
        }
    )
    for row, values in rows.items():
        for name, value in values.items():
            data.loc[row, name] = value
    return data


def test_the_report_has_the_values_at_each_gas_draw():
    data = recording(
        {
            600: {"post_oxy_so2_pct": 100.0, "central_venous_so2_pct": 65.0},
            4200: {"post_oxy_so2_pct": 100.0},
        }
    )
    report = derived_report(data, CONFIG, weight_kg=80.0)
    assert [row.time for row in report.draws] == [NOW + 600, NOW + 4200]
    first, second = report.draws
    assert first.get("recirculation").value == pytest.approx(5 / 35 * 100)
    assert first.get("effective_flow").value == pytest.approx(4.0 * 30 / 35)
    assert first.get("effective_flow_per_kg").value == pytest.approx(4000 * 30 / 35 / 80)
    assert first.get("resistance").value == pytest.approx(6.0)
    assert first.get("o2_transfer") is None  # no pre-oxygenator PO2, no Hb
    assert "central venous SO2 65 % (60 min ago)" in second.get("recirculation").inputs
    assert [(row.time, row.values[0].value) for row in report.hourly_resistance] == [
        (NOW, pytest.approx(6.0)),
        (NOW + 3600, pytest.approx(6.0)),
    ]


def test_the_report_combines_the_lab_table_and_leaves_out_stale_partners():
    data = recording({600: {"central_venous_so2_pct": 65.0}}, n=4 * 3600)
    labs = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([NOW + 1200, NOW + 3 * 3600], unit="s", utc=True),
            "analyte": ["post_oxy_so2_pct", "post_oxy_so2_pct"],
            "value": [100.0, 100.0],
        }
    )
    report = derived_report(data, CONFIG, labs=labs)
    by_time = {row.time: row for row in report.draws}
    assert set(by_time) == {NOW + 600, NOW + 1200, NOW + 3 * 3600}
    assert by_time[NOW + 600].get("recirculation") is None  # no post-oxygenator yet
    assert by_time[NOW + 1200].get("recirculation").value == pytest.approx(5 / 35 * 100)
    # three hours on, the central venous sample is too old to combine
    assert by_time[NOW + 3 * 3600].get("recirculation") is None
    assert by_time[NOW + 3 * 3600].get("resistance").value == pytest.approx(6.0)


def test_a_recording_without_gases_has_no_draws():
    report = derived_report(recording({}, n=600), CONFIG)
    assert report.draws == ()
    assert len(report.hourly_resistance) == 1
    empty = derived_report(recording({}, n=0), CONFIG)
    assert empty == derived.DerivedReport((), ())
