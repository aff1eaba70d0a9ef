"""The bedside page in a real Chromium: a lost sweep gas fed through a pty is a high
``sweep_gas_lost`` alert within its on-delay plus one refresh."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from rules import default_config
from tests.browser import free_port, start_monitor, stop, wait_for_http
from tests.test_cli_serial import kill_socat, start_socat

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("socat") is None, reason="socat is not installed (.ci/run installs it)"
    ),
]
ROW = '.alert-row[data-rule="sweep_gas_lost"]'


class SweepFeeder(threading.Thread):
    """key=value frames at 4 Hz with a sweep that can be turned off on the fly."""

    def __init__(self, console) -> None:
        super().__init__(daemon=True)
        self.console = console
        self.sweep = 4.0
        self.stop_event = threading.Event()
        self.first_lost: float | None = None

    def run(self) -> None:
        fd = os.open(self.console, os.O_WRONLY | os.O_NOCTTY)
        try:
            while not self.stop_event.is_set():
                line = f"RPM=3200 FLOW=4.20 P1=-45 P2=200 P3=176 SWEEP={self.sweep:g}\r\n"
                os.write(fd, line.encode())
                if self.sweep < 0.5 and self.first_lost is None:
                    self.first_lost = time.monotonic()
                time.sleep(0.25)
        finally:
            os.close(fd)


def test_a_lost_sweep_is_a_high_alert_on_the_page_within_its_on_delay(tmp_path, browser):
    console, monitor = tmp_path / "console", tmp_path / "monitor"
    pair = start_socat(console, monitor)
    port = free_port()
    process = start_monitor(
        ["run", "--serial", str(monitor), "--profile", "keyvalue",
         "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        tmp_path / "server.log",
    )  # fmt: skip
    feeder = SweepFeeder(console)
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, bypass_csp=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, process=process)
        feeder.start()
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(
            "document.querySelector('#connection-state')?.dataset.state === 'receiving'",
            timeout=15_000,
        )
        time.sleep(2)
        assert page.locator(ROW).count() == 0
        feeder.sweep = 0.0  # the cylinder is empty
        page.wait_for_selector(f'{ROW}[data-priority="high"]', timeout=20_000)
        latency = time.monotonic() - feeder.first_lost
        on_delay = default_config().sweep_gas_lost.on_delay_s
        # on-delay plus at most one refresh (1 s) and a second of slack for the browser
        assert latency <= on_delay + 2, f"alert took {latency:.1f} s"
        text = page.locator(ROW).inner_text()
        assert "0.0 L/min" in text and "0.5 L/min" in text
        assert "priority-high" in (page.get_attribute("#tile-sweep_gas_lpm", "class") or "")
    finally:
        context.close()
        feeder.stop_event.set()
        feeder.join(5)
        stop(process)
        kill_socat(pair, console, monitor)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
