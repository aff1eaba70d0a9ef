"""Page benchmark: server time and bytes per refresh, and frame-to-alert latency in Chromium.

Per refresh (the trend callback over HTTP, in-process through Flask's test client) with
1 h and 72 h of frames in the buffer and the 1 h and 24 h windows, beside a naive
baseline measured in the same run: sending the whole window as a figure every refresh
(what a page without the sequence cursor would do). Then the latency from a frame
written to a serial pty to its alert row in a real headless Chromium, minus the rule's
on-delay. Reproduce with:

    .venv/bin/python benchmarks/bench_page.py [--repeat 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import Frame  # noqa: E402
from tests.dash_requests import client_for, filled_session, trend_refresh  # noqa: E402


def bench_refresh(repeat: int) -> None:
    print("Trend refresh (one new frame since the cursor), median of", repeat)
    print(
        f"  {'buffer':>6} {'window':>6} {'bytes':>8} {'ms':>7} | {'naive bytes':>11} {'naive ms':>9} | bytes ratio"
    )
    for hours in (1, 72):
        session = filled_session(hours)
        client = client_for(session)
        for window in (3600.0, 86400.0):
            sizes, times = [], []
            for _ in range(repeat):
                last = session.buffer.latest()
                session.buffer.append(
                    Frame.build(last["time"] + 1, {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.2})
                )
                cursor = {
                    "seq": session.buffer.last_seq - 1,
                    "t": last["time"] * 1000.0,
                    "appended": 0,
                }
                started = time.perf_counter()
                size, _ = trend_refresh(client, cursor, window)
                times.append(time.perf_counter() - started)
                sizes.append(size)
            naive_sizes, naive_times = [], []
            for _ in range(max(3, repeat // 5)):
                started = time.perf_counter()
                size, _ = trend_refresh(client, {"seq": 0, "t": None, "appended": 0}, window)
                naive_times.append(time.perf_counter() - started)
                naive_sizes.append(size)
            ours_b, ours_t = statistics.median(sizes), statistics.median(times)
            naive_b, naive_t = statistics.median(naive_sizes), statistics.median(naive_times)
            print(
                f"  {hours:>4} h {window / 3600:>4.0f} h {ours_b:>8.0f} {ours_t * 1e3:>7.1f} | "
                f"{naive_b:>11.0f} {naive_t * 1e3:>9.1f} | {ours_b / naive_b:.4f}"
            )


def bench_latency(rounds: int) -> None:
    if not shutil.which("socat") or not Path("/usr/bin/chromium").exists():
        print("Latency: skipped (needs socat and /usr/bin/chromium)")
        return
    from playwright.sync_api import sync_playwright

    from tests.browser import free_port, launch_chromium, start_monitor, stop, wait_for_http
    from tests.test_cli_serial import kill_socat, start_socat

    on_delay = 5.0
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        console, monitor = tmp / "console", tmp / "monitor"
        pair = start_socat(console, monitor)
        port = free_port()
        process = start_monitor(
            ["run", "--serial", str(monitor), "--profile", "keyvalue", "--data-dir", str(tmp / "d"),
             "--port", str(port), "--no-record"],
            tmp / "server.log",
        )  # fmt: skip
        state = {"p1": -45.0, "first_low": None, "stop": False}

        def feed() -> None:
            fd = os.open(console, os.O_WRONLY | os.O_NOCTTY)
            while not state["stop"]:
                os.write(fd, f"RPM=3200 FLOW=4.2 P1={state['p1']:g} P2=200 P3=176\r\n".encode())
                if state["p1"] < -100 and state["first_low"] is None:
                    state["first_low"] = time.monotonic()
                time.sleep(0.1)
            os.close(fd)

        feeder = threading.Thread(target=feed, daemon=True)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", process=process)
            feeder.start()
            browser = launch_chromium(playwright)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            selector = '.alert-row[data-rule="drainage_pressure_low"][data-priority="high"][data-state="active"]'
            for _ in range(rounds):
                time.sleep(3)
                state["first_low"] = None
                state["p1"] = -120.0
                page.wait_for_selector(selector, timeout=30_000)
                results.append(time.monotonic() - state["first_low"] - on_delay)
                state["p1"] = -45.0
                page.wait_for_selector(selector, state="detached", timeout=60_000)
            browser.close()
        finally:
            state["stop"] = True
            stop(process)
            kill_socat(pair, console, monitor)
    print(
        f"Frame written to the pty -> alert row in Chromium, minus the {on_delay:g} s on-delay, "
        f"{rounds} rounds: median {statistics.median(results):.2f} s, max {max(results):.2f} s "
        "(budget: one refresh, 1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, python {platform.python_version()}, {os.cpu_count()} cores"
    )
    bench_refresh(args.repeat)
    if not args.no_browser:
        bench_latency(args.rounds)
    print(
        f"reproduce: .venv/bin/python benchmarks/bench_page.py --repeat {args.repeat} --rounds {args.rounds}"
    )


if __name__ == "__main__":
    main()
