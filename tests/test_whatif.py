"""What-if thresholds: stricter settings never give more alert episodes on the same file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from adapters.csv_reader import read_recording
from rules import analyze, default_config

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
#: (section, key, direction): +1 when a larger number is stricter (fewer alerts).
STRICTER = (
    ("delta_p_rise", "medium_mmhg", +1),
    ("delta_p_rise", "high_mmhg", +1),
    ("flow_drop", "medium_pct", +1),
    ("flow_drop", "high_pct", +1),
    ("drainage_pressure_low", "medium_mmhg", -1),
    ("drainage_pressure_low", "high_mmhg", -1),
    ("post_oxy_pressure_high", "medium_mmhg", +1),
    ("post_oxy_pressure_high", "high_mmhg", +1),
    ("hemolysis", "pfhb_medium_mg_dl", +1),
    ("hemolysis", "pfhb_high_mg_dl", +1),
)


@cache
def recording(name: str):
    return read_recording(SAMPLES / name).data


def counts(data, config) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for episode in analyze(data, config).episodes:
        key = (episode.rule, str(episode.priority))
        out[key] = out.get(key, 0) + 1
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.csv")))
def test_higher_thresholds_never_give_more_episodes(name):
    data = recording(name)
    base = default_config()
    settings = base.to_dict()
    lower, higher = {}, {}
    for section, key, direction in STRICTER:
        value = settings[section][key]
        lower.setdefault(section, {})[key] = value * (
            1 - 0.2 * direction * (1 if value > 0 else -1)
        )
        higher.setdefault(section, {})[key] = value * (
            1 + 0.2 * direction * (1 if value > 0 else -1)
        )
    lenient = counts(data, base.override(lower, "lower"))
    strict = counts(data, base.override(higher, "higher"))
    in_force = counts(data, base)
    for key in set(lenient) | set(strict) | set(in_force):
        assert strict.get(key, 0) <= in_force.get(key, 0) <= lenient.get(key, 0), (name, key)
