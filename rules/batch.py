"""The batch engine: a whole recording at once, vectorised, for QA.

A driver: :func:`analyze` reads the recording into clean columns (``columns.py``) and
asks every rule of ``catalog.RULES`` for its findings over the whole recording (its
module's whole-array half). The result is an :class:`Analysis` with the same episodes
the incremental engine gives on the same rows, to the sample: each rule evaluates the
same definition on whole columns, with the same timing semantics (``timing.debounce``,
``timing.rule_clock``); only the few things that are few are looped over (baseline
segments, stretches where flow_drop holds its reference, lab results, episodes).
"""

from __future__ import annotations

import pandas as pd

from .catalog import RULES, episode_sort_key
from .columns import Columns
from .config import RulesConfig, default_config
from .definition import Setup
from .result import Analysis


def analyze(
    data: pd.DataFrame,
    config: RulesConfig | None = None,
    labs: pd.DataFrame | None = None,
    weight_kg: float | None = None,
) -> Analysis:
    """Every alert episode of a recording, with baselines, gaps and the artifact count.

    ``data`` is the canonical DataFrame (``adapters.contract`` columns; an
    ``artifact_mask`` column is honoured when present). ``labs`` is an optional long
    table ``timestamp, analyte, value[, unit]`` of lab results, judged together with any
    in the recording's lab columns.
    """
    config = config or default_config()
    setup = Setup(config=config, weight_kg=weight_kg)
    cols = Columns(data, labs)
    episodes, baselines, gaps, forecasts = [], [], [], []
    for rule in RULES:
        found = rule.batch(cols, setup)
        episodes += found.episodes
        baselines += found.baselines
        gaps += found.gaps
        forecasts += found.forecasts
    return Analysis(
        episodes=tuple(sorted(episodes, key=episode_sort_key)),
        baselines=tuple(baselines),
        samples=cols.n,
        start=float(cols.seconds[0]) if cols.n else None,
        end=float(cols.seconds[-1]) if cols.n else None,
        artifacts=cols.artifacts,
        gaps=tuple(gaps),
        config=config,
        forecasts=tuple(forecasts),
    )
