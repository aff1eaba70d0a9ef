"""The live page in Chromium follows the site's settings and reads whole.

A monitor started with a settings file of medium 25 / high 35 mmHg draws its delta P
reference lines at baseline +25 and +35 mmHg and names them so in the legend; the labs'
log axis labels one tick per decade; the actions' drop-downs show their labels whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import free_port, start_monitor, stop, wait_for_http

pytestmark = pytest.mark.browser
SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"


@pytest.fixture(scope="module")
def site_monitor(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("site")
    settings = tmp_path / "site.toml"
    settings.write_text("[delta_p_rise]\nmedium_mmhg = 25.0\nhigh_mmhg = 35.0\n")
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(SAMPLES / "stable.csv"), "--speed", "600", "--config",
         str(settings), "--port", str(port), "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(url, process=process)
    yield url
    stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def svg_texts(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")


def trend_traces(page) -> dict[str, dict]:
    return page.evaluate(
        """Object.fromEntries(document.querySelector('#trends .js-plotly-plot').data
             .map(t => [t.name, {x: Array.from(t.x), y: Array.from(t.y)}]))"""
    )


def test_reference_lines_are_drawn_at_the_site_limits_and_named_so(page, site_monitor):
    page.goto(site_monitor)
    page.wait_for_selector("#trends .js-plotly-plot")
    # 600x: the 30-minute baseline is established within a few seconds
    page.wait_for_function(
        """(() => { const t = document.querySelector('#trends .js-plotly-plot').data
             .find(t => t.name === 'Baseline +25 mmHg');
           return t && Array.from(t.y).some(v => v !== null); })()""",
        timeout=30_000,
    )
    legend = svg_texts(page, "#trends .legendtext")
    assert "Baseline +25 mmHg" in legend and "Baseline +35 mmHg" in legend
    assert not {"Baseline +30 mmHg", "Baseline +40 mmHg"} & set(legend)
    traces = trend_traces(page)
    base = dict(
        zip(
            traces["Delta P baseline (flow-scaled)"]["x"],
            traces["Delta P baseline (flow-scaled)"]["y"],
            strict=True,
        )
    )
    for name, offset in (("Baseline +25 mmHg", 25.0), ("Baseline +35 mmHg", 35.0)):
        pairs = [
            (y, base[x])
            for x, y in zip(traces[name]["x"], traces[name]["y"], strict=True)
            if y is not None and base.get(x) is not None
        ]
        assert pairs and all(abs(y - b - offset) < 1e-6 for y, b in pairs)


def test_the_labs_axis_labels_each_decade_once(page, site_monitor):
    page.goto(site_monitor)
    page.wait_for_selector("#trends .js-plotly-plot .y4tick")
    labels = [t for t in svg_texts(page, "#trends .y4tick text") if t]
    assert labels and len(labels) == len(set(labels))
    assert all(label.replace(",", "").lstrip("0.").strip("0") in ("1", "") for label in labels), (
        labels
    )


def test_the_action_drop_downs_show_their_labels_whole(page, site_monitor):
    page.goto(site_monitor)
    page.wait_for_selector("#lab-analyte")
    for ident, text in (
        ("#lab-analyte", "Plasma free Hb (mg/dL)"),
        ("#event-kind", "oxygenator change"),
    ):
        shown = page.locator(ident)
        assert text in shown.inner_text()
        clipped = shown.evaluate(
            """el => Array.from(el.querySelectorAll('*')).some(
                 n => n.children.length === 0 && n.scrollWidth > n.clientWidth + 1)"""
        )
        assert not clipped, f"{ident} cuts its label"


def test_each_action_row_gives_its_text_box_room_beside_its_button(page, site_monitor):
    page.goto(site_monitor)
    page.wait_for_selector("#event-note")
    for box, button in (("#event-note", "#event-submit"), ("#lab-value", "#lab-submit")):
        width = page.locator(box).evaluate("e => e.getBoundingClientRect().width")
        row = page.locator(box).evaluate(
            "e => { const r = e.closest('.action-row').getBoundingClientRect(); return [r.left, r.right]; }"
        )
        edges = page.locator(button).evaluate(
            "e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }"
        )
        assert width >= 100, f"{box} is {width:.0f} px wide"
        assert row[0] - 1 <= edges[0] and edges[1] <= row[1] + 1, f"{button} leaves its row"
