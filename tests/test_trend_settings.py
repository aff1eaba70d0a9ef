"""The trends draw what the rules in force say: reference lines, baseline, lab limits, axes.

A site whose settings say medium 25 / high 35 mmHg sees its lines at baseline +25 and +35
on the live page, in the QA views and in the report; the pump speed axis is never scaled
to its own noise; the labs' log axis labels one tick per decade.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adapters import FakeSource, write_dataframe
from adapters.simulator import simulate
from monitor.reports import run_analysis
from monitor.reports.figure import session_figure
from monitor.runtime import Session
from monitor.web.live.figures import MIN_SPEED_SPAN_RPM, TrendSettings, full_figure, trend_figure
from rules import frames_from, load_config

SITE = "[delta_p_rise]\nmedium_mmhg = 25.0\nhigh_mmhg = 35.0\nbaseline_window_min = 20.0\n"


@pytest.fixture(scope="module")
def site_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "site.toml"
    path.write_text(SITE)
    return load_config(path)


@pytest.fixture(scope="module")
def stable_hour():
    return simulate("stable", duration_s=3600, seed=3)


def bed(config, data) -> Session:
    from rules import IncrementalEngine

    session = Session(FakeSource("test"), engine=IncrementalEngine(config), live=False)
    for frame in frames_from(data):
        session.on_frame(frame)
    return session


def traces_by_name(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def offsets(figure: dict, name: str, baseline_name: str) -> set[float]:
    traces = traces_by_name(figure)
    line, base = traces[name], traces[baseline_name]
    return {
        round(y - b, 6)
        for y, b in zip(line["y"], base["y"], strict=True)
        if y is not None and b is not None
    }


def test_live_trend_reference_lines_follow_the_site_settings(site_config, stable_hour):
    figure = full_figure(bed(site_config, stable_hour), None)
    names = set(traces_by_name(figure))
    assert {"Baseline +25 mmHg", "Baseline +35 mmHg"} <= names
    assert not {"Baseline +30 mmHg", "Baseline +40 mmHg"} & names
    baseline = "Delta P baseline (flow-scaled)"
    assert offsets(figure, "Baseline +25 mmHg", baseline) == {25.0}
    assert offsets(figure, "Baseline +35 mmHg", baseline) == {35.0}


def test_qa_trend_of_an_analysis_draws_its_baseline_and_the_lines_in_force(
    site_config, stable_hour, tmp_path
):
    path = tmp_path / "stable.csv"
    write_dataframe(stable_hour, path)
    result = run_analysis(path, config=site_config)
    figure = trend_figure(result.recording.data, TrendSettings.of_analysis(result.analysis))
    baseline = traces_by_name(figure)["Delta P baseline (flow-scaled)"]
    assert any(y is not None for y in baseline["y"])  # the baseline in force is drawn
    assert offsets(figure, "Baseline +35 mmHg", "Delta P baseline (flow-scaled)") == {35.0}


def test_report_figure_names_the_lines_in_force(site_config, stable_hour, tmp_path):
    path = tmp_path / "stable.csv"
    write_dataframe(stable_hour, path)
    names = set(traces_by_name(session_figure(run_analysis(path, config=site_config))))
    assert {"Baseline +25 mmHg (medium)", "Baseline +35 mmHg (high)"} <= names


def test_live_trend_and_report_draw_the_same_baseline_in_force(tmp_path):
    data = simulate("gradual_oxygenator_thrombosis", duration_s=3 * 3600, seed=1)
    data.loc[5400, "event"] = "oxygenator_change"
    path = tmp_path / "exchange.csv"
    write_dataframe(data, path)
    result = run_analysis(path)
    live = full_figure(bed(result.analysis.config, result.recording.data), None)
    report = session_figure(result)
    name = "Delta P baseline (flow-scaled)"

    def drawn(trace):
        return {
            int(x): round(y, 1)
            for x, y in zip(trace["x"], trace["y"], strict=True)
            if y is not None and x is not None
        }

    live_points, report_points = (
        drawn(traces_by_name(live)[name]),
        drawn(traces_by_name(report)[name]),
    )
    common = live_points.keys() & report_points.keys()
    assert len(common) > 100
    assert all(math.isclose(live_points[t], report_points[t], abs_tol=0.11) for t in common)


def test_a_steady_pump_speed_axis_spans_at_least_the_minimum(stable_hour):
    figure = trend_figure(stable_hour, TrendSettings.of_config(load_config(None)))
    speeds = stable_hour["pump_speed_rpm"].to_numpy()
    assert np.ptp(speeds) < MIN_SPEED_SPAN_RPM / 4  # sensor noise only
    low, high = figure["layout"]["yaxis5"]["autorangeoptions"]["include"]
    assert high - low >= MIN_SPEED_SPAN_RPM
    assert low <= speeds.min() and high >= speeds.max()


def test_labs_log_axis_labels_one_tick_per_decade(stable_hour):
    figure = trend_figure(stable_hour, TrendSettings.of_config(load_config(None)))
    axis = figure["layout"]["yaxis4"]
    assert axis["type"] == "log" and axis["dtick"] == 1


def test_lab_limit_lines_follow_the_settings(tmp_path, stable_hour):
    path = tmp_path / "labs.toml"
    path.write_text("[hemolysis]\npfhb_medium_mg_dl = 40.0\nldh_limit_u_l = 800.0\n")
    figure = trend_figure(stable_hour, TrendSettings.of_config(load_config(path)))
    labels = {
        shape["label"]["text"]: shape["y0"]
        for shape in figure["layout"]["shapes"]
        if "label" in shape
    }
    assert labels["PfHb 40 mg/dL"] == 40.0 and labels["LDH 800 U/L"] == 800.0
    assert "PfHb 50 mg/dL" not in labels


def test_every_trend_is_drawn_in_the_dark_theme(stable_hour, tmp_path):
    figure = trend_figure(stable_hour, TrendSettings.of_config(load_config(None)))
    assert figure["layout"]["paper_bgcolor"] == figure["layout"]["plot_bgcolor"] == "#1a1a1a"


def test_the_baseline_reset_message_says_the_collection_time_in_force(site_config):
    from monitor.web.live.callbacks import _carry_out

    session = bed(site_config, simulate("stable", duration_s=600, seed=2))
    text = _carry_out(session, "sam", "baseline-reset", None, None, None, None, None, None)
    assert text == "Delta P baseline reset by sam; a new one is collected over 20 min."
