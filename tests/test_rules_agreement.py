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
