"""Foresight: the Theil-Sen fit, resistance_trend and the delta P forecast, on literal
numbers and on the simulator's steady resistance rise, healthy day and exchange."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters.simulator import get_scenario, simulate
from rules import analyze, analyze_incremental, trendfit
from rules.columns import Columns
from rules.trendfit import group_medians, list_median, theil_sen

HOUR, DAY = 3600.0, 86400.0
NEW_RULES = {
    "sweep_gas_lost",
    "membrane_lung_po2",
    "recirculation",
    "drainage_chatter",
    "resistance_trend",
}


def test_theil_sen_finds_the_slope_of_a_line_with_an_outlier_and_brackets_it():
    x = np.arange(24) * HOUR
    y = 6.0 + 2.0 * x / DAY + np.tile([0.01, -0.01, 0.0], 8)
    y[5] += 5.0  # one wild bin does not move a robust slope
    fit = theil_sen(x, y, 95.0)
    assert fit.slope == pytest.approx(2.0, abs=0.05)
    assert 0 < fit.low <= fit.slope <= fit.high
    assert fit.at(x[-1]) == pytest.approx(6.0 + 2.0 * 23 / 24, abs=0.02)


@pytest.mark.parametrize("longest", [7, 200])  # short groups sorted at once, long ones each
def test_group_medians_equal_the_incremental_engines_list_median(longest):
    rng = np.random.default_rng(longest)
    for _ in range(200):
        sizes = rng.integers(1, longest + 1, size=rng.integers(1, 20))
        values = rng.normal(size=sizes.sum() + 3).round(1)  # ties too
        firsts = 2 + np.r_[0, np.cumsum(sizes)[:-1]]
        got = group_medians(values, firsts, firsts + sizes)
        want = [list_median(values[a : a + n].tolist()) for a, n in zip(firsts, sizes, strict=True)]
        assert got.tolist() == want


@pytest.mark.parametrize("size", [300, 299])  # full bins of an even and an odd count
def test_group_medians_of_many_full_bins_equal_the_incremental_engines_list_median(size):
    rng = np.random.default_rng(size)
    sizes = np.where(rng.random(60) < 0.8, size, rng.integers(65, 400, size=60))
    values = rng.normal(size=sizes.sum()).round(2)  # ties too
    firsts = np.r_[0, np.cumsum(sizes)[:-1]]
    got = group_medians(values, firsts, firsts + sizes)
    want = [list_median(values[a : a + n].tolist()) for a, n in zip(firsts, sizes, strict=True)]
    assert got.tolist() == want


def test_the_slope_alone_is_the_slope_of_the_fit_with_bounds():
    rng = np.random.default_rng(4)
    x = np.arange(96) * 900.0
    y = 6.0 + 0.8 * x / DAY + rng.normal(0, 0.05, x.size)
    full, alone = theil_sen(x, y, 95.0), theil_sen(x, y, 95.0, bounds=False)
    assert alone.slope == full.slope and alone.low == alone.high == alone.slope
    assert (alone.center, alone.level) == (full.center, full.level)


def test_theil_sen_on_a_flat_noisy_series_is_not_positive_beyond_chance():
    rng = np.random.default_rng(1)
    x = np.arange(144) * 300.0
    fit = theil_sen(x, 6.0 + rng.normal(0, 0.05, x.size), 95.0)
    assert fit.low <= 0 <= fit.high


def crossing(analysis, data: pd.DataFrame) -> float:
    """The real +30 mmHg crossing: when the 30-minute median of the rise over the
    analysis's baseline first reaches 30 mmHg (the middle of that half hour)."""
    cols = Columns(data)
    r0 = analysis.baselines[0].resistance
    rise = cols.clean["delta_p_mmhg"] - r0 * cols.clean["blood_flow_lpm"]
    smooth = pd.Series(rise).rolling(1800, min_periods=900).median().to_numpy()
    return float(cols.seconds[np.flatnonzero(smooth >= 30.0)[0]]) - 900.0


@pytest.mark.parametrize("seed", [3, 11])
def test_a_steady_rise_is_foreseen_12_6_and_3_h_ahead_within_20_percent(seed):
    d = 3 * DAY
    data = simulate("steady_resistance_rise", d, seed=seed)
    analysis = analyze(data)
    real = crossing(analysis, data)
    marks = get_scenario("steady_resistance_rise").milestones(d)
    medium = {f.time: f for f in analysis.forecasts if f.priority.value == "medium"}
    for ahead in (12, 6, 3):
        hour = np.floor((real - ahead * HOUR) / HOUR) * HOUR
        forecast, left = medium[hour], real - hour
        assert abs(forecast.eta - real) <= 0.2 * left, (ahead, forecast.text())
        assert forecast.eta_low <= real <= forecast.eta_high, (ahead, forecast.text())
    # the second speed change lies inside the 12 h fit of the 12-hour-ahead forecast
    first = np.floor((real - 12 * HOUR) / HOUR) * HOUR - analysis.start
    assert first - 12 * HOUR < marks["speed_change_2"] < first
    # and the rise is a trend: resistance_trend said so, long before the limit
    (trend,) = [e for e in analysis.episodes if e.rule == "resistance_trend"]
    assert trend.start < real - 24 * HOUR and "limit 1.0 mmHg/(L/min)/day" in trend.message


def test_both_engines_make_the_same_forecast_every_hour():
    data = simulate("steady_resistance_rise", 14 * HOUR, seed=2)
    batch, incremental = analyze(data), analyze_incremental(data)
    assert batch.forecasts == incremental.forecasts
    assert batch.episodes == incremental.episodes
    hours = [f.time for f in batch.forecasts]
    assert hours == sorted(hours) and len(hours) == 2 * 14  # per whole hour and limit
    assert any(f.eta is not None for f in batch.forecasts)


def test_a_healthy_day_foresees_no_crossing_within_48_h_and_no_new_rule_alerts():
    data = simulate("stable", DAY, seed=4)
    analysis = analyze(data)
    assert {e.rule for e in analysis.episodes} & NEW_RULES == set()
    for f in analysis.forecasts:
        assert f.eta is None or f.eta - f.time > 48 * HOUR, f.text()


def test_an_exchange_restarts_the_forecast_from_a_new_baseline():
    d = 10 * HOUR
    data = simulate("oxygenator_exchange", d, seed=1)
    analysis = analyze(data)
    change = analysis.start + get_scenario("oxygenator_exchange").milestones(d)["oxygenator_change"]
    after = [f for f in analysis.forecasts if change < f.time < change + 3 * HOUR]
    assert after and all(f.eta is None for f in after)
    assert {f.reason for f in after} <= {
        "waiting for the baseline",
        "too little data since the baseline (needs 3 h)",
    }
    # before the exchange the clot was foreseen or already past the limit
    before = [f for f in analysis.forecasts if f.time < change and f.priority.value == "high"]
    assert any(f.eta is not None or f.reason == "reached" for f in before)


def test_a_forecast_reads_as_the_page_shows_it():
    data = simulate("steady_resistance_rise", 14 * HOUR, seed=2)
    shown = next(f for f in analyze(data).forecasts if f.eta is not None)
    text = shown.text()
    assert text.startswith(f"+{shown.limit_mmhg:.0f} mmHg in about ")
    assert text.endswith(" h)") and "-" in text.split("(")[1]
    projected = shown.projection(np.array([shown.time, shown.eta]))
    rise_at_eta = projected[1] - shown.baseline_resistance * shown.flow_lpm
    assert rise_at_eta == pytest.approx(shown.limit_mmhg, abs=1e-6)


@pytest.mark.parametrize("width", [None, 0.02])  # the bracket as set; one that mostly misses
@pytest.mark.parametrize("n", [63, 64, 65, 96, 144, 150])  # pair counts below and above
def test_the_slope_from_a_bracket_is_the_median_of_every_pairwise_slope(n, width, monkeypatch):
    """Below ``_BRACKET_FROM`` pairs one partition, above it the bracket, and where the
    bracket misses the partition again: always the median of every pairwise slope."""
    found = []
    bracket = trendfit._middle_in_bracket
    monkeypatch.setattr(
        trendfit, "_middle_in_bracket", lambda *a: found.append(bracket(*a)) or found[-1]
    )
    if width is not None:
        monkeypatch.setattr(trendfit, "_BRACKET_WIDTH", width)
    rng = np.random.default_rng(n)
    for trial in range(40):
        x = np.sort(rng.choice(np.arange(4 * n), size=n, replace=False)) * 300.0
        noise = rng.normal(0, 0.05 * (1 + trial % 3), n)
        if trial % 4 == 0:
            noise = noise.round(1)  # ties
        y = 6.0 + (trial % 5 - 2) * 0.4 * x / DAY + noise
        i, j = np.triu_indices(n, 1)
        ordered = np.sort((y[j] - y[i]) / (x[j] / DAY - x[i] / DAY))
        mid = ordered.size // 2
        want = ordered[mid] if ordered.size % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
        assert theil_sen(x, y, 95.0, bounds=False).slope == want
    pairs = n * (n - 1) // 2
    if pairs < trendfit._BRACKET_FROM:
        assert found == [None] * 40
    elif width is None:
        assert None not in found  # the bracket held every time
    else:
        assert None in found and any(f is not None for f in found)  # misses and hits
