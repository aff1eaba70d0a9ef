"""A recording as the batch engine's rules read it: clean columns, events, and labs.

:class:`Columns` takes the canonical DataFrame (``adapters.contract`` columns; an
``artifact_mask`` column is honoured when present, plausible ranges are always checked)
and keeps every channel twice: as sent (``raw``, delta P derived where absent, as
``Frame.build`` does) and as a rule may see it (``clean``: missing values, artifacts and
implausible values NaN, by ``adapters.contract.clean_column``, the array form of the
``clean_value`` the incremental engine uses). Rows are taken in time order (a stable
sort if they are not); the incremental engine ignores a frame older than the one
before, so it is fed the same sorted rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapters import (
    EVENT,
    NUMERIC_COLUMNS,
    TIMESTAMP,
    TelemetryError,
    clean_column,
    epoch_seconds,
)

ARTIFACT_MASK = "artifact_mask"


class Columns:
    """The recording's channels, raw and clean, its times, its events and its lab table.

    ``seconds`` are POSIX seconds and ``times_us`` the same in integer microseconds (the
    time unit of every window and timer comparison). ``event_rows`` are the rows with an
    event and ``event_kinds`` its normalised text. ``labs`` is the separate lab table
    handed to the analysis, if any (``timestamp, analyte, value[, unit]``).
    ``artifacts`` counts the values present but not usable.
    """

    def __init__(self, data: pd.DataFrame, labs: pd.DataFrame | None = None) -> None:
        if TIMESTAMP not in data.columns:
            raise TelemetryError("The data to analyse has no timestamp column.")
        self.labs = labs
        #: what several rules derive from the same columns, worked out once (delta_p.py)
        self.memo: dict = {}
        seconds = epoch_seconds(data[TIMESTAMP]) if len(data) else np.empty(0)
        order = None
        if seconds.size > 1 and (np.diff(seconds) < 0).any():
            order = np.argsort(seconds, kind="stable")
            seconds = seconds[order]
        self.n = seconds.size
        self.seconds = seconds
        self.times_us = np.round(seconds * 1e6).astype(np.int64)

        def column(name: str, dtype: str, fill):
            if name not in data.columns:
                return np.full(self.n, fill, dtype=dtype)
            values = data[name].to_numpy(dtype=dtype, na_value=fill)
            return values if order is None else values[order]

        mask = column(ARTIFACT_MASK, "int64", 0)
        self.raw = raw = {name: column(name, "float64", np.nan) for name in NUMERIC_COLUMNS}
        sent = raw["delta_p_mmhg"]  # derived when absent, as Frame.build does
        raw["delta_p_mmhg"] = np.where(
            np.isnan(sent), raw["p_pre_oxy_mmhg"] - raw["p_post_oxy_mmhg"], sent
        )
        # events are sparse: keep the rows that have one, and their normalised text
        self.event_rows = np.empty(0, dtype=np.int64)
        self.event_kinds: list[str] = []
        if EVENT in data.columns:
            text = data[EVENT].fillna("").astype("str")
            if order is not None:
                text = text.iloc[order]
            rows = np.flatnonzero(text.str.len().to_numpy(dtype="int64", na_value=0) > 0)
            kinds = [str(k).strip().lower() for k in text.iloc[rows].tolist()]
            keep = [i for i, k in enumerate(kinds) if k]
            self.event_rows = rows[keep]
            self.event_kinds = [kinds[i] for i in keep]
        marked = mask if mask.any() else None
        self.artifacts = 0
        self.clean: dict[str, np.ndarray] = {}
        for name, values in raw.items():
            clean = clean_column(values, name, marked)
            present = np.count_nonzero(~np.isnan(values))
            self.artifacts += present - (
                present if clean is values else np.count_nonzero(~np.isnan(clean))
            )
            self.clean[name] = clean

    def valid(self, name: str) -> np.ndarray:
        """Whether each row has a usable value of channel ``name``."""
        return ~np.isnan(self.clean[name])


def stretch(rows: np.ndarray) -> slice | np.ndarray:
    """``rows`` (ascending, distinct) as a slice when they are one unbroken stretch (a
    recording with every value valid), so that taking them from a column is a view, not
    a copy as long as the recording; else ``rows`` themselves."""
    if rows.size and int(rows[-1]) - int(rows[0]) + 1 == rows.size:
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows
