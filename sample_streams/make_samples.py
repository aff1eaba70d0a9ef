"""Regenerate the sample streams and their README from the simulator, deterministically.

Run from anywhere: ``.venv/bin/python sample_streams/make_samples.py``. Every file is
4 hours at 1 Hz from 2026-01-01T08:00:00+00:00 with seed 0, so running it again gives
byte-identical files (tests/test_simulator.py checks that a sample equals simulate()).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # works without installing the package

from adapters.simulator import SCENARIOS, write_csv  # noqa: E402

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DURATION_S = 4 * 3600
SEED = 0

INTRO = """\
# Sample streams

Simulated recordings of a venovenous ECMO circuit, one per scenario of
`adapters/simulator.py`, in the canonical CSV format (DESIGN.md section 2). Each is
4 hours at 1 Hz (14,400 rows unless rows are missing on purpose), starting
2026-01-01T08:00:00+00:00, seed 0. Regenerate them, byte for byte, with

    .venv/bin/python sample_streams/make_samples.py

(this README is written by the same script from the scenario stories), or any one with
`simulate(name, 4 * 3600, seed=0)`.

What every file has: the first 45 minutes healthy (about 3200 rpm, 4.2 L/min, P1 -45,
P2 200, P3 175, delta P 25 mmHg), so the 30-minute delta P baseline is clean; sensor
noise and slow drift; transducer flushes every 1-2 hours, where one pressure jumps
(pre-oxygenator to 300-450 mmHg, or drainage to +40-90 mmHg) for 2-4 s - shorter than
every on-delay, so they must never alert; a lab row (plasma free Hb, LDH, haptoglobin,
bilirubin) at 20 minutes and every 6 hours after, blank elsewhere; the `event` column
blank except where noted.

How to read the times: minutes from the start of the file. A scheduled happening is at
its time. For a threshold ("delta P +30 mmHg ... (medium)") the time is when the
condition starts and then keeps holding, computed from the noise-free model; the alert
is due one on-delay later (15 s delta P, 10 s flow, 5 s pressures). Noise moves that by
seconds where the change is steep (acute clot, kink) and by up to about 5 minutes where
it is slow (gradual thrombosis, oxygenator exchange, drainage). Lab thresholds are at
the row of the first result past the limit.
delta P rises are against the baseline resistance (delta P / flow, median of the first
30 minutes) times the current flow, as CLINICAL.md asks.

Flows correspond to a 70 kg adult (4.2 L/min = 60 mL/kg/min).

"""


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def readme(sizes: dict[str, int], rows: dict[str, int]) -> str:
    parts = [INTRO]
    parts.append("| file | rows | size |\n| --- | ---: | ---: |\n")
    for name in SCENARIOS:
        parts.append(f"| `{name}.csv` | {rows[name]:,} | {sizes[name] / 1e6:.2f} MB |\n")
    for name, scenario in SCENARIOS.items():
        parts.append(f"\n## `{name}.csv`\n\n{scenario.description}\n\n")
        parts.append("| minute | what happens |\n| ---: | --- |\n")
        for when, text in scenario.story(DURATION_S, seed=SEED):
            parts.append(f"| {_minutes(when)} | {text.replace('|', '/')} |\n")
        if name == "stable":
            parts.append("\nExpected clinical alerts: none.\n")
    return "".join(parts)


def main() -> None:
    sizes, rows = {}, {}
    for name in SCENARIOS:
        path = write_csv(name, HERE / f"{name}.csv", DURATION_S, start=START, seed=SEED)
        sizes[name] = path.stat().st_size
        with path.open() as handle:
            rows[name] = sum(1 for _ in handle) - 1
        print(f"{path.name}: {rows[name]} rows, {sizes[name] / 1e6:.2f} MB", file=sys.stderr)
    (HERE / "README.md").write_text(readme(sizes, rows))


if __name__ == "__main__":
    main()
