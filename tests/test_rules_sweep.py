"""sweep_gas_lost: a lost sweep is high within its on-delay; during a recorded weaning
trial it is a low reminder for the trial's length, then high again; both engines agree,
in the batch, a frame at a time and in ``analyze``'s JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters import to_datetime_utc
from adapters.recording import write_dataframe
from adapters.simulator import SCENARIOS, simulate
from rules import analyze, analyze_incremental, default_config

ROOT = Path(__file__).resolve().parents[1]
DURATION = 4 * 3600.0
ON_DELAY = default_config().sweep_gas_lost.on_delay_s


def episodes(analysis, rule="sweep_gas_lost") -> dict[str, tuple[float, float | None]]:
    found = [e for e in analysis.episodes if e.rule == rule]
    assert len({e.priority for e in found}) == len(found), found
    start = analysis.start
    return {
        str(e.priority): (e.start - start, None if e.end is None else e.end - start) for e in found
    }


@pytest.fixture(scope="module")
def sweep_loss():
    return simulate("sweep_loss", DURATION, seed=3)


@pytest.fixture(scope="module")
def weaning():
    return simulate("weaning_trial", DURATION, seed=3)


def test_a_lost_sweep_is_high_within_its_on_delay_and_ends_when_it_flows_again(sweep_loss):
    marks = SCENARIOS["sweep_loss"].milestones(DURATION)
    analysis = analyze(sweep_loss)
    found = episodes(analysis)
    assert found["high"][0] == pytest.approx(marks["sweep_lost"] + ON_DELAY, abs=1.0)
    assert found["high"][1] == pytest.approx(marks["sweep_restored"] + 10, abs=1.5)
    assert {e.rule for e in analysis.episodes} == {"sweep_gas_lost"}
    (high,) = [e for e in analysis.episodes if str(e.priority) == "high"]
    assert "sweep gas 0.0 L/min" in high.message and "limit of 0.5 L/min" in high.message
    assert "blood flow is 4." in high.message and "trial" not in high.message
    assert analyze_incremental(sweep_loss) == analysis


def test_in_a_weaning_trial_it_is_low_for_the_trial_length_then_high(weaning):
    marks = SCENARIOS["weaning_trial"].milestones(DURATION)
    analysis = analyze(weaning)
    found = episodes(analysis)
    off, over = marks["sweep_lost"], marks["trial_over"]
    assert found["low"][0] == pytest.approx(off + ON_DELAY, abs=1.0)
    # high only once the trial's 60 minutes are over, never inside them
    assert found["high"][0] == pytest.approx(over + ON_DELAY, abs=1.0)
    assert over - off == default_config().sweep_gas_lost.trial_min * 60
    (low,) = [e for e in analysis.episodes if str(e.priority) == "low"]
    assert "sweep-off trial: reminder until" in low.message
    assert analyze_incremental(weaning) == analysis


def test_the_trial_length_is_a_setting(weaning):
    config = default_config().override({"sweep_gas_lost": {"trial_min": 30.0}})
    marks = SCENARIOS["weaning_trial"].milestones(DURATION)
    found = episodes(analyze(weaning, config))
    assert found["high"][0] == pytest.approx(marks["sweep_lost"] + 1800 + ON_DELAY, abs=1.0)
    assert analyze_incremental(weaning, config) == analyze(weaning, config)


def frames(sweep: list[float], flow: list[float], events: dict[int, str] | None = None):
    n = len(sweep)
    data = pd.DataFrame(
        {
            "timestamp": to_datetime_utc(1.767e9 + np.arange(n, dtype="float64")),
            "pump_speed_rpm": 3200.0,
            "blood_flow_lpm": flow,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": 175.0,
            "sweep_gas_lpm": sweep,
            "event": pd.Series([""] * n, dtype="str"),
        }
    )
    for row, text in (events or {}).items():
        data.loc[row, "event"] = text
    return data


def test_no_sweep_without_blood_flow_and_a_short_dip_are_no_alert():
    # pump stopped (flow 0.5 L/min) with the sweep off: the rule is about gas exchange
    # while blood flows, and the flow rules speak for a stopped pump
    stopped = frames([0.0] * 120, [0.5] * 120)
    assert episodes(analyze(stopped)) == {}
    # a 6 s dip of the sweep (shorter than the 10 s on-delay)
    dip = frames([4.0] * 60 + [0.2] * 6 + [4.0] * 60, [4.2] * 126)
    assert episodes(analyze(dip)) == {}
    assert analyze_incremental(dip) == analyze(dip)


def test_a_second_trial_event_restarts_the_reminder():
    n = 7200
    data = frames([0.0] * n, [4.0] * n, {0: "sweep_off_trial", 3000: "Sweep_Off_Trial"})
    found = episodes(analyze(data))
    assert found["low"][0] == ON_DELAY
    # not high at 3600 s (the first trial's end): the second trial runs to 6600 s
    assert found["high"][0] == 3000 + 3600 + ON_DELAY
    assert analyze_incremental(data) == analyze(data)


def test_analyze_json_lists_the_sweep_loss_as_a_high_alert(sweep_loss, tmp_path):
    path = tmp_path / "sweep.csv"
    write_dataframe(sweep_loss, path)
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", str(path), "--format", "json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    alerts = [a for a in json.loads(done.stdout)["alerts"] if a["rule"] == "sweep_gas_lost"]
    assert "high" in {a["priority"] for a in alerts}
