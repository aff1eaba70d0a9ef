"""Soak: simulated hours through a real pty into the live monitor, with the page open.

The simulator's scenarios (a mix, one circuit after another, or one scenario) are
streamed as key=value lines at ``--speed`` times real time through a socat pty pair
into a real ``ecmo-monitor run --serial`` process (buffer, incremental engine, recorder,
SQLite store), with the bedside page open in headless Chromium the whole time. Checks:

- frames sent == frames the monitor counted == rows in the recording (none rejected);
- memory stays bounded: the monitor's VmRSS and peak (VmHWM) at simulated hours 1, the
  middle and the end, and the page's JS heap;
- no alert missed: the live alarm log, as episodes per rule and priority, against
  ``rules.analyze`` (the batch engine) run over the recording afterwards.

A live session runs on arrival time, so the recording's clock is real time and the
stream is ``--speed`` times denser than the simulated hours. The rules' timers (on- and
off-delays, the baseline and flow windows, the freeze after a gap) are divided by the
speed through a site settings file, so each simulated scenario unfolds for the rules as
it would at the bedside; both engines get the same file. The "no data" watchdog keeps
its real 5 s. Reproduce with:

    .venv/bin/python benchmarks/soak.py --hours 24 --speed 100 [--scenario mix] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from adapters import TelemetryError  # noqa: E402
from adapters.contract import EVENT  # noqa: E402
from adapters.csv_reader import read_recording  # noqa: E402
from adapters.simulator import simulate, stream_to_port  # noqa: E402
from rules import Priority, analyze, default_config, load_config  # noqa: E402
from rules.episodes import EpisodeTracker  # noqa: E402
from tests.browser import free_port, start_monitor, stop, wait_for_http  # noqa: E402
from tests.test_cli_serial import kill_socat, start_socat  # noqa: E402

#: One circuit after another, alerting stories first, so a short run still has alerts.
MIX = (
    "drainage_insufficiency",
    "return_line_kink",
    "gradual_oxygenator_thrombosis",
    "pump_head_thrombosis",
    "oxygenator_exchange",
    "stable",
)
MIN_SEGMENT_H = 1.5  # the simulator's stories need 90 min each
#: Start times of matching episodes may differ by this much (real seconds).
MATCH_TOLERANCE_S = 1.0
LEVEL = {"low": 1, "medium": 2, "high": 3}


# -- the data -----------------------------------------------------------------------------
def telemetry(scenario: str, hours: float, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """``hours`` of 1 Hz telemetry: one scenario, or the mix as successive circuits."""
    if scenario != "mix":
        return simulate(scenario, duration_s=hours * 3600, seed=seed), [scenario]
    count = max(1, min(len(MIX), int(hours // MIN_SEGMENT_H)))
    segment_s = hours * 3600 / count
    start = 1_767_254_400.0
    parts = []
    for k, name in enumerate(MIX[:count]):
        part = simulate(name, duration_s=segment_s, start=start + k * segment_s, seed=seed + k)
        if k and not part[EVENT].iloc[0]:  # a new circuit: its own delta P baseline
            part.loc[part.index[0], EVENT] = "circuit_change"
        parts.append(part)
    return pd.concat(parts, ignore_index=True), list(MIX[:count])


def scaled_settings(speed: float, path: Path) -> Path:
    """A site settings file with every rule timer divided by ``speed`` (not data_stale)."""
    lines = []
    for section, keys in default_config().to_dict().items():
        if section == "data_stale":
            continue
        scaled = {
            k: v / speed
            for k, v in keys.items()
            if isinstance(v, float) and (k.endswith("_s") or k.endswith("_min"))
        }
        if scaled:
            lines.append(f"[{section}]")
            lines += [f"{k} = {v!r}" for k, v in scaled.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- measuring the running monitor ----------------------------------------------------------
def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def page_figures(page) -> dict:
    return page.evaluate(
        """() => ({
            heap: performance.memory ? performance.memory.usedJSHeapSize : null,
            counts: document.querySelector('#frame-counts')?.innerText,
            points: document.querySelector('#trends .js-plotly-plot')?.data?.[0]?.x?.length,
        })"""
    )


# -- comparing alerts -------------------------------------------------------------------------
def live_episodes(log_rows, levels_of: dict[str, set[int]]) -> list[tuple[str, str, float]]:
    """(rule, priority, start) per episode and level reached, from the alarm log's rows."""
    trackers: dict[str, EpisodeTracker] = {}
    level: Counter = Counter()
    for t, rule, priority, state in log_rows:
        if state not in ("active", "cleared"):
            continue  # pending, normal, acknowledged: not a change of the alert's level
        tracker = trackers.setdefault(
            rule, EpisodeTracker(rule, "", tuple(sorted(levels_of.get(rule, {1, 2, 3}))))
        )
        new = LEVEL[priority] if state == "active" else 0
        tracker.change(t, level[rule], new, lambda lv: "", lambda lv: None)
        level[rule] = new
    return sorted(
        (e.rule, str(e.priority), e.start) for tr in trackers.values() for e in tr.episodes()
    )


def compare(batch, live) -> dict:
    """Match episodes by rule, priority and start time; what each side has alone."""
    unmatched_live = list(live)
    matched, missed = [], []
    for rule, priority, start in batch:
        best = min(
            (e for e in unmatched_live if e[0] == rule and e[1] == priority),
            key=lambda e: abs(e[2] - start),
            default=None,
        )
        if best is not None and abs(best[2] - start) <= MATCH_TOLERANCE_S:
            unmatched_live.remove(best)
            matched.append(abs(best[2] - start))
        else:
            missed.append((rule, priority, start))
    return {"matched": matched, "missed": missed, "extra": unmatched_live}


# -- the run ----------------------------------------------------------------------------------
def soak(args) -> int:
    if shutil.which("socat") is None:
        print("soak: needs socat (apt-get install socat)", file=sys.stderr)
        return 2
    try:
        frame, scenarios = telemetry(args.scenario, args.hours, args.seed)
    except TelemetryError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(
        f"soak: {args.hours:g} simulated hours ({len(frame):,} frames of {', '.join(scenarios)}) "
        f"at {args.speed:g}x = {len(frame) / args.speed / 60:.1f} min, "
        f"{'page open in Chromium' if not args.no_browser else 'no browser'}"
    )
    marks = sorted({min(1.0, args.hours), args.hours / 2, args.hours})  # simulated hours
    with tempfile.TemporaryDirectory(prefix="ecmo-soak-") as tmp_name:
        tmp = Path(args.keep) if args.keep else Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        data_dir = tmp / "data"
        settings = scaled_settings(args.speed, tmp / "soak.toml")
        console, port_path = tmp / "console", tmp / "monitor"
        pair = start_socat(console, port_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        process = start_monitor(
            ["run", "--serial", str(port_path), "--profile", "keyvalue", "--data-dir",
             str(data_dir), "--port", str(port), "--config", str(settings)],
            tmp / "server.log",
        )  # fmt: skip
        sent = {"rows": 0, "error": None}
        stop_stream = threading.Event()

        def stream() -> None:
            try:
                sent["rows"] = stream_to_port(
                    frame, str(console), "keyvalue", speed=args.speed, stop=stop_stream
                )
            except Exception as exc:  # reported below
                sent["error"] = exc

        samples: dict[float, dict] = {}
        playwright = browser = page = None
        started = time.monotonic()
        try:
            wait_for_http(url, process=process)
            streamer = threading.Thread(target=stream, daemon=True)
            streamer.start()
            started = time.monotonic()
            if not args.no_browser:
                from playwright.sync_api import sync_playwright

                from tests.browser import launch_chromium

                playwright = sync_playwright().start()
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.wait_for_selector("#trends .js-plotly-plot", timeout=60_000)
            pending = list(marks)
            ended = None
            while True:
                status = requests.get(url + "api/status", timeout=30).json()
                if process.poll() is not None:
                    raise RuntimeError(f"the monitor exited ({process.returncode})")
                done = not streamer.is_alive()
                while pending and (
                    status["good_frames"] >= round(pending[0] / args.hours * len(frame))
                    or (done and status["good_frames"] >= sent["rows"])
                ):
                    hour = pending.pop(0)
                    samples[hour] = {**memory_kb(process.pid), "frames": status["good_frames"]}
                    if page is not None:
                        samples[hour].update(page_figures(page))
                    print(
                        f"  simulated hour {hour:g}: {samples[hour]['frames']:,} frames, "
                        f"VmRSS {samples[hour]['VmRSS'] / 1024:.0f} MiB, "
                        f"VmHWM {samples[hour]['VmHWM'] / 1024:.0f} MiB",
                        flush=True,
                    )
                if done:
                    ended = ended or time.monotonic()
                    caught_up = status["good_frames"] >= sent["rows"]
                    if caught_up or sent["error"] or time.monotonic() - ended > 60:
                        break
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            if sent["error"] is not None:
                raise sent["error"]
            time.sleep(2)  # the last frames through the engine, the page one more refresh
            final = requests.get(url + "api/status", timeout=30).json()
            final_page = page_figures(page) if page is not None else {}
        finally:
            stop_stream.set()
            if browser is not None:
                browser.close()
            if playwright is not None:
                playwright.stop()
            stop(process)
            kill_socat(pair, console, port_path)

        recording_path = next((data_dir / "recordings").glob("*.csv"))
        recording = read_recording(recording_path)
        db = sqlite3.connect(data_dir / "ecmo-monitor.db")
        log_rows = db.execute(
            "SELECT time, rule, priority, state FROM alarm_log ORDER BY id"
        ).fetchall()
        db.close()
        server_log = (tmp / "server.log").read_text(errors="replace")

    # -- figures -------------------------------------------------------------------------
    config = _scaled_config(args.speed)  # the same settings the monitor ran with
    batch = analyze(recording.data, config=config)
    clinical = [e for e in batch.episodes if e.rule != "data_stale"]
    levels_of: dict[str, set[int]] = {}
    for e in clinical:
        levels_of.setdefault(e.rule, set()).add(Priority(e.priority).level)
    for _t, rule, priority, state in log_rows:
        if state == "active":
            levels_of.setdefault(rule, set()).add(LEVEL[priority])
    live_all = live_episodes(log_rows, levels_of)
    live = [e for e in live_all if e[0] != "data_stale"]
    stale_live = [e for e in live_all if e[0] == "data_stale"]
    batch_eps = sorted((e.rule, str(e.priority), e.start) for e in clinical)
    result = compare(batch_eps, live)

    rows = len(recording.data)
    ok_frames = sent["rows"] == final["good_frames"] == rows and recording.report.rejected_rows == 0
    print(f"frames sent {sent['rows']:,}, counted {final['good_frames']:,}, recorded {rows:,}, "
          f"rejected by the monitor {final['bad_frames']}, rejected on replay "
          f"{recording.report.rejected_rows}: {'OK' if ok_frames else 'MISMATCH'}")  # fmt: skip
    print(f"stream: {elapsed:.0f} s wall for {args.hours:g} h ({args.hours * 3600 / elapsed:.0f}x)")
    print("memory of the monitor process (peak RSS = VmHWM):")
    for hour, sample in samples.items():
        extra = ""
        if sample.get("heap"):
            extra = (
                f", page JS heap {sample['heap'] / 2**20:.0f} MiB, trace points {sample['points']}"
            )
        print(
            f"  hour {hour:>4g}: VmRSS {sample['VmRSS'] / 1024:6.0f} MiB, "
            f"VmHWM {sample['VmHWM'] / 1024:6.0f} MiB{extra}"
        )
    if final_page:
        print(f"  page at the end: {final_page.get('counts')}")
    counts_batch = Counter((r, p) for r, p, _ in batch_eps)
    counts_live = Counter((r, p) for r, p, _ in live)
    print(
        "alert episodes per rule and priority: batch (rules.analyze on the recording) vs live log"
    )
    for key in sorted(set(counts_batch) | set(counts_live)):
        print(
            f"  {key[0]:<24} {key[1]:<7} batch {counts_batch[key]:>3}  live {counts_live[key]:>3}"
        )
    worst = max(result["matched"], default=0.0)
    print(
        f"matched {len(result['matched'])} of {len(batch_eps)} batch episodes "
        f"(start times within {worst:.3f} s); missed by the live path: {len(result['missed'])}; "
        f"live only: {len(result['extra'])}"
    )
    for rule, priority, start in result["missed"]:
        print(f"  MISSED {rule} {priority} at {pd.Timestamp(start, unit='s', tz='UTC')}")
    for rule, priority, start in result["extra"]:
        print(f"  live only: {rule} {priority} at {pd.Timestamp(start, unit='s', tz='UTC')}")
    print(f"technical 'no data' episodes in the live log: {len(stale_live)} "
          f"(batch gaps over {config.data_stale.recording_gap_s:g} s: {len(batch.gaps)})")  # fmt: skip
    tracebacks = server_log.count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")
    print(
        f"reproduce: .venv/bin/python benchmarks/soak.py --hours {args.hours:g} "
        f"--speed {args.speed:g} --scenario {args.scenario} --seed {args.seed}"
        + (" --no-browser" if args.no_browser else "")
    )
    healthy = ok_frames and not result["missed"] and not tracebacks
    return 0 if healthy else 1


def _scaled_config(speed: float):
    with tempfile.TemporaryDirectory() as tmp:
        return load_config(scaled_settings(speed, Path(tmp) / "soak.toml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--speed", type=float, default=100.0, help="times real time (default 100)")
    parser.add_argument(
        "--scenario",
        default="mix",
        help="a simulator scenario, or mix (default): one after another",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true", help="without the page in Chromium")
    parser.add_argument("--keep", metavar="DIR", help="keep the data directory and log here")
    args = parser.parse_args()
    if args.hours <= 0 or args.speed <= 0:
        parser.error("--hours and --speed must be positive")
    signal.signal(signal.SIGTERM, _interrupted)  # clean up the monitor, socat and Chromium
    return soak(args)


def _interrupted(_signum, _frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
