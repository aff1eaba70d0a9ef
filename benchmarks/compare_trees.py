"""Two checkouts' ``ecmo-monitor analyze`` on one recording, alternated with a bare read.

For before/after figures on a noisy machine: each round runs a fresh process that only
does ``pandas.read_csv(FILE, engine="pyarrow")``, then ``python -m monitor.cli analyze
FILE --format json`` in each tree (its own code first on the path), after one untimed
warm-up round, in an order shuffled each round; it prints the best and the median of each and their ratios to the read,
in wall time and in CPU time (user + system, the child's own), and the median count of
minor page faults (on a virtual machine a fault can cost 5-15 µs, and the count is
repeatable where the times are not).

With ``--incremental-rows N`` it then times the incremental engine in each tree, in
fresh processes taken in turn: ``IncrementalEngine.process`` over the recording's first N
rows (CPU time; the frames are built before the clock starts), and prints frames/s.

    .venv/bin/python benchmarks/compare_trees.py OLD_TREE NEW_TREE FILE.csv [--rounds 15]
        [--also TREE ...] [--incremental-rows 86400 [--incremental-rounds 3]]

(``git worktree add /tmp/old <commit>`` makes OLD_TREE; ``bench_rules.py`` writes a 7-day
recording, or ``ecmo-monitor simulate acute_oxygenator_clot --duration 168 --out F``.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Run in a tree's own code: frames/s of its incremental engine over a recording's first rows.
INCREMENTAL = """
import sys, time
from adapters.csv_reader import read_recording
from rules import IncrementalEngine, frames_from
frames = list(frames_from(read_recording(sys.argv[1]).data.iloc[: int(sys.argv[2])]))
process = IncrementalEngine().process
began = time.process_time()
for frame in frames:
    process(frame)
print(len(frames) / (time.process_time() - began))
"""


def run(command: list[str], cwd: Path | None, env: dict) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and minor page faults of one child process."""
    began = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed (status {status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_minflt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--also", type=Path, action="append", default=[],
                        help="another tree to run in each round")  # fmt: skip
    parser.add_argument("--incremental-rows", type=int, default=0)
    parser.add_argument("--incremental-rounds", type=int, default=3)
    args = parser.parse_args()
    path = str(args.recording.resolve())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="ecmo-bench-pycache-")
    analyze = [sys.executable, "-m", "monitor.cli", "analyze", path, "--format", "json"]
    commands = {
        "bare read": ([sys.executable, "-c", f"import pandas; pandas.read_csv({path!r}, "
                       "engine='pyarrow')"], None),
        f"before ({args.old})": (analyze, args.old.resolve()),
        f"after ({args.new})": (analyze, args.new.resolve()),
        **{f"also ({tree})": (analyze, tree.resolve()) for tree in args.also},
    }  # fmt: skip
    spent: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    order = random.Random(12)  # each round in its own order: no tree always runs after another
    for round_ in range(args.rounds + 1):
        for name in order.sample(list(commands), len(commands)):
            command, tree = commands[name]
            run_env = dict(env)
            if tree is not None:
                run_env["PYTHONPATH"] = str(tree)
            figures = run(command, tree or Path.cwd(), run_env)
            if round_:
                spent[name].append(figures)
    read = spent["bare read"]
    floor = {k: (min(f[k] for f in read), statistics.median(f[k] for f in read)) for k in (0, 1)}
    for name, figures in spent.items():
        parts = []
        for k, label in ((0, "wall"), (1, "CPU")):
            values = [f[k] for f in figures]
            best, median = min(values), statistics.median(values)
            ratio = (
                ""
                if figures is read
                else f" (ratio {best / floor[k][0]:.2f} best, {median / floor[k][1]:.2f} median)"
            )
            parts.append(f"{label} best {best:.2f} s, median {median:.2f} s{ratio}")
        faults = statistics.median(f[2] for f in figures)
        print(f"{name}: " + "; ".join(parts) + f"; {faults:,.0f} minor faults")
    also = "".join(f" --also {tree}" for tree in args.also)
    if args.incremental_rows:
        trees = {name: tree for name, (_, tree) in commands.items() if tree is not None}
        rates: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.incremental_rounds):
            for name in order.sample(list(trees), len(trees)):
                run_env = dict(env, PYTHONPATH=str(trees[name]))
                command = [sys.executable, "-c", INCREMENTAL, path, str(args.incremental_rows)]
                done = subprocess.run(
                    command, cwd=trees[name], env=run_env, check=True, capture_output=True,
                    text=True,
                )  # fmt: skip
                rates[name].append(float(done.stdout.split()[-1]))
        for name, values in rates.items():
            print(
                f"{name}: incremental engine over {args.incremental_rows:,} rows: best "
                f"{max(values):,.0f}, median {statistics.median(values):,.0f} frames/s (CPU)"
            )
        also += f" --incremental-rows {args.incremental_rows}"
        also += f" --incremental-rounds {args.incremental_rounds}"
    print(f"reproduce: .venv/bin/python benchmarks/compare_trees.py {args.old} {args.new} "
          f"{args.recording} --rounds {args.rounds}{also}")  # fmt: skip


if __name__ == "__main__":
    main()
