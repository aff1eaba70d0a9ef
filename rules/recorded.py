"""Running the incremental engine over a recorded DataFrame, as a replay would.

:func:`frames_from` turns canonical rows into :class:`adapters.contract.Frame` objects
(NaN cells left out, delta P derived and artifacts marked by ``Frame.build``), and
:func:`analyze_incremental` feeds them to an :class:`IncrementalEngine` and returns the
same :class:`Analysis` as :func:`rules.analyze`, so the command line can offer both
engines and the tests can check that they agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from adapters import EVENT, NUMERIC_COLUMNS, TIMESTAMP, Frame, epoch_seconds

from .config import RulesConfig, default_config
from .hemolysis import lab_table
from .incremental import IncrementalEngine
from .result import Analysis


def frames_from(data: pd.DataFrame) -> Iterator[Frame]:
    """The rows of a canonical DataFrame as frames, in time order (stable)."""
    if not len(data):
        return
    seconds = epoch_seconds(data[TIMESTAMP])
    order = np.argsort(seconds, kind="stable")
    channels = [name for name in NUMERIC_COLUMNS if name in data.columns]
    values = data[channels].to_numpy(dtype="float64", na_value=np.nan)
    events = data[EVENT].fillna("").astype("str").tolist() if EVENT in data.columns else None
    for i in order.tolist():
        row = {name: v for name, v in zip(channels, values[i].tolist(), strict=True) if v == v}
        yield Frame.build(float(seconds[i]), row, events[i] if events else None)


def analyze_incremental(
    data: pd.DataFrame,
    config: RulesConfig | None = None,
    labs: pd.DataFrame | None = None,
    weight_kg: float | None = None,
) -> Analysis:
    """:func:`rules.analyze`, computed by the incremental engine a frame at a time.

    A result of ``labs`` is passed on after every frame at or before its time, as the
    batch engine orders a table result after the recording's own results at one time.
    """
    config = config or default_config()
    engine = IncrementalEngine(config, weight_kg)
    pending = sorted(lab_table(labs), key=lambda r: r[0]) if labs is not None else []
    artifacts, first, last = 0, None, None
    forecasts, hour = [], None
    for frame in frames_from(data):
        if hour is None:
            hour = math.ceil(frame.timestamp / 3600.0) * 3600.0
        while hour <= frame.timestamp:  # as the live monitor had it just before the hour
            forecasts += engine.forecasts(hour)
            hour += 3600.0
        while pending and pending[0][0] < frame.timestamp:
            t, name, value = pending.pop(0)
            engine.add_lab(name, value, t)
        engine.process(frame)
        artifacts += frame.artifacts.bit_count()
        first = frame.timestamp if first is None else first
        last = frame.timestamp
    for t, name, value in pending:
        engine.add_lab(name, value, t)
    return Analysis(
        episodes=tuple(engine.episodes()),
        baselines=tuple(engine.baselines()),
        samples=engine.frames,
        start=first,
        end=last,
        artifacts=artifacts,
        gaps=tuple(engine.gaps),
        config=config,
        forecasts=tuple(forecasts),
    )
