"""The canonical CSV format that recordings are written in (and that replays as it is)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .contract import CANONICAL_COLUMNS, EVENT, NUMERIC_COLUMNS, TIMESTAMP, Frame, format_timestamp

HEADER_LINE = ",".join(CANONICAL_COLUMNS) + "\n"
#: Cells a spreadsheet would run as a formula start so (OWASP's list, plus the
#: full-width forms some locales also take as formula signs).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: What makes a text cell inert: a leading apostrophe, which spreadsheets hide.
INERT_MARK = "'"


def inert_text(text: str) -> str:
    """A text cell a spreadsheet shows and never runs; :func:`text_of_cell` undoes it.

    A text that already starts with the mark gets one more, so every text round-trips.
    """
    return INERT_MARK + text if text.startswith((*FORMULA_START, INERT_MARK)) else text


def text_of_cell(cell: str) -> str:
    """The text a recording's cell holds (see :func:`inert_text`)."""
    return cell[1:] if cell.startswith(INERT_MARK) else cell


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
    value = inert_text(value)
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
    out[EVENT] = out[EVENT].fillna("").astype("str").map(inert_text)
    ts = pd.DatetimeIndex(out[TIMESTAMP])
    if ts.tz is None:
        ts = ts.tz_localize("UTC")
    out = out.assign(
        **{TIMESTAMP: ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "+00:00"}
    )
    out.to_csv(path, index=False, lineterminator="\n")
