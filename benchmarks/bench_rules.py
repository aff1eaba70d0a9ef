"""Benchmark of the rules engines (issue 3), self-contained.

Builds a 7-day, 1 Hz simulator recording (the ``acute_oxygenator_clot`` story, so the
rules have work to do) in a temporary directory, then measures:

- batch: reading the CSV and running ``rules.analyze`` in a fresh Python process, beside
  a fresh process that only does ``pandas.read_csv(FILE, engine="pyarrow")``; the ratio
  (target at most 2). When the command line has ``ecmo-monitor analyze``, that whole
  command is timed too. Each figure is the best of ``--repeat`` runs.
- ``rules.analyze`` alone, in this process, on the DataFrame already in memory.
- incremental: ``IncrementalEngine.process`` frames per second over the first day and
  over all 7 days (target at least 20,000 frames/s, the 7-day rate within 20 % of the
  1-day rate). Frames are built in chunks outside the timed region, as a source would
  deliver them.

Run from the repository root:

    .venv/bin/python benchmarks/bench_rules.py [--days 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.csv_reader import read_recording  # noqa: E402
from adapters.simulator import simulate, write_csv  # noqa: E402
from rules import IncrementalEngine, analyze, frames_from  # noqa: E402

SCENARIO = "acute_oxygenator_clot"
DAY = 86400


def fresh(code: str, repeat: int) -> float:
    """Best wall time (s) of ``python -c code`` in a fresh process."""
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        best = min(best, time.perf_counter() - began)
    return best


def fresh_command(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - began)
    return best


def cli_has_analyze() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", "--help"],
        cwd=ROOT,
        capture_output=True,
    )
    return done.returncode == 0


def incremental_rate(data, seconds: int, chunk: int = 20_000) -> tuple[float, list[float]]:
    """Frames/s of ``process`` over the first ``seconds`` rows; also the rate per day."""
    engine = IncrementalEngine()
    frames = frames_from(data.iloc[:seconds])
    spent, done, per_day, day_spent, day_done = 0.0, 0, [], 0.0, 0
    while True:
        batch = list(islice(frames, chunk))
        if not batch:
            break
        process = engine.process
        began = time.perf_counter()
        for frame in batch:
            process(frame)
        took = time.perf_counter() - began
        spent, done = spent + took, done + len(batch)
        day_spent, day_done = day_spent + took, day_done + len(batch)
        if day_done >= DAY:
            per_day.append(day_done / day_spent)
            day_spent, day_done = 0.0, 0
    return done / spent, per_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seconds = args.days * DAY

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{SCENARIO}-{args.days}d.csv"
        began = time.perf_counter()
        write_csv(SCENARIO, path, duration_s=float(seconds), seed=0)
        size = path.stat().st_size / 1e6
        print(f"recording: {path.name}, {seconds} rows, {size:.0f} MB, "
              f"written in {time.perf_counter() - began:.1f} s")  # fmt: skip

        read_only = fresh(
            f"import pandas; pandas.read_csv({str(path)!r}, engine='pyarrow')", args.repeat
        )
        whole = fresh(
            "from adapters.csv_reader import read_recording; from rules import analyze; "
            f"analyze(read_recording({str(path)!r}).data)",
            args.repeat,
        )  # fmt: skip
        print(f"fresh process, pandas.read_csv(engine='pyarrow') only: {read_only:.2f} s")
        print(f"fresh process, read_recording + analyze:            {whole:.2f} s "
              f"(ratio {whole / read_only:.2f}, target <= 2)")  # fmt: skip
        if cli_has_analyze():
            cli = fresh_command(
                [sys.executable, "-m", "monitor.cli", "analyze", str(path), "--format", "json"],
                args.repeat,
            )
            print(f"fresh process, ecmo-monitor analyze --format json:  {cli:.2f} s "
                  f"(ratio {cli / read_only:.2f}, target <= 2)")  # fmt: skip
        else:
            print("(the command line has no `analyze` yet: timed the same work with python -c)")

        data = read_recording(path).data
        best = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            analysis = analyze(data)
            best = min(best, time.perf_counter() - began)
        print(f"in process, analyze on the DataFrame:               {best:.2f} s "
              f"({len(analysis.episodes)} episodes)")  # fmt: skip

    one_day, _ = incremental_rate(simulate(SCENARIO, float(DAY)), DAY)
    data = simulate(SCENARIO, float(seconds))
    all_days, per_day = incremental_rate(data, seconds)
    print(f"incremental, 1 day:  {one_day:,.0f} frames/s (target >= 20,000)")
    print(f"incremental, {args.days} days: {all_days:,.0f} frames/s "
          f"({all_days / one_day:.0%} of the 1-day rate, target >= 80 %)")  # fmt: skip
    print("incremental, per day: " + ", ".join(f"{rate:,.0f}" for rate in per_day))
    print(f"reproduce: {Path(sys.executable).name} benchmarks/bench_rules.py --days {args.days}")


if __name__ == "__main__":
    main()
