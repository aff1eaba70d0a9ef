"""The QA workspace: open, seek, replay and export in Chromium; paths from the page are
never joined to the filesystem; replay at 600x gives the batch engine's episodes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.csv_reader import read_recording
from adapters.replay import ReplaySource
from monitor.runtime import Catalog, CatalogError, Session
from monitor.store import AlarmStore, Users
from rules import IncrementalEngine, analyze
from tests.browser import free_port, start_monitor, stop, wait_for_http
from tests.dash_requests import post_callback, sign_in_body

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_streams"


def test_catalog_refuses_anything_but_its_own_keys(tmp_path):
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "20260101T080000Z_serial.csv").write_text("timestamp\n")
    (tmp_path / "secret.csv").write_text("not yours")
    catalog = Catalog({"recordings": tmp_path / "recordings", "samples": SAMPLES})
    assert catalog.resolve("samples/stable.csv") == (SAMPLES / "stable.csv").resolve()
    assert catalog.resolve("recordings/20260101T080000Z_serial.csv").name.endswith("_serial.csv")
    for key in (
        "../secret.csv",
        "recordings/../secret.csv",
        "recordings/..",
        "/etc/passwd",
        "samples//etc/passwd",
        "samples/../../etc/passwd",
        "elsewhere/stable.csv",
        "samples/README.md",
        "samples/stable.csv\x00.csv",
        {"key": "samples/stable.csv"},
        None,
    ):
        with pytest.raises(CatalogError):
            catalog.resolve(key)


def test_path_traversal_through_the_open_callback_is_refused(tmp_path):
    from adapters import FakeSource
    from monitor.runtime import SessionRegistry
    from monitor.web.app import create_app

    store = AlarmStore(tmp_path)
    Users(store).add("quinn", "qa", "9999")
    registry = SessionRegistry()
    registry.add(Session(FakeSource("idle"), store=store))
    catalog = Catalog({"recordings": tmp_path / "recordings", "samples": SAMPLES})
    app = create_app(registry, users=Users(store), secret=b"k" * 32, catalog=catalog)
    client = app.server.test_client()
    signed = post_callback(client, *sign_in_body("quinn", "9999"))
    assert signed.status_code == 200 and "quinn (qa)" in signed.get_data(as_text=True)
    key = next(k for k in app.callback_map if k.startswith("..qa-open.data..."))
    outputs = [tuple(part.split(".", 1)) for part in key.strip(".").split("...")]
    for key in ("../../../../etc/passwd", "samples/../../pyproject.toml", "/etc/passwd"):
        ident = {"type": "open-recording", "key": key}
        response = post_callback(
            client,
            outputs,
            [[{"id": ident, "property": "n_clicks", "value": 1}]],
            [],
            [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        )
        text = response.get_data(as_text=True)
        assert response.status_code == 200, text[:300]
        assert "not in the list" in text and "refused" in text
        assert "root:" not in text
    assert [s.bed_id for s in registry] == ["bed-1"]  # nothing was opened


def test_replay_at_600x_gives_the_batch_engine_episodes():
    recording = read_recording(SAMPLES / "return_line_kink.csv")
    data = recording.data.iloc[: 155 * 60]  # through the kink and its relief
    from adapters.csv_reader import Recording

    short = Recording(recording.path, data.reset_index(drop=True), recording.report)
    engine = IncrementalEngine()
    session = Session(ReplaySource(short, speed=600), engine=engine, bed_id="qa", live=False)
    session.start()
    session.source.join(60)
    assert session.source.status().good_frames == len(data)
    live = [(e.rule, str(e.priority), round(e.start, 3)) for e in engine.episodes()]
    batch = [(e.rule, str(e.priority), round(e.start, 3)) for e in analyze(short.data).episodes]
    assert sorted(live) == sorted(batch)
    assert {"post_oxy_pressure_high", "flow_drop"} <= {rule for rule, _p, _t in live}


@pytest.fixture()
def qa_page(tmp_path):
    """A monitor replaying the stable sample, and a function signing a page in as QA."""
    data_dir = tmp_path / "data"
    for name, pin in (("quinn", "9999"), ("rita", "8888")):
        subprocess.run(
            [sys.executable, "-m", "monitor.cli", "users", "add", name, "--role", "qa",
             "--pin", pin, "--data-dir", str(data_dir)],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(SAMPLES / "stable.csv"), "--port", str(port), "--data-dir", str(data_dir)],
        tmp_path / "server.log",
    )  # fmt: skip
    wait_for_http(f"http://127.0.0.1:{port}/", process=process)

    def sign_in(page, name: str = "quinn", pin: str = "9999") -> None:
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#login-user")
        page.fill("#login-user", name)
        page.fill("#login-pin", pin)
        page.click("#login-submit")
        page.wait_for_function(
            f"document.querySelector('#user-name')?.innerText.startsWith('{name}')"
        )

    yield sign_in
    stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.mark.browser
def test_qa_user_opens_seeks_to_the_first_alert_replays_and_exports(qa_page, page):
    qa_page(page)
    page.click("text=QA workspace")
    page.wait_for_selector("#qa-recording-table")
    page.click('[data-key="samples/acute_oxygenator_clot.csv"]')
    page.wait_for_selector('#qa-open-result[data-result="opened"]', timeout=30_000)
    assert page.locator("#qa-episodes tr[data-rule]").count() >= 2
    first_alert = page.locator("#qa-episodes tr[data-rule]").first.get_attribute("data-rule")

    # seek to the first alert (the jump list starts two minutes before it)
    page.click("#replay-jump")
    page.locator("[role=option]").first.click()
    page.wait_for_function(
        "document.querySelector('#replay-status span')?.dataset.position > 1767261000",
        timeout=30_000,
    )
    position = float(page.get_attribute("#replay-status span", "data-position"))
    page.click("#replay-speed")
    page.locator("[role=option]", has_text="600x").click()
    page.click("#replay-play")
    page.click("text=Bedside")
    page.wait_for_selector(f'.alert-row[data-rule="{first_alert}"]', timeout=30_000)
    header = page.inner_text("#header")
    assert "QA replay: acute_oxygenator_clot.csv" in header

    page.click("text=QA workspace")
    with page.expect_download(timeout=30_000) as download_info:
        page.click("#export-html")
    report = download_info.value.path().read_text()
    assert "<html" in report.lower() and "delta_p_rise" in report
    assert position > 1767254400 + 60 * 60  # the seek moved well past the start
    time.sleep(0.5)


@pytest.mark.browser
def test_qa_user_analyses_every_sample_with_progress_in_the_page(qa_page, page):
    qa_page(page)
    page.click("text=QA workspace")
    page.click("#batch-folder")
    page.locator("[role=option]", has_text="samples").click()
    page.click("#batch-run")
    page.wait_for_selector("#batch-progress [data-total]", timeout=20_000)
    page.wait_for_selector("#batch-table", timeout=60_000)
    expected = len(list(SAMPLES.glob("*.csv")))
    holder = page.locator("#batch-progress [data-total]")
    assert holder.get_attribute("data-done") == str(expected)
    assert page.locator("#batch-table tr").count() == expected + 1
    assert "stable.csv" in page.inner_text("#batch-table")


def open_in_page(page, key: str) -> None:
    page.click("text=QA workspace")
    page.wait_for_selector("#qa-recording-table")
    page.click(f'[data-key="{key}"]')
    page.wait_for_selector('#qa-open-result[data-result="opened"]', timeout=30_000)


@pytest.mark.browser
def test_two_qa_users_in_two_browsers_each_see_the_recording_they_opened(qa_page, browser):
    contexts = [
        browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
        for _ in range(2)
    ]
    try:
        quinn, rita = (context.new_page() for context in contexts)
        qa_page(quinn, "quinn", "9999")
        qa_page(rita, "rita", "8888")
        open_in_page(quinn, "samples/return_line_kink.csv")
        open_in_page(rita, "samples/pump_head_thrombosis.csv")
        for page, name in ((quinn, "return_line_kink.csv"), (rita, "pump_head_thrombosis.csv")):
            page.click("text=Bedside")
            page.wait_for_function(
                f"document.querySelector('#bed-label')?.innerText === 'QA replay: {name}'",
                timeout=15_000,
            )
        time.sleep(2.5)  # several refreshes later, each still sees their own
        assert quinn.inner_text("#bed-label") == "QA replay: return_line_kink.csv"
        assert rita.inner_text("#bed-label") == "QA replay: pump_head_thrombosis.csv"
    finally:
        for context in contexts:
            context.close()


@pytest.mark.browser
def test_qa_workspace_says_what_to_do_before_a_recording_is_open_and_stays_dark(qa_page, page):
    qa_page(page)
    page.click("text=QA workspace")
    page.wait_for_selector("#qa-session-empty")
    assert "Open a recording" in page.inner_text("#qa-session-empty")
    assert not page.is_visible("#qa-timeline") and not page.is_visible("#qa-trends")
    open_in_page(page, "samples/acute_oxygenator_clot.csv")
    assert page.is_visible("#qa-timeline") and not page.is_visible("#qa-session-empty")
    backgrounds = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => g.layout.paper_bgcolor)"
    )
    assert backgrounds and set(backgrounds) == {"#1a1a1a"}
    marks = page.locator(
        "#replay-seek .dash-slider-mark, #replay-seek [class*=mark]"
    ).all_inner_texts()
    assert any(text.count(":") == 1 for text in marks), marks  # clock times, not epoch seconds
    assert "1767" not in page.inner_text("#replay-seek")
    page.wait_for_function("document.querySelector('#replay-position').innerText.startsWith('at ')")
    position = page.inner_text("#replay-position")
    assert position.startswith("at ") and position.endswith(" UTC") and position.count(":") == 2
