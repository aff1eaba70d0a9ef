"""Make the README screenshot from the real page: a replayed acute oxygenator clot.

Starts ``ecmo-monitor run --replay sample_streams/acute_oxygenator_clot.csv --speed 600``,
opens the page in headless Chromium, waits until the replay is past the clot (delta P
rise, then flow drop), and saves docs/screenshot-alert.png. Reproduce with:

    .venv/bin/python docs/make_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import free_port, launch_chromium, start_monitor, stop, wait_for_http  # noqa: E402


def main() -> None:
    out = ROOT / "docs" / "screenshot-alert.png"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        process = start_monitor(
            ["run", "--replay", str(ROOT / "sample_streams" / "acute_oxygenator_clot.csv"),
             "--speed", "600", "--port", str(port), "--data-dir", tmp, "--weight", "72"],
            Path(tmp) / "server.log",
        )  # fmt: skip
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", process=process)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1600, "height": 1150})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector('.alert-row[data-rule="flow_drop"]', timeout=60_000)
                page.click('[data-window="all"]')
                time.sleep(3)
                page.screenshot(path=str(out))
                browser.close()
        finally:
            stop(process)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
