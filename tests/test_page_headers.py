"""The page refuses to be framed and to run foreign code: security headers on every reply.

A page on another port of the same host that frames the monitor (to make a signed-in
specialist click in an invisible frame) gets nothing drawn in its frame.
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from adapters import FakeSource
from monitor.runtime import Session, SessionRegistry
from monitor.web import create_app
from tests.browser import free_port, start_monitor, stop, wait_for_http

REQUIRED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@pytest.fixture(scope="module")
def client():
    registry = SessionRegistry()
    registry.add(Session(FakeSource("idle")))
    return create_app(registry).server.test_client()


@pytest.mark.parametrize(
    "path", ["/", "/api/status", "/_dash-layout", "/_dash-dependencies", "/no-such-page"]
)
def test_every_reply_refuses_framing_and_sniffing(client, path):
    response = client.get(path)
    for header, value in REQUIRED.items():
        assert response.headers.get(header) == value, (path, header)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    scripts = next(part for part in policy.split("; ") if part.startswith("script-src"))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts


@pytest.fixture()
def strict_page(browser):
    """A page that obeys the monitor's Content-Security-Policy (no test bypass)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_the_page_works_under_its_own_policy(strict_page, tmp_path):
    port = free_port()
    process = start_monitor(
        ["run", "--replay", "sample_streams/acute_oxygenator_clot.csv", "--speed", "600",
         "--port", str(port), "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
    )  # fmt: skip
    refused = []
    strict_page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        strict_page.goto(f"http://127.0.0.1:{port}/")
        strict_page.wait_for_selector("#trends .js-plotly-plot .scatterlayer .trace")
        strict_page.wait_for_selector("#tile-blood_flow_lpm[data-value^='4']")
        strict_page.click("text=QA workspace")
        strict_page.wait_for_selector("#qa-recordings")
    finally:
        stop(process)
    assert refused == []


@pytest.mark.browser
def test_a_page_on_another_port_cannot_frame_the_monitor(strict_page, tmp_path):
    page = strict_page
    port = free_port()
    process = start_monitor(
        ["run", "--replay", "sample_streams/stable.csv", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
    )  # fmt: skip
    attacker = tmp_path / "attacker"
    attacker.mkdir()
    (attacker / "index.html").write_text(
        f'<html><body><iframe id="victim" src="http://127.0.0.1:{port}/" width="1200" '
        'height="800" style="opacity:0"></iframe></body></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=attacker)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_timeout(3000)  # long enough for the monitor's page to draw, if allowed
        victim = next(f for f in page.frames if f != page.main_frame)
        assert victim.query_selector("#event-submit") is None
        assert victim.query_selector("#trends") is None
    finally:
        server.shutdown()
        stop(process)
