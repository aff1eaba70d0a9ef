"""Each rule on small literal recordings: right level, right time (to the sample), and no
alert where a clinician would see none. Every case runs through both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules import analyze
from tests.test_rules_support import at, episodes_of, only, recording, step, with_event

HOUR = 3600.0


def rules_of(episodes) -> set[tuple[str, str]]:
    return {(e.rule, str(e.priority)) for e in episodes}


# -- pressures -----------------------------------------------------------------------------


def test_post_oxygenator_pressure_alerts_medium_then_high_after_five_seconds():
    post = lambda t: np.select([t >= 1200, t >= 900, t >= 600], [175, 360, 320], 175)  # noqa: E731
    episodes = episodes_of(recording(1500, p_post_oxy_mmhg=post))
    medium = only(episodes, "post_oxy_pressure_high", "medium")
    high = only(episodes, "post_oxy_pressure_high", "high")
    assert (medium.start, high.start) == (at(605), at(905))
    assert (medium.end, high.end) == (at(1210), at(1210))  # 10 s off-delay
    assert (medium.peak, high.peak) == (360.0, 360.0)
    assert high.threshold == 350.0 and high.unit == "mmHg"
    assert "post-oxygenator pressure 360 mmHg" in high.message and "350 mmHg" in high.message
    assert rules_of(episodes) == {
        ("post_oxy_pressure_high", "medium"),
        ("post_oxy_pressure_high", "high"),
    }


def test_drainage_pressure_alerts_below_minus_80_and_minus_100():
    venous = lambda t: np.select([t >= 900, t >= 600], [-105, -85], -45)  # noqa: E731
    episodes = episodes_of(recording(1200, p_venous_mmhg=venous))
    assert only(episodes, "drainage_pressure_low", "medium").start == at(605)
    high = only(episodes, "drainage_pressure_low", "high")
    assert high.start == at(905) and high.end is None and high.peak == -105.0
    assert "drainage pressure -105 mmHg" in high.message and "-100 mmHg" in high.message


def test_a_transducer_flush_does_not_alert():
    # flushes read the flush-bag pressure for a few seconds (shorter than every on-delay)
    pre = lambda t: np.where((t >= 2400) & (t < 2404), 480.0, 200.0)  # noqa: E731
    venous = lambda t: np.where((t >= 2500) & (t < 2504), 80.0, -45.0)  # noqa: E731
    post = lambda t: np.where((t >= 2600) & (t < 2605), 380.0, 175.0)  # noqa: E731
    data = recording(3000, p_pre_oxy_mmhg=pre, p_venous_mmhg=venous, p_post_oxy_mmhg=post)
    assert episodes_of(data) == []


def test_artifacts_never_reach_a_rule_and_never_clear_an_alert():
    # 900 mmHg is outside the plausible range of P3 (-50 to 800): an artifact
    post = lambda t: np.select([t >= 700, t >= 600, t >= 300], [320, 900, 320], 175)  # noqa: E731
    episodes = episodes_of(recording(1000, p_post_oxy_mmhg=post))
    medium = only(episodes, "post_oxy_pressure_high", "medium")
    assert medium.start == at(305) and medium.end is None and medium.peak == 320.0
    assert rules_of(episodes) == {("post_oxy_pressure_high", "medium")}


def test_an_artifact_mask_column_is_honoured():
    data = recording(900, p_post_oxy_mmhg=step(300, 175, 320), p_pre_oxy_mmhg=step(300, 200, 345))
    data["artifact_mask"] = np.where(data["p_post_oxy_mmhg"] > 300, 1 << 4, 0)
    assert analyze(data).episodes == ()
    assert analyze(data).artifacts == 600


# -- flow ----------------------------------------------------------------------------------


def test_flow_below_one_litre_is_high_after_ten_seconds():
    episodes = episodes_of(recording(1200, blood_flow_lpm=step(600, 4.2, 0.8, until=900)))
    low = only(episodes, "flow_low", "high")
    assert (low.start, low.end, low.peak) == (at(610), at(915), 0.8)
    assert low.message == "blood flow 0.80 L/min is below the limit of 1.0 L/min"


def test_flow_below_the_prescribed_minimum_per_kg_is_medium_with_a_weight():
    data = recording(1200, blood_flow_lpm=step(600, 4.2, 3.2))
    assert not [e for e in episodes_of(data) if e.rule == "flow_low"]
    episodes = episodes_of(data, weight_kg=70.0)
    medium = only(episodes, "flow_low", "medium")
    assert medium.start == at(610) and medium.threshold == 3.5
    assert "46 mL/kg/min" in medium.message and "limit of 50 mL/kg/min" in medium.message


def test_flow_drop_at_unchanged_speed_alerts_after_ten_seconds():
    flow = lambda t: np.select([t >= 1500, t >= 1200], [2.5, 3.2], 4.2)  # noqa: E731
    episodes = episodes_of(recording(1800, blood_flow_lpm=flow))
    medium = only(episodes, "flow_drop", "medium")
    high = only(episodes, "flow_drop", "high")
    assert (medium.start, high.start) == (at(1210), at(1510))
    assert round(high.peak, 1) == 40.5
    assert "blood flow 2.50 L/min is 40 % below" in high.message
    assert "(4.20 L/min)" in high.message and "(limit -35 %)" in high.message


def test_a_deliberate_speed_change_is_not_a_flow_drop():
    speed = step(1200, 3200, 2700)
    flow = step(1200, 4.2, 3.2)  # -24 % with the speed turned down 16 %
    data = recording(2 * HOUR, pump_speed_rpm=speed, blood_flow_lpm=flow)
    assert episodes_of(data) == []


def test_flow_drop_needs_five_minutes_of_reference():
    data = recording(1800, blood_flow_lpm=step(120, 4.2, 3.2))
    assert episodes_of(data) == []


def test_a_flow_drop_that_persists_stays_active_until_flow_recovers():
    # 45 minutes at -33 %: longer than the 30-minute reference window, which would have
    # absorbed the fall into its own median; the reference is held while the alert is on
    flow = step(3600, 4.2, 2.8, until=3600 + 45 * 60)
    episodes = episodes_of(recording(2.5 * HOUR, blood_flow_lpm=flow))
    medium = only(episodes, "flow_drop", "medium")
    assert medium.start == at(3610)
    assert medium.end == at(3600 + 45 * 60 + 15)  # flow back, then the 15 s off-delay
    assert round(medium.peak, 1) == 33.3
    assert "blood flow 2.80 L/min is 33 % below" in medium.message
    assert "(4.20 L/min)" in medium.message and "(limit -20 %)" in medium.message
    assert [e.rule for e in episodes] == ["flow_drop"]


def test_a_fall_spread_over_many_minutes_is_caught_and_held_until_relief():
    # 4.2 -> 2.9 L/min over 20 minutes, an hour low, then relief
    flow = lambda t: np.where(  # noqa: E731
        t < 3600 + 1200 + 3600, np.interp(t, [3600, 3600 + 1200], [4.2, 2.9]), 4.2
    )
    episodes = episodes_of(recording(3 * HOUR, blood_flow_lpm=flow))
    medium = only(episodes, "flow_drop", "medium")
    assert at(3600 + 12 * 60) < medium.start < at(3600 + 14 * 60)  # past -20 % at ~12.9 min
    assert medium.end == at(3600 + 1200 + 3600 + 15)
    assert [e.rule for e in episodes] == ["flow_drop"]


def test_a_speed_change_during_a_flow_drop_ends_it_and_the_new_speed_sets_a_new_reference():
    """Decided behaviour: flow_drop compares flow with its reference *at unchanged speed*.
    When the team changes the pump speed beyond the tolerance (5 %) during a flow drop,
    the held reference no longer applies: the alert clears after its off-delay (15 s), and
    the rule judges again against the rolling medians once the speed median has settled
    at the new speed. The absolute alerts (flow_low, pressures) are unaffected."""
    speed = step(4200, 3200, 3600)  # +12.5 % ten minutes into a -31 % fall
    flow = lambda t: np.select([t >= 4200, t >= 3600], [3.4, 2.9], 4.2)  # noqa: E731
    episodes = episodes_of(recording(3 * HOUR, pump_speed_rpm=speed, blood_flow_lpm=flow))
    medium = only(episodes, "flow_drop", "medium")
    assert medium.start == at(3610)
    assert medium.end == at(4215)
    assert [e.rule for e in episodes] == ["flow_drop"]  # nothing new at 3600 rpm


def test_a_speed_adjustment_within_the_tolerance_does_not_end_a_flow_drop():
    speed = step(4200, 3200, 3300)  # +3 %
    flow = lambda t: np.select([t >= 6600, t >= 3600], [4.3, 2.9], 4.2)  # noqa: E731
    episodes = episodes_of(recording(3 * HOUR, pump_speed_rpm=speed, blood_flow_lpm=flow))
    medium = only(episodes, "flow_drop", "medium")
    assert (medium.start, medium.end) == (at(3610), at(6615))


def test_a_pending_dip_that_never_alerts_releases_the_reference():
    # a 5 s dip (pending, never active); later a deliberate speed-up to 4.8 L/min, and
    # then a real fall to 3.8 L/min: -21 % against the rolling median of 4.8 L/min, which
    # a reference left held since the dip (4.2 L/min) would have missed
    flow = lambda t: np.select(  # noqa: E731
        [t >= 8000, t >= 5000, (t >= 2000) & (t < 2005)], [3.8, 4.8, 3.0], 4.2
    )
    speed = step(5000, 3200, 3600)
    data = recording(3 * HOUR, pump_speed_rpm=speed, blood_flow_lpm=flow)
    episodes = episodes_of(data)
    medium = only(episodes, "flow_drop", "medium")
    assert medium.start == at(8010) and medium.end is None
    assert "(4.80 L/min)" in medium.message
    assert [e.rule for e in episodes] == ["flow_drop"]


# -- delta P ------------------------------------------------------------------------------


def test_delta_p_rise_against_the_flow_scaled_baseline():
    # rise +33 mmHg from 3000 s (medium), +45 mmHg from 3300 s (high)
    pre = lambda t: np.select([t >= 3300, t >= 3000], [245, 233], 200)  # noqa: E731
    analysis = analyze(recording(3600, p_pre_oxy_mmhg=pre))
    (baseline,) = analysis.baselines
    assert (baseline.established, baseline.delta_p_mmhg) == (at(1800), 25.0)
    assert round(baseline.resistance, 3) == round(25 / 4.2, 3)
    episodes = episodes_of(recording(3600, p_pre_oxy_mmhg=pre))
    assert only(episodes, "delta_p_rise", "medium").start == at(3015)
    high = only(episodes, "delta_p_rise", "high")
    assert high.start == at(3315) and high.peak == 45.0
    assert high.message == (
        "delta P 70 mmHg is 45 mmHg above its flow-scaled baseline of 25 mmHg "
        "(limit +40 mmHg); resistance 16.7 mmHg per L/min (baseline 6.0)"
    )


def test_no_delta_p_judgement_before_the_baseline_exists():
    pre = lambda t: np.where((t >= 300) & (t < 900), 260.0, 200.0)  # noqa: E731
    analysis = analyze(recording(2400, p_pre_oxy_mmhg=pre))
    assert analysis.episodes == ()
    assert analysis.baselines[0].delta_p_mmhg == 25.0  # the median shrugs the rise off


def test_a_flow_increase_on_a_healthy_oxygenator_is_not_a_delta_p_rise():
    # CentriMag-like: delta P 35 mmHg at 3 L/min; at 6.5 L/min it is 76 mmHg, no clot
    flow = step(2400, 3.0, 6.5)
    speed = step(2400, 2800, 4200)
    pre = lambda t: 175 + 35 / 3.0 * flow(t)  # noqa: E731
    data = recording(2 * HOUR, blood_flow_lpm=flow, pump_speed_rpm=speed, p_pre_oxy_mmhg=pre)
    assert round(float(data["p_pre_oxy_mmhg"].iloc[-1] - 175), 1) == 75.8
    assert episodes_of(data) == []


def test_an_oxygenator_change_ends_the_alert_and_restarts_the_baseline():
    pre = lambda t: np.select([t >= 5000, t >= 3000], [195, 245], 200)  # noqa: E731
    data = with_event(recording(3 * HOUR, p_pre_oxy_mmhg=pre), 5000, "oxygenator_change")
    episodes = episodes_of(data)
    assert {(e.priority, e.start, e.end) for e in episodes} == {
        ("medium", at(3015), at(5000)),
        ("high", at(3015), at(5000)),
    }
    _first, second = analyze(data).baselines
    assert (second.reason, second.reason_time, second.window_start) == (
        "oxygenator_change",
        at(5000),
        at(5000),
    )
    assert second.established == at(6800) and second.delta_p_mmhg == 20.0


def test_a_noisy_signal_near_a_limit_gives_one_episode():
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 3.0, 7200)
    post = lambda t: np.where((t >= 600) & (t < 6600), 302.0 + noise[: t.size], 175.0)  # noqa: E731
    episodes = episodes_of(recording(7200, p_post_oxy_mmhg=post))
    medium = only(episodes, "post_oxy_pressure_high", "medium")
    assert at(605) <= medium.start < at(660)
    assert at(6600) < medium.end <= at(6610)
    assert rules_of(episodes) == {("post_oxy_pressure_high", "medium")}


def test_a_slow_noisy_rise_gives_one_episode_per_level():
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 2.0, 6 * 3600)
    pre = lambda t: 200 + np.clip((t - 1800) / 7200, 0, 1) * 60 + noise[: t.size]  # noqa: E731
    episodes = episodes_of(recording(6 * HOUR, p_pre_oxy_mmhg=pre))
    medium = only(episodes, "delta_p_rise", "medium")
    high = only(episodes, "delta_p_rise", "high")
    # the noise-free rise crosses +30 at 5400 s and +40 at 6600 s
    assert abs(medium.start - at(5400)) < 300 and abs(high.start - at(6600)) < 300
    assert medium.end is None and high.end is None


# -- data ---------------------------------------------------------------------------------


def test_a_gap_in_a_recording_is_a_data_stale_episode():
    data = recording(2000)
    data = data[(data.index < 1000) | (data.index >= 1031)].reset_index(drop=True)
    episodes = episodes_of(data)
    stale = only(episodes, "data_stale", "high")
    assert (stale.start, stale.end, stale.peak) == (at(1009), at(1031), 32.0)
    short = recording(2000)
    short = short[(short.index < 1000) | (short.index >= 1009)].reset_index(drop=True)
    assert episodes_of(short) == []  # 10 s exactly is not a gap


def test_a_data_gap_never_clears_a_clinical_alert():
    post = step(300, 175, 320, until=1000)
    data = recording(1500, p_post_oxy_mmhg=post)
    data = data[(data.index < 700) | (data.index >= 1000)].reset_index(drop=True)
    episodes = episodes_of(data)
    medium = only(episodes, "post_oxy_pressure_high", "medium")
    # the gap (700-1000 s) neither ends the alert nor counts toward its off-delay
    assert (medium.start, medium.end) == (at(305), at(1010))
    assert only(episodes, "data_stale", "high").start == at(709)


def test_timers_are_frozen_across_a_gap():
    post = step(300, 175, 320)
    data = recording(1200, p_post_oxy_mmhg=post)
    data = data[(data.index < 303) | (data.index >= 600)].reset_index(drop=True)
    medium = only(episodes_of(data), "post_oxy_pressure_high", "medium")
    # 2 s of on-delay before the gap (300-302 s), none across it, 3 s after (600-603 s)
    assert medium.start == at(603)


def test_a_sample_rate_of_five_hertz_keeps_the_delays_in_seconds():
    data = recording(1200, rate_hz=5.0, p_post_oxy_mmhg=step(600, 175, 360))
    assert only(episodes_of(data), "post_oxy_pressure_high", "high").start == at(605)


# -- hemolysis ----------------------------------------------------------------------------


def _with_labs(data: pd.DataFrame, **columns: dict[float, float]) -> pd.DataFrame:
    out = data.copy()
    for name, results in columns.items():
        for when, value in results.items():
            out.loc[int(when), name] = value
    return out


def test_plasma_free_hemoglobin_alerts_medium_and_high_at_the_result():
    data = _with_labs(
        recording(4 * HOUR),
        plasma_free_hb_mg_dl={600: 8.0, 3600: 60.0, 7200: 120.0, 10800: 15.0},
    )
    episodes = episodes_of(data)
    medium = only(episodes, "hemolysis", "medium")
    high = only(episodes, "hemolysis", "high")
    low = only(episodes, "hemolysis", "low")
    assert (low.start, medium.start, high.start) == (at(3600), at(3600), at(7200))
    assert low.end == medium.end == high.end == at(10800)
    assert (medium.peak, high.peak) == (120.0, 120.0)
    assert high.message == "plasma free Hb 120 mg/dL (limit 100 mg/dL)"


def test_ldh_never_raises_more_than_low():
    data = _with_labs(recording(3 * HOUR), ldh_u_l={600: 300.0, 3600: 5000.0})
    episodes = episodes_of(data)
    assert rules_of(episodes) == {("hemolysis", "low")}
    assert "LDH 5000 U/L (limit 1000 U/L)" in episodes[0].message


def test_supporting_markers_and_a_doubling_plasma_free_hb_are_low():
    data = _with_labs(
        recording(3 * HOUR),
        ldh_u_l={600: 300.0, 3600: 800.0},
        haptoglobin_mg_dl={600: 90.0, 5400: 20.0},
        plasma_free_hb_mg_dl={600: 10.0, 7200: 22.0},
    )
    episodes = episodes_of(data)
    low = only(episodes, "hemolysis", "low")
    assert low.start == at(3600)  # LDH above 2.5 x the first result (300 U/L)
    assert "(limit 750 U/L, 2.5 x the first result of 300 U/L)" in low.message
    assert rules_of(episodes) == {("hemolysis", "low")}


def test_lab_results_can_come_as_a_separate_table():
    labs = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([at(600), at(3600)], unit="s", utc=True),
            "analyte": ["pfhb", "PfHb"],
            "value": [6.0, 130.0],
            "unit": ["mg/dL", "mg/dL"],
        }
    )
    episodes = episodes_of(recording(2 * HOUR), labs=labs)
    assert only(episodes, "hemolysis", "high").start == at(3600)


def test_a_falling_plasma_free_hb_still_above_the_floor_is_low_and_not_called_rising():
    from rules import default_config
    from rules.hemolysis import HemolysisMarkers

    markers = HemolysisMarkers(default_config())
    markers.add("plasma_free_hb_mg_dl", 10.0)
    markers.add("plasma_free_hb_mg_dl", 24.0)
    assert markers.level == 1
    assert markers.message() == (
        "plasma free Hb 24 mg/dL (limit 20 mg/dL while rising: at least 2 x the previous "
        "result of 10 mg/dL)"
    )
    markers.add("plasma_free_hb_mg_dl", 130.0)
    markers.add("plasma_free_hb_mg_dl", 30.0)
    assert markers.level == 1
    assert markers.message() == (
        "plasma free Hb 30 mg/dL (limit 20 mg/dL, still above it after an alerting result "
        "of 130 mg/dL)"
    )
