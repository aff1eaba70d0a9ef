"""The delta P forecast on the bedside page: the tile's text and the trend's projection."""

from __future__ import annotations

import pytest

from adapters import write_dataframe
from adapters.simulator import simulate
from monitor.web.live import panels
from monitor.web.live.figures import (
    PROJECTION_LABEL,
    PROJECTION_SHARE,
    TrendSettings,
    trend_figure,
)
from rules import (
    IncrementalEngine,
    default_config,
    frames_from,
    resistance_in_force,
    shown_forecast,
)
from tests.browser import free_port, start_monitor, stop, wait_for_http

HOURS = 3.6


@pytest.fixture(scope="module")
def rising():
    """3.6 h of a steady resistance rise whose +30 mmHg crossing comes at about 4.8 h."""
    data = simulate("steady_resistance_rise", duration_s=6 * 3600, seed=8)
    return data.iloc[: int(HOURS * 3600)].reset_index(drop=True)


def engine_after(data) -> IncrementalEngine:
    engine = IncrementalEngine()
    for frame in frames_from(data):
        engine.process(frame)
    return engine


def test_the_tile_and_the_trend_show_the_forecast_of_the_rules(rising):
    engine = engine_after(rising)
    forecast = shown_forecast(engine.forecasts())
    assert forecast.eta is not None and forecast.limit_mmhg == 30.0
    tiles = panels.tiles({"delta_p_mmhg": 40.0}, [], engine.baseline(), None, forecast)
    (tile,) = [t for t in tiles if t.id == "tile-delta_p_mmhg"]
    shown = tile.children[2].children[1]
    assert shown.id == "delta-p-forecast" and shown.children == forecast.text()
    assert shown.children.startswith("+30 mmHg in about ")
    settings = TrendSettings.of_config(
        default_config(), resistance_in_force(engine.baselines()), forecast
    )
    figure = trend_figure(rising, settings)
    (projection,) = [t for t in figure["data"] if t["name"] == PROJECTION_LABEL]
    assert projection["yaxis"] == "y3" and len(projection["x"]) == 2
    first, last = (rising["timestamp"].iloc[i].timestamp() for i in (0, -1))
    start, end = (x / 1000.0 for x in projection["x"])
    assert last - 10 <= start <= last  # from the newest point drawn
    # to the crossing, or a quarter of the window ahead if that is sooner (here it is)
    assert end == pytest.approx(
        min(forecast.eta, start + PROJECTION_SHARE * (last - first)), abs=10
    )
    assert end < forecast.eta
    assert projection["y"] == pytest.approx(list(forecast.projection([start, end])))
    # and it is the forecast's line: at the crossing the rise is the limit
    rise = forecast.projection([forecast.eta])[0] - forecast.baseline_resistance * forecast.flow_lpm
    assert rise == pytest.approx(30.0, abs=1e-6)


def test_without_a_forecast_the_projection_is_empty_and_the_tile_says_why():
    data = simulate("stable", duration_s=3600, seed=2)
    engine = engine_after(data)
    forecast = shown_forecast(engine.forecasts())
    assert forecast.eta is None and "too little data" in forecast.text()
    figure = trend_figure(data, TrendSettings.of_config(default_config(), None, forecast))
    (projection,) = [t for t in figure["data"] if t["name"] == PROJECTION_LABEL]
    assert projection["x"] == [] and projection["y"] == []


@pytest.mark.browser
def test_the_bedside_page_shows_the_forecast_and_its_projection(page, rising, tmp_path):
    path = tmp_path / "rising.csv"
    write_dataframe(rising, path)
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(path), "--speed", "0", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function(
            "(document.getElementById('delta-p-forecast') || {}).textContent"
            "?.startsWith('+30 mmHg in about ')",
            timeout=30_000,
        )
        text = page.text_content("#delta-p-forecast")
        assert text.endswith(" h)"), text
        page.wait_for_function(
            f"""(() => {{
                const plot = document.querySelector('#trends .js-plotly-plot');
                const line = plot && plot.data.find(t => t.name === '{PROJECTION_LABEL}');
                return line && line.x.length === 2;
            }})()""",
            timeout=30_000,
        )
    finally:
        stop(process)
