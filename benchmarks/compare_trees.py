"""Two checkouts' ``ecmo-monitor analyze`` on one recording, alternated with a bare read.

For before/after figures on a noisy machine: each round runs a fresh process that only
does ``pandas.read_csv(FILE, engine="pyarrow")``, then ``python -m monitor.cli analyze
FILE --format json`` in each tree (its own code first on the path), after one untimed
warm-up round; it prints the best and the median of each and their ratios to the read.

    .venv/bin/python benchmarks/compare_trees.py OLD_TREE NEW_TREE FILE.csv [--rounds 15]

(``git worktree add /tmp/old <commit>`` makes OLD_TREE; ``bench_rules.py`` writes a 7-day
recording, or ``ecmo-monitor simulate acute_oxygenator_clot --duration 168 --out F``.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
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
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(args.rounds + 1):
        for name, (command, tree) in commands.items():
            run_env = dict(env)
            if tree is not None:
                run_env["PYTHONPATH"] = str(tree)
            began = time.perf_counter()
            subprocess.run(
                command, cwd=tree or Path.cwd(), env=run_env, check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            if round_:
                times[name].append(time.perf_counter() - began)
    read = times["bare read"]
    for name, spent in times.items():
        best, median = min(spent), statistics.median(spent)
        ratio = (
            f" (ratio {best / min(read):.2f} best, {median / statistics.median(read):.2f} median)"
        )
        print(
            f"{name}: best {best:.2f} s, median {median:.2f} s" + ("" if spent is read else ratio)
        )
    print(f"reproduce: .venv/bin/python benchmarks/compare_trees.py {args.old} {args.new} "
          f"{args.recording} --rounds {args.rounds}")  # fmt: skip


if __name__ == "__main__":
    main()
