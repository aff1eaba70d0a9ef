"""The canonical CSV format that recordings are written in (and that replays as it is)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .contract import CANONICAL_COLUMNS, NUMERIC_COLUMNS, TIMESTAMP, Frame, format_timestamp

HEADER_LINE = ",".join(CANONICAL_COLUMNS) + "\n"


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # repr of a float round-trips exactly, so a replay equals what was recorded
    return (
        repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))
    )


def _text(value: str | None) -> str:
    if not value:
        return ""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""').replace("\n", " ").replace("\r", " ") + '"'
    return value


def format_frame_row(frame: Frame) -> str:
    """One canonical CSV line (with newline) for a frame; raw values, artifacts included."""
    cells = [format_timestamp(frame.timestamp)]
    values = frame.values
    cells.extend(_number(values.get(name)) for name in NUMERIC_COLUMNS)
    cells.append(_text(frame.event))
    return ",".join(cells) + "\n"


def write_dataframe(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame (``timestamp`` tz-aware, canonical columns) as a canonical CSV."""
    out = frame.reindex(columns=list(CANONICAL_COLUMNS))
    ts = pd.DatetimeIndex(out[TIMESTAMP])
    if ts.tz is None:
        ts = ts.tz_localize("UTC")
    out = out.assign(
        **{TIMESTAMP: ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "+00:00"}
    )
    out.to_csv(path, index=False, lineterminator="\n")
