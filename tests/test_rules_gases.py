"""The blood gas rules: membrane lung PO2 judged only at a high FdO2, recirculation from
three saturations; both engines agree, from a recording's columns and from a lab table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters import Frame, to_datetime_utc
from rules import IncrementalEngine, analyze, analyze_incremental, default_config
from rules.gases import recirculation_pct

T0 = 1.767e9


def frames(n: int, **columns) -> pd.DataFrame:
    data = pd.DataFrame(
        {
            "timestamp": to_datetime_utc(T0 + np.arange(n, dtype="float64")),
            "pump_speed_rpm": 3200.0,
            "blood_flow_lpm": 4.2,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": 175.0,
            "fdo2": 1.0,
        }
    )
    for name, value in columns.items():
        data[name] = value
    return data


def with_results(data: pd.DataFrame, rows: dict[int, dict[str, float]]) -> pd.DataFrame:
    data = data.copy()
    for row, results in rows.items():
        for name, value in results.items():
            if name not in data:
                data[name] = np.nan
            data.loc[row, name] = value
    return data


def found(analysis, rule):
    return [(str(e.priority), e.start - T0, None if e.end is None else e.end - T0, e.message)
            for e in analysis.episodes if e.rule == rule]  # fmt: skip


PO2 = {100: {"post_oxy_po2_mmhg": 180.0}, 400: {"post_oxy_po2_mmhg": 140.0},
       700: {"post_oxy_po2_mmhg": 420.0}}  # fmt: skip


def test_the_same_post_oxygenator_po2_results_alert_at_fdo2_1_0_and_not_at_0_6():
    at_one = with_results(frames(900, fdo2=1.0), PO2)
    at_low = with_results(frames(900, fdo2=0.6), PO2)
    episodes = found(analyze(at_one), "membrane_lung_po2")
    assert [(p, s, e) for p, s, e, _ in episodes] == [("low", 100, 700), ("medium", 400, 700)]
    assert "180 mmHg at FdO2 1.00 is below the limit of 200 mmHg" in episodes[0][3]
    assert "140 mmHg" in episodes[1][3] and "limit of 150 mmHg" in episodes[1][3]
    assert found(analyze(at_low), "membrane_lung_po2") == []
    for data in (at_one, at_low):
        assert analyze_incremental(data) == analyze(data)


def test_a_result_at_a_low_fdo2_leaves_the_level_as_it_was():
    data = with_results(frames(900, fdo2=1.0), {100: {"post_oxy_po2_mmhg": 140.0}})
    data.loc[300:, "fdo2"] = 0.5
    data = with_results(data, {400: {"post_oxy_po2_mmhg": 90.0}})
    episodes = found(analyze(data), "membrane_lung_po2")
    assert [(p, s, e) for p, s, e, _ in episodes] == [("low", 100, None), ("medium", 100, None)]
    assert analyze_incremental(data) == analyze(data)


def sats(pre: float, post: float, venous: float) -> pd.DataFrame:
    data = frames(600, svo2_pct=pre)
    return with_results(
        data, {200: {"post_oxy_so2_pct": post}, 210: {"central_venous_so2_pct": venous}}
    )


def test_recirculation_of_80_100_65_is_43_percent_and_a_low_alert():
    assert round(recirculation_pct(80, 100, 65)) == 43
    analysis = analyze(sats(80, 100, 65))
    ((priority, start, end, message),) = found(analysis, "recirculation")
    assert (priority, start, end) == ("low", 210, None)
    assert message.startswith("recirculation 43 % is above the limit of 35 %")
    assert "console SvO2" in message
    assert analyze_incremental(sats(80, 100, 65)) == analysis


def test_recirculation_of_72_100_65_is_20_percent_and_no_alert():
    assert round(recirculation_pct(72, 100, 65)) == 20
    assert found(analyze(sats(72, 100, 65)), "recirculation") == []
    assert analyze_incremental(sats(72, 100, 65)) == analyze(sats(72, 100, 65))


def test_saturations_older_than_the_setting_are_not_combined():
    data = frames(3 * 3600, svo2_pct=80.0)
    data = with_results(data, {10: {"post_oxy_so2_pct": 100.0}, 2 * 3600 + 100: {
        "central_venous_so2_pct": 65.0}})  # fmt: skip
    assert found(analyze(data), "recirculation") == []
    config = default_config().override({"recirculation": {"max_age_min": 180.0}})
    assert [p for p, *_ in found(analyze(data, config), "recirculation")] == ["low"]
    assert analyze_incremental(data, config) == analyze(data, config)


def test_results_from_a_lab_table_and_entered_by_hand_are_judged_the_same():
    data = frames(600, svo2_pct=80.0)
    labs = pd.DataFrame(
        {
            "timestamp": to_datetime_utc([T0 + 200.5, T0 + 300.5, T0 + 400.5]),
            "analyte": ["post oxygenator so2", "scvo2", "post_oxy_po2_mmhg"],
            "value": [100.0, 65.0, 18.0],
            "unit": ["%", "%", "kPa"],
        }
    )
    batch = analyze(data, labs=labs)
    assert [p for p, *_ in found(batch, "recirculation")] == ["low"]
    # 18 kPa is 135 mmHg: medium
    assert [p for p, *_ in found(batch, "membrane_lung_po2")] == ["low", "medium"]
    assert analyze_incremental(data, labs=labs) == batch
    engine = IncrementalEngine()
    for frame_row in range(300):
        engine.process(Frame.build(T0 + frame_row, {"fdo2": 1.0, "svo2_pct": 80.0}))
    engine.add_lab("post_oxy_so2_pct", 100, T0 + 300)
    moved = engine.add_lab("central venous so2", 65, T0 + 300)
    assert [t.rule for t in moved] == ["recirculation"]
    with pytest.raises(ValueError, match="outside the plausible range"):
        engine.add_lab("post_oxy_po2_mmhg", 5000, T0 + 300)


def test_a_failing_membrane_lung_scenario_is_low_then_medium_and_nothing_else():
    from adapters.simulator import simulate

    analysis = analyze(simulate("membrane_lung_failure", 4 * 3600.0, seed=2))
    assert [(e.rule, str(e.priority)) for e in analysis.episodes] == [
        ("membrane_lung_po2", "low"),
        ("membrane_lung_po2", "medium"),
    ]


def test_the_high_recirculation_scenario_alerts_at_the_first_draw_after_onset():
    from adapters.simulator import SCENARIOS, simulate

    data = simulate("high_recirculation", 4 * 3600.0, seed=2)
    analysis = analyze(data)
    ((rule, priority, start),) = [
        (e.rule, str(e.priority), e.start - analysis.start) for e in analysis.episodes
    ]
    onset = SCENARIOS["high_recirculation"].milestones(4 * 3600.0)["onset"]
    assert (rule, priority) == ("recirculation", "low") and onset < start <= onset + 1800
