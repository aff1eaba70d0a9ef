"""The clinical facts the page, the report and the central station ask rules/ for:
rule titles and channels, the delta P reference lines and the lab limits in force, the
baseline resistance in force over time, and the order of alerts."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.contract import Frame
from adapters.simulator import SCENARIOS, simulate
from rules import (
    RULE_IDS,
    RULE_TITLES,
    RULES,
    AlertState,
    AlertStatus,
    IncrementalEngine,
    Priority,
    alert_sort_key,
    analyze,
    default_config,
    delta_p_reference_lines,
    frames_from,
    lab_limits,
    resistance_in_force,
    rule_title,
)
from tests.test_rules_support import HEALTHY, at, recording, with_event


def test_every_rule_has_a_title_and_the_channels_it_is_about():
    assert RULE_TITLES == {
        "delta_p_rise": "Oxygenator delta P rise",
        "flow_drop": "Blood flow drop",
        "flow_low": "Blood flow low",
        "drainage_pressure_low": "Drainage pressure low",
        "post_oxy_pressure_high": "Post-oxygenator pressure high",
        "hemolysis": "Hemolysis",
        "sweep_gas_lost": "Sweep gas lost",
        "membrane_lung_po2": "Membrane lung PO2 low",
        "recirculation": "Recirculation high",
        "drainage_chatter": "Drainage chatter",
        "resistance_trend": "Oxygenator resistance rising",
        "data_stale": "No data from device",
    }
    assert tuple(r.rule for r in RULES) == RULE_IDS
    assert {r.rule: r.channels for r in RULES} == {
        "delta_p_rise": ("delta_p_mmhg",),
        "flow_drop": ("blood_flow_lpm",),
        "flow_low": ("blood_flow_lpm",),
        "drainage_pressure_low": ("p_venous_mmhg",),
        "post_oxy_pressure_high": ("p_post_oxy_mmhg",),
        "hemolysis": ("plasma_free_hb_mg_dl",),
        "sweep_gas_lost": ("sweep_gas_lpm",),
        "membrane_lung_po2": ("post_oxy_po2_mmhg",),
        "recirculation": ("post_oxy_so2_pct", "central_venous_so2_pct"),
        "drainage_chatter": ("p_venous_mmhg", "blood_flow_lpm"),
        "resistance_trend": ("delta_p_mmhg",),
        "data_stale": (),
    }
    assert rule_title("flow_low") == "Blood flow low"
    assert rule_title("recording_stopped") == "recording_stopped"  # not a rule of rules/


def test_the_delta_p_reference_lines_follow_the_settings_in_force():
    config = default_config().override({"delta_p_rise": {"medium_mmhg": 25, "high_mmhg": 35}})
    lines = delta_p_reference_lines(config)
    assert [(r.key, r.label, r.offset_mmhg, r.priority) for r in lines] == [
        ("delta_p_baseline", "Delta P baseline (flow-scaled)", 0.0, None),
        ("delta_p_medium", "Baseline +25 mmHg", 25.0, Priority.MEDIUM),
        ("delta_p_high", "Baseline +35 mmHg", 35.0, Priority.HIGH),
    ]
    shipped = delta_p_reference_lines(default_config())
    assert [r.label for r in shipped[1:]] == ["Baseline +30 mmHg", "Baseline +40 mmHg"]


def test_the_lab_limit_lines_follow_the_settings_in_force():
    assert [(x.analyte, x.value, x.text) for x in lab_limits(default_config())] == [
        ("plasma_free_hb_mg_dl", 50.0, "PfHb 50 mg/dL"),
        ("plasma_free_hb_mg_dl", 100.0, "PfHb 100 mg/dL"),
        ("ldh_u_l", 1000.0, "LDH 1000 U/L"),
        ("haptoglobin_mg_dl", 30.0, "haptoglobin 30 mg/dL"),
        ("bilirubin_mg_dl", 2.0, "bilirubin 2 mg/dL"),
    ]
    site = default_config().override(
        {"hemolysis": {"pfhb_medium_mg_dl": 40, "ldh_limit_u_l": 800, "bilirubin_high_mg_dl": 1.5}}
    )
    texts = [x.text for x in lab_limits(site)]
    assert texts == [
        "PfHb 40 mg/dL",
        "PfHb 100 mg/dL",
        "LDH 800 U/L",
        "haptoglobin 30 mg/dL",
        "bilirubin 1.5 mg/dL",
    ]


def _old_resistance_at(baselines, reset_times):
    """The step function the page and the report used to build for themselves
    (monitor figures.baseline_resistance_at), kept here as the reference."""
    resets = np.sort(np.asarray([t for t in reset_times if t is not None], dtype="float64"))
    spans = []
    for base in baselines:
        if base.resistance is None or base.established is None:
            continue
        later = resets[resets > base.established]
        spans.append((base.established, later[0] if later.size else np.inf, base.resistance))

    def at_times(seconds):
        out = np.full(len(seconds), np.nan)
        for start, end, resistance in spans:
            out[(seconds >= start) & (seconds < end)] = resistance
        return out

    return at_times


def test_the_baseline_in_force_steps_at_establishment_and_ends_at_the_next_event():
    pre = lambda t: np.where(t >= 5000, 195.0, 200.0)  # noqa: E731
    data = with_event(recording(3 * 3600, p_pre_oxy_mmhg=pre), 5000, "oxygenator_change")
    analysis = analyze(data)
    first, second = analysis.baselines
    in_force = resistance_in_force(analysis.baselines)
    times = np.array([at(0), at(1799), at(1800), at(4999), at(5000), at(6799), at(6800), at(9e4)])
    got = in_force(times)
    assert np.isnan(got[[0, 1, 4, 5]]).all()  # none yet; the new one is being collected
    assert got[[2, 3]] == pytest.approx([first.resistance] * 2)
    assert got[[6, 7]] == pytest.approx([second.resistance] * 2)
    assert second.resistance == pytest.approx(20 / 4.2)


def test_a_baseline_still_being_collected_is_listed_and_ends_the_one_before():
    # the old live step function only knew the established baselines and the current one
    engine = IncrementalEngine()
    for second in range(0, 1900):
        engine.process(Frame.build(at(second), HEALTHY))
    engine.process(Frame.build(at(1900), HEALTHY, event="circuit_change"))
    engine.process(Frame.build(at(1901), HEALTHY, event="oxygenator_change"))
    for second in range(1902, 2000):
        engine.process(Frame.build(at(second), HEALTHY))
    listed = engine.baselines()
    assert [(b.reason, b.state) for b in listed] == [
        ("start", "established"),
        ("circuit_change", "collecting"),
        ("oxygenator_change", "collecting"),
    ]
    in_force = resistance_in_force(listed)(np.array([at(1850), at(1900), at(1950)]))
    assert in_force[0] == pytest.approx(25 / 4.2) and np.isnan(in_force[1:]).all()


def test_both_engines_give_the_same_baseline_in_force_on_an_oxygenator_exchange():
    name = "oxygenator_exchange"
    data = simulate(name, 4 * 3600.0, seed=0)
    batch = analyze(data)
    engine = IncrementalEngine()
    for frame in frames_from(data):
        engine.process(frame)
    assert tuple(engine.baselines()) == batch.baselines
    assert [b.reason for b in batch.baselines] == ["start", "oxygenator_change"]
    seconds = batch.start + np.arange(0.0, 4 * 3600.0, 7.0)
    live = resistance_in_force(engine.baselines())(seconds)
    whole = resistance_in_force(batch.baselines)(seconds)
    np.testing.assert_array_equal(live, whole)
    # and the same answer as the report's old rebuild from the recording's events
    change = batch.start + SCENARIOS[name].milestones(4 * 3600.0)["oxygenator_change"]
    np.testing.assert_array_equal(whole, _old_resistance_at(batch.baselines, [change])(seconds))
    assert np.isfinite(whole).any() and np.isnan(whole).any()


def test_alerts_sort_by_priority_then_cleared_last_then_since():
    def shown(rule, priority, state, since):
        return AlertState(rule, priority, state, False, since, None, None, "")

    alerts = [
        shown("a", Priority.MEDIUM, "active", 5.0),
        shown("b", Priority.HIGH, "cleared", 1.0),
        shown("c", Priority.HIGH, "active", 9.0),
        shown("d", Priority.HIGH, "acknowledged", 3.0),
        shown("e", Priority.LOW, "active", 0.0),
    ]
    assert [a.rule for a in sorted(alerts, key=alert_sort_key)] == ["d", "c", "b", "a", "e"]
    assert alerts[1].state is AlertStatus.CLEARED and alerts[1].state == "cleared"
