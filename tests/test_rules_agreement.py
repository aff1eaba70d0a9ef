"""The two engines agree on messy random recordings, not only on tidy scenarios: steps,
drifts, noise, missing values, artifacts, gaps, irregular and repeated timestamps,
baseline events and labs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters.contract import CANONICAL_COLUMNS, NUMERIC_COLUMNS, to_datetime_utc
from rules import analyze, analyze_incremental, default_config
from tests.test_rules_support import HEALTHY, START


def messy(seed: int, seconds: int = 7200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = rng.choice(
        [1.0, 0.5, 2.0, 0.0, 13.0, 40.0], size=seconds, p=[0.85, 0.05, 0.05, 0.03, 0.015, 0.005]
    )
    t = np.cumsum(steps)
    n = t.size

    def walk(level: float, jumps: float, noise: float) -> np.ndarray:
        changes = np.where(rng.random(n) < 0.002, rng.normal(0, jumps, n), 0.0)
        return level + np.cumsum(changes) + rng.normal(0, noise, n)

    frame = pd.DataFrame({"timestamp": to_datetime_utc(START + t)})
    values = {
        "pump_speed_rpm": np.round(walk(HEALTHY["pump_speed_rpm"], 300, 2)),
        "blood_flow_lpm": np.round(np.clip(walk(4.2, 1.2, 0.05), 0, 9), 2),
        "p_venous_mmhg": np.round(walk(-45, 30, 3), 1),
        "p_post_oxy_mmhg": np.round(walk(175, 80, 3), 1),
    }
    values["p_pre_oxy_mmhg"] = np.round(values["p_post_oxy_mmhg"] + walk(25, 25, 2), 1)
    for name in NUMERIC_COLUMNS:
        column = values.get(name, np.full(n, np.nan))
        holes = rng.random(n) < 0.01
        column = np.where(holes, np.nan, column)
        junk = rng.random(n) < 0.003
        frame[name] = np.where(junk, rng.choice([-999.0, 9999.0], n), column)
    for name, scale in (("plasma_free_hb_mg_dl", 60), ("ldh_u_l", 900), ("haptoglobin_mg_dl", 60)):
        rows = rng.choice(n, size=6, replace=False)
        frame.loc[rows, name] = np.round(rng.uniform(0, 2 * scale, 6), 1)
    events = np.full(n, "", dtype=object)
    for row in rng.choice(n, size=3, replace=False):
        events[row] = rng.choice(["oxygenator_change", "Baseline_Reset ", "circuit check"])
    frame["event"] = pd.Series(events, dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


@pytest.mark.parametrize("seed", range(8))
def test_engines_agree_on_a_messy_recording(seed):
    data = messy(seed)
    config = default_config()
    if seed % 2:
        config = config.override({"timing": {"hold_fraction": 1.0}, "flow_drop": {"window_min": 5}})
    batch = analyze(data, config, weight_kg=70.0 if seed % 3 == 0 else None)
    incremental = analyze_incremental(data, config, weight_kg=70.0 if seed % 3 == 0 else None)
    assert batch == incremental
    assert len(batch.episodes) > 0


def dips(seed: int, seconds: int = 4 * 3600) -> pd.DataFrame:
    """Flow that keeps falling and recovering: steps and ramps of every depth and length,
    partial recoveries into the hysteresis band, flapping near the limits, speed changes
    in the middle of a fall, missing values, artifacts and gaps. Exercises flow_drop's
    held reference (taken when a fall is first seen, released when the rule is quiet)."""
    rng = np.random.default_rng(1000 + seed)
    rate = rng.choice([0.2, 1.0, 2.0])
    steps = rng.choice([1.0, 0.5, 2.0, 30.0], size=int(seconds * rate), p=[0.93, 0.03, 0.03, 0.01])
    t = np.cumsum(steps / rate)
    n = t.size
    flow = np.full(n, 4.2)
    speed = np.full(n, 3200.0)
    when = rng.uniform(600, 1800)
    while when < t[-1]:
        depth = rng.choice([0.1, 0.18, 0.22, 0.3, 0.4, 0.6])
        length = rng.choice([3.0, 8.0, 12.0, 40.0, 300.0, 1200.0, 2400.0])
        ramp = rng.choice([0.0, 0.0, 60.0, 900.0])
        inside = (t >= when) & (t < when + length)
        fall = np.clip((t - when) / ramp, 0, 1) if ramp else np.ones(n)
        flow = np.where(inside, flow * (1 - depth * fall), flow)
        if rng.random() < 0.3:  # partial recovery into the band for a while
            band = (t >= when + length) & (t < when + length + rng.uniform(5, 120))
            flow = np.where(band, flow * (1 - rng.uniform(0.12, 0.2)), flow)
        if rng.random() < 0.3:  # the team changes the speed, sometimes mid-fall
            at = when + rng.uniform(0, length)
            change = rng.choice([-0.1, -0.04, 0.03, 0.08, 0.15])
            speed = np.where(t >= at, speed * (1 + change), speed)
            flow = np.where(t >= at, flow * (1 + change * 1.5), flow)
        when += length + rng.uniform(60, 2400)
    flow = flow + rng.normal(0, rng.choice([0.0, 0.03, 0.15]), n)
    frame = pd.DataFrame({"timestamp": to_datetime_utc(START + t)})
    columns = {
        "pump_speed_rpm": np.round(speed + rng.normal(0, 2, n)),
        "blood_flow_lpm": np.round(np.clip(flow, 0, 9), 2),
        "p_venous_mmhg": np.full(n, -45.0),
        "p_pre_oxy_mmhg": np.full(n, 200.0),
        "p_post_oxy_mmhg": np.full(n, 175.0),
    }
    for name in NUMERIC_COLUMNS:
        column = columns.get(name, np.full(n, np.nan))
        if name in ("pump_speed_rpm", "blood_flow_lpm"):
            column = np.where(rng.random(n) < 0.005, np.nan, column)
            column = np.where(rng.random(n) < 0.002, -999.0, column)
        frame[name] = column
    frame["event"] = pd.Series([""] * n, dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


@pytest.mark.parametrize("seed", range(10))
def test_engines_agree_while_flow_keeps_falling_and_recovering(seed):
    data = dips(seed)
    config = default_config()
    if seed % 3 == 1:
        config = config.override(
            {"timing": {"hold_fraction": 1.0}, "flow_drop": {"window_min": 5, "off_delay_s": 4}}
        )
    elif seed % 3 == 2:
        config = config.override({"timing": {"hold_fraction": 0.5}, "flow_drop": {"on_delay_s": 3}})
    batch = analyze(data, config)
    assert analyze_incremental(data, config) == batch
    assert any(e.rule == "flow_drop" for e in batch.episodes)


@pytest.mark.parametrize("seed", range(3))
def test_engines_agree_on_clean_flow_that_stops_with_zeros_of_either_sign(seed):
    """No value missing or implausible (the batch engine's shortcuts for every row valid
    and one stretch of usable rows), and a pump stop written as 0 and as -0."""
    data = dips(seed)
    flow = data["blood_flow_lpm"].to_numpy().copy()
    speed = data["pump_speed_rpm"].to_numpy().copy()
    flow[~(flow >= 0)], speed[~(speed >= 0)] = 4.2, 3200.0  # the holes and junk filled
    stop = slice(flow.size // 2, flow.size // 2 + 240)
    flow[stop] = np.where(np.arange(240) % 2, 0.0, -0.0)
    data["blood_flow_lpm"], data["pump_speed_rpm"] = flow, speed
    assert np.signbit(flow[stop]).any()
    batch = analyze(data)
    assert analyze_incremental(data) == batch
    assert any(e.rule == "flow_drop" for e in batch.episodes)


@pytest.mark.parametrize("seed", range(2))
def test_the_batch_engine_judged_in_parts_of_a_few_hundred_rows_agrees(seed, monkeypatch):
    """The batch rules judge their windows (debounce, flow_drop's window medians) a part
    of ``timing.PART_ROWS`` rows at a time; with parts far shorter than the recording's
    windows, so that runs and windows cross from part to part, the answer is the same."""
    from rules import timing

    data = dips(seed)
    flow = data["blood_flow_lpm"].to_numpy().copy()
    # no flow at a running pump for longer than half the 30 min window: the windows' median
    # flow is zero for a while, and the alert ends only once it is above zero again
    flow[flow.size // 3 : flow.size // 3 + 1500] = 0.0
    data["blood_flow_lpm"] = flow
    monkeypatch.setattr(timing, "PART_ROWS", 257)
    batch = analyze(data)
    assert analyze_incremental(data) == batch
    assert any(e.rule == "flow_drop" for e in batch.episodes)


def test_engines_agree_on_thousands_of_brief_dips(monkeypatch):
    """A 3 s dip every minute for 6 hours: hundreds of pending stretches that never alert,
    and enough of them that the batch engine takes its medians from pandas."""
    import rules.windows

    chosen = []
    loop_beats_pandas = rules.windows._loop_beats_pandas
    monkeypatch.setattr(
        rules.windows,
        "_loop_beats_pandas",
        lambda *args: chosen.append(loop_beats_pandas(*args)) or chosen[-1],
    )
    rng = np.random.default_rng(3)
    t = np.arange(6 * 3600.0)
    flow = np.where(t % 60 < 3, 3.1, 4.2 + rng.normal(0, 0.03, t.size)).round(2)
    frame = pd.DataFrame({"timestamp": to_datetime_utc(START + t)})
    for name in NUMERIC_COLUMNS:
        frame[name] = HEALTHY.get(name, np.nan)
    frame["blood_flow_lpm"] = flow
    frame["event"] = pd.Series([""] * t.size, dtype="str")
    frame = frame[list(CANONICAL_COLUMNS)]
    batch = analyze(frame)
    assert chosen == [False]
    assert analyze_incremental(frame) == batch
    assert batch.episodes == ()  # 3 s is shorter than the 10 s on-delay
