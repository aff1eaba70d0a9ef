import pytest


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole test run."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import launch_chromium

    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    # Playwright evaluates its wait conditions as strings, which the page's CSP (no
    # eval) refuses; tests of the policy itself use a context of their own without this
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture()
def nats_server(tmp_path):
    """A real nats-server with JetStream on a free loopback port, its store in tmp_path."""
    from monitor.bus import LocalNatsServer

    server = LocalNatsServer(tmp_path / "nats").start()
    yield server
    server.stop()
