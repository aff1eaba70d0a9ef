"""Text from outside (event notes, console EVENT fields) is drawn as text, never as markup."""

from __future__ import annotations

import pytest

from adapters import write_dataframe
from adapters.simulator import simulate
from monitor.reports import run_analysis
from monitor.web.live.figures import TrendSettings, trend_figure
from monitor.web.qa.views import timeline_figure
from rules import default_config
from tests.browser import free_port, start_monitor, stop, wait_for_http

LINK = "<a href='http://attacker.example/'>click me</a>"


@pytest.fixture(scope="module")
def noted(tmp_path_factory):
    data = simulate("stable", duration_s=1200, seed=5)
    data.loc[600, "event"] = LINK
    path = tmp_path_factory.mktemp("noted") / "noted.csv"
    write_dataframe(data, path)
    return path


def test_an_event_note_with_markup_is_escaped_in_every_chart(noted):
    result = run_analysis(noted)
    trend = trend_figure(result.recording.data, TrendSettings.of_config(default_config()))
    (note,) = [a["text"] for a in trend["layout"]["annotations"]]
    assert "<a" not in note and "&lt;a href=" in note
    timeline = timeline_figure(result)
    (events,) = [t for t in timeline["data"] if t.get("y", [None])[0] == "Events"]
    assert all("<" not in text for text in events["text"])


@pytest.mark.browser
def test_an_event_note_with_a_link_shows_as_text_in_chromium(page, noted, tmp_path):
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(noted), "--speed", "0", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#window-all, [data-window='all']")
        page.click("[data-window='all']")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('#trends .annotation-text'))"
            ".some(n => n.textContent.includes('click me'))",
            timeout=20_000,
        )
        shown = page.locator("#trends .annotation-text").evaluate_all(
            "nodes => nodes.map(n => n.textContent)"
        )
        assert any("<a href='http://attacker.example/'>" in text for text in shown), shown
        assert page.locator("#trends .annotation a").count() == 0
    finally:
        stop(process)
