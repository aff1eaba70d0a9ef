"""drainage_chatter: drainage pressure and flow swinging together at a steady speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters.simulator import get_scenario, simulate
from rules import analyze, analyze_incremental, default_config

START = 1_767_254_400.0


def episodes(data, rule="drainage_chatter"):
    batch, incremental = analyze(data), analyze_incremental(data)
    assert batch.episodes == incremental.episodes
    return [e for e in batch.episodes if e.rule == rule], batch


def test_chatter_sampled_at_10_hz_and_exported_at_1_hz_is_medium_within_window_and_delay():
    d = 2 * 3600.0
    marks = get_scenario("drainage_chatter").milestones(d)
    ten = simulate("drainage_chatter", d, seed=5, rate_hz=10)
    one = ten.iloc[::10].reset_index(drop=True)  # the console exports every tenth sample
    c = default_config().drainage_chatter
    for data in (one, ten):
        (episode,), analysis = episodes(data)
        start, end = episode.start - analysis.start, episode.end - analysis.start
        assert episode.priority.value == "medium"
        assert marks["chatter"] < start <= marks["chatter"] + c.window_s + c.on_delay_s + 1
        assert marks["chatter_end"] < end <= marks["chatter_end"] + c.window_s + c.off_delay_s + 1
        assert "limit 25 mmHg" in episode.message and "limit 10 %" in episode.message
        # the pressure is never held past -80 mmHg: only the chatter rule sees it
        assert {e.rule for e in analysis.episodes} == {"drainage_chatter"}


def frames(p1, flow, speed, rate_hz=1.0) -> pd.DataFrame:
    n = len(p1)
    times = START + np.arange(n) / rate_hz
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(times, unit="s", utc=True),
            "pump_speed_rpm": speed,
            "blood_flow_lpm": flow,
            "p_venous_mmhg": p1,
            "p_pre_oxy_mmhg": np.full(n, 200.0),
            "p_post_oxy_mmhg": np.full(n, 175.0),
        }
    )


def swing(n: int, amplitude: float, period: float = 3.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * np.arange(n) / period)


N = 600


def test_pressure_and_flow_swinging_together_at_steady_speed_alert():
    p1 = -70 + swing(N, 20)
    flow = 4.0 + swing(N, 0.3)  # spans 15 % of its median
    (episode,), _ = episodes(frames(p1, flow, np.full(N, 3200.0)))
    assert episode.start - START <= 21


@pytest.mark.parametrize(
    ("what", "p1", "flow", "speed"),
    [
        ("sensor noise", -45 + swing(N, 2), 4.2 + swing(N, 0.05), np.full(N, 3200.0)),
        ("pressure alone (a flush)", -70 + swing(N, 20), 4.2 + swing(N, 0.05), np.full(N, 3200.0)),
        ("flow alone", -45 + swing(N, 2), 4.0 + swing(N, 0.3), np.full(N, 3200.0)),
        (
            "speed swinging with them",
            -70 + swing(N, 20),
            4.0 + swing(N, 0.3),
            3200 + swing(N, 80),
        ),
    ],
)
def test_what_is_not_chatter_raises_none(what, p1, flow, speed):
    found, _ = episodes(frames(p1, flow, speed))
    assert found == [], what


def test_a_healthy_day_with_flushes_and_speed_changes_raises_no_chatter():
    found, analysis = episodes(simulate("stable", 8 * 3600.0, seed=6))
    assert found == []
    assert analysis.samples == 8 * 3600
