"""The page in a real headless Chromium: it loads, and trends and values update live."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from tests.browser import free_port, start_monitor, stop, wait_for_http

pytestmark = pytest.mark.browser

T0 = 1_767_254_400.0


@pytest.fixture()
def replay_server(tmp_path):
    lines = [
        "timestamp,pump_speed_rpm,blood_flow_lpm,p_venous_mmhg,p_pre_oxy_mmhg,p_post_oxy_mmhg\n"
    ]
    for s in range(600):
        stamp = pd.Timestamp(T0 + s, unit="s", tz="UTC").isoformat()
        lines.append(f"{stamp},{3000 + s},{4.0 + s / 1000:.3f},-40,{200 + s / 10:.1f},180\n")
    path = tmp_path / "ramp.csv"
    path.write_text("".join(lines))
    port = free_port()
    process = start_monitor(
        [
            "run",
            "--replay",
            str(path),
            "--speed",
            "5",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        tmp_path / "server.log",
    )
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(url, process=process)
    yield url
    stop(process)


def trace_length(page, graph_id: str) -> int:
    return page.evaluate(f"document.querySelector('#{graph_id} .js-plotly-plot').data[0].x.length")


def test_page_shows_trends_and_values_that_update_as_frames_arrive(page, replay_server):
    page.goto(replay_server)
    page.wait_for_selector("#trends .js-plotly-plot")
    page.wait_for_function("document.querySelector('#tile-pump_speed_rpm').dataset.value !== ''")
    first_speed = float(page.get_attribute("#tile-pump_speed_rpm", "data-value"))
    first_points = trace_length(page, "trends")
    time.sleep(2.5)
    later_speed = float(page.get_attribute("#tile-pump_speed_rpm", "data-value"))
    assert later_speed >= first_speed + 5  # 5 recorded seconds per second of wall time
    assert trace_length(page, "trends") >= first_points + 5
    names = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(g => g.data.map(t => t.name))"
    )
    assert {
        "Blood flow (L/min)",
        "Pump speed (rpm)",
        "Drainage pressure (mmHg)",
        "Pre-oxygenator pressure (mmHg)",
        "Post-oxygenator pressure (mmHg)",
    } <= set(names)
    assert page.inner_text("#connection-state") == "receiving"
    assert "ramp.csv" in page.inner_text("#source-description")


def test_trends_are_whole_after_a_visit_to_the_qa_tab(page, replay_server):
    page.goto(replay_server)
    page.wait_for_selector("#trends .js-plotly-plot")
    time.sleep(2.5)  # several refreshes extend the figure
    page.click("text=QA workspace")
    time.sleep(1.5)
    page.click("text=Bedside")
    page.wait_for_selector("#trends .js-plotly-plot")
    time.sleep(1.5)  # the redraw after the tab is shown, then an extension or two
    first, last, count = page.evaluate(
        """(() => { const x = document.querySelector('#trends .js-plotly-plot').data[0].x
                   .filter(v => v !== null);
           return [x[0], x[x.length - 1], x.length]; })()"""
    )
    # every frame from the start is drawn once: no hole where the tab was away, no repeat
    assert first == T0 * 1000
    assert count == round((last - first) / 1000) + 1
