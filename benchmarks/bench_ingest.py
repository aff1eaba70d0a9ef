"""Ingest benchmark: the CSV source on a 7-day 1 Hz recording, and buffer append cost.

Prints each figure beside a bare baseline measured in the same run, and the ratio, since
these machines are noisy. Reproduce with:

    .venv/bin/python benchmarks/bench_ingest.py [--days 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import Frame  # noqa: E402
from adapters.csv_reader import read_recording  # noqa: E402
from adapters.recording import write_dataframe  # noqa: E402
from adapters.replay import ReplaySource  # noqa: E402
from adapters.simulator import simulate  # noqa: E402
from monitor.runtime import TelemetryBuffer  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


def recording(days: float) -> Path:
    path = OUT / f"stable_{days:g}d.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_dataframe(simulate("stable", duration_s=days * 86400, seed=7), path)
        print(f"  (simulated {path.name} in {time.perf_counter() - started:.1f} s)")
    return path


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_csv(path: Path, repeat: int) -> None:
    rows = len(pd.read_csv(path, engine="pyarrow", usecols=["timestamp"]))
    size_mb = path.stat().st_size / 1e6
    print(f"CSV source, {path.name}: {rows:,} rows, {size_mb:.0f} MB")
    bare = best_of(repeat, lambda: pd.read_csv(path, engine="pyarrow"))
    ours = best_of(repeat, lambda: read_recording(path))
    print(
        f"  pandas.read_csv(engine='pyarrow')   {bare:6.2f} s  {rows / bare:12,.0f} rows/s   (baseline)"
    )
    print(
        f"  adapters read_recording (validated) {ours:6.2f} s  {rows / ours:12,.0f} rows/s   "
        f"ratio {ours / bare:.2f}x"
    )
    loaded = read_recording(path)

    def replay() -> None:
        count = 0

        def on_frame(_frame) -> None:
            nonlocal count
            count += 1

        source = ReplaySource(loaded, speed=0)
        source.start(on_frame)
        source.join()
        assert count == rows

    replay_s = best_of(1, replay)
    print(
        f"  replay as fast as possible, frames   {replay_s:6.2f} s  {rows / replay_s:12,.0f} frames/s "
        f"ratio {replay_s / bare:.2f}x of the bare read"
    )


def bench_buffer(appends: int) -> None:
    print(f"Buffer append, {appends:,} frames timed after filling to the given age (1 Hz)")
    values = {
        "pump_speed_rpm": 3200.0,
        "blood_flow_lpm": 4.2,
        "p_venous_mmhg": -40.0,
        "p_pre_oxy_mmhg": 210.0,
        "p_post_oxy_mmhg": 188.0,
        "sweep_gas_lpm": 4.0,
        "svo2_pct": 72.0,
    }
    frames = [Frame.build(1.7e9 + i, values) for i in range(appends)]
    results = {}
    for hours in (1, 72):
        buffer = TelemetryBuffer()
        filler = Frame.build(1.6e9, values)
        for _ in range(hours * 3600):
            buffer.append(filler)
        started = time.perf_counter()
        for frame in frames:
            buffer.append(frame)
        results[hours] = (time.perf_counter() - started) / appends
    floor = np.zeros((appends, 15))
    row = np.arange(15, dtype=float)
    started = time.perf_counter()
    for i in range(appends):
        floor[i] = row
    bare = (time.perf_counter() - started) / appends
    naive_n = 2000
    started = time.perf_counter()
    df = pd.DataFrame([values])
    for _ in range(naive_n):
        df = pd.concat([df, pd.DataFrame([values])], ignore_index=True)
    naive = (time.perf_counter() - started) / naive_n
    print(f"  bare numpy row assignment            {bare * 1e6:8.2f} us/frame   (floor)")
    for hours, cost in results.items():
        print(
            f"  TelemetryBuffer.append at {hours:2d} h fill  {cost * 1e6:8.2f} us/frame   ratio {cost / bare:.1f}x floor"
        )
    print(
        f"  naive pandas.concat per frame        {naive * 1e6:8.2f} us/frame   (at only {naive_n} rows)"
    )
    print(f"  72 h / 1 h append cost: {results[72] / results[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--appends", type=int, default=100_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, pandas {pd.__version__}"
    )
    bench_csv(recording(args.days), args.repeat)
    bench_buffer(args.appends)
    print(
        f"reproduce: .venv/bin/python benchmarks/bench_ingest.py --days {args.days:g} --repeat {args.repeat}"
    )


if __name__ == "__main__":
    main()
