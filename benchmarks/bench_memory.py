"""Memory: the server's RSS and peak with a full 72 h buffer and the page open.

Two real ``ecmo-monitor run --replay FILE --speed 0`` processes, one after the other in
the same run: a baseline that replays a short recording (``--baseline-hours``, 1 h:
an idle server with the page open) and one that replays ``--hours`` (72 h at 1 Hz,
259,200 frames: the buffer's whole capacity). Each is replayed as fast as possible
until ``/api/status`` says the replay finished with every frame in; then the bedside
page is opened in headless Chromium, the "all" window chosen, and the windows switched
through ``--switches`` times, each redraw awaited. The server's VmRSS and VmHWM (its
peak so far) are read from ``/proc/<pid>/status`` at each stage, so the table shows
whether the peak comes from reading and replaying the recording or from the page.
Reproduce with:

    .venv/bin/python benchmarks/bench_memory.py [--hours 72] [--switches 2] [--no-browser]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from adapters.simulator import write_csv  # noqa: E402
from tests.browser import CHROMIUM, free_port, start_monitor, stop, wait_for_http  # noqa: E402

#: The page's window buttons (``data-window``) and the figure revision each redraw gets.
WINDOWS = {"15 min": 900.0, "1 h": 3600.0, "6 h": 21600.0, "24 h": 86400.0, "all": None}
TARGET_MB = 300.0
MB = 1e6


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def megabytes(kb: int) -> float:
    return kb * 1024 / MB


def wait_for_replay(url: str, frames: int, process, timeout: float = 600.0) -> float:
    """Seconds until the replay finished with ``frames`` frames in the buffer."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the server exited early with status {process.returncode}")
        status = requests.get(url + "/api/status", timeout=10).json()
        if status["state"] == "finished" and status["last_seq"] >= frames:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"the replay did not finish within {timeout:.0f} s")


def choose_window(page, label: str) -> int:
    """Click a window button and wait for the figure drawn for it; its points per trace."""
    seconds = WINDOWS[label]
    page.click(f'[data-window="{label}"]')
    page.wait_for_function(
        "rev => document.querySelector('#trends .js-plotly-plot')?.layout?.uirevision === rev",
        arg=f"trends-{seconds}",
        timeout=120_000,
    )
    return page.evaluate(
        "() => Math.max(...document.querySelector('#trends .js-plotly-plot').data"
        ".map(d => (d.x || []).length))"
    )


def measure(hours: float, tmp: Path, switches: int, browser) -> list[tuple[str, dict, str]]:
    """(stage, memory, note) for one server replaying ``hours`` of 1 Hz frames."""
    frames = int(hours * 3600)
    recording = tmp / f"stable-{hours:g}h.csv"
    if not recording.exists():
        write_csv("stable", recording, duration_s=hours * 3600)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["run", "--replay", str(recording), "--speed", "0", "--host", "127.0.0.1",
            "--port", str(port), "--data-dir", str(tmp / f"data-{hours:g}h")]  # fmt: skip
    process = start_monitor(args, tmp / f"server-{hours:g}h.log")
    stages = []
    try:
        wait_for_http(url + "/api/status", timeout=300, process=process)
        stages.append(("server answering", memory_kb(process.pid), "recording read"))
        took = wait_for_replay(url, frames, process)
        stages.append(("buffer full", memory_kb(process.pid), f"{frames:,} frames, {took:.0f} s"))
        if browser is None:
            return stages
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url, timeout=120_000)
        page.wait_for_selector("#trends .js-plotly-plot", timeout=120_000)
        time.sleep(3)  # a few one-second refreshes
        stages.append(("page open (1 h window)", memory_kb(process.pid), ""))
        points = choose_window(page, "all")
        time.sleep(3)
        stages.append(("all window", memory_kb(process.pid), f"{points:,} points a trace"))
        order = ["15 min", "1 h", "6 h", "24 h", "all"]
        for _ in range(switches):
            for label in order:
                points = choose_window(page, label)
        time.sleep(3)
        note = f"{switches} x {len(order)} redraws, last {points:,} points a trace"
        stages.append(("after switching windows", memory_kb(process.pid), note))
        page.close()
        return stages
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=72.0, help="hours in the full buffer")
    parser.add_argument("--baseline-hours", type=float, default=1.0, help="the idle server's")
    parser.add_argument("--switches", type=int, default=2, help="rounds through the windows")
    parser.add_argument("--no-browser", action="store_true", help="skip the page stages")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; MB = 10^6 bytes"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.no_browser or not Path(CHROMIUM).exists():
            runs = [
                (h, measure(h, tmp, args.switches, None)) for h in (args.baseline_hours, args.hours)
            ]
        else:
            from playwright.sync_api import sync_playwright

            from tests.browser import launch_chromium

            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                runs = []
                for h in (args.baseline_hours, args.hours):
                    runs.append((h, measure(h, tmp, args.switches, browser)))
                browser.close()
        for hours, stages in runs:
            results[hours] = stages
            print(f"\nReplay of {hours:g} h at 1 Hz, --speed 0 (server VmRSS / VmHWM)")
            for stage, mem, note in stages:
                print(
                    f"  {stage:<26} {megabytes(mem['VmRSS']):>6.0f} / "
                    f"{megabytes(mem['VmHWM']):>6.0f} MB  {note}"
                )
    base = results[args.baseline_hours][-1][1]
    full = results[args.hours][-1][1]
    peak = megabytes(full["VmHWM"])
    reached = next(st for st, mem, _ in results[args.hours] if mem["VmHWM"] == full["VmHWM"])
    print(
        f"\npeak RSS at a full {args.hours:g} h buffer, page open: {peak:.0f} MB, reached by "
        f"'{reached}' (RSS at the end {megabytes(full['VmRSS']):.0f} MB); idle server "
        f"({args.baseline_hours:g} h replayed, page open): peak {megabytes(base['VmHWM']):.0f} MB, "
        f"RSS {megabytes(base['VmRSS']):.0f} MB; ratio {full['VmHWM'] / base['VmHWM']:.2f} "
        f"(peak), {full['VmRSS'] / base['VmRSS']:.2f} (RSS); target <= {TARGET_MB:.0f} MB: "
        + ("met" if peak <= TARGET_MB else "NOT met")
    )
    print(
        f"reproduce: .venv/bin/python benchmarks/bench_memory.py --hours {args.hours:g} "
        f"--baseline-hours {args.baseline_hours:g} --switches {args.switches}"
    )
    return 0 if peak <= TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
