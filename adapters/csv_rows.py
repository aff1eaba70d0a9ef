"""The careful read of a recording's body: every record with its line, every problem counted.

Used when the fast typed read refuses a file. A record is a line, or several when a quoted
field holds a line break; a quote left open is a rejected row, not the rest of the file.
A repeat of the header (delimited serial output saved to disk) is skipped. Timestamps are
ISO 8601 or epoch seconds or milliseconds (taken as UTC, with a warning); one outside the
years :data:`EARLIEST_YEAR`-:data:`LATEST_YEAR` is a rejected row with its line and reason.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .contract import NUMERIC_COLUMNS, TIMESTAMP
from .errors import quoted
from .read_report import ReadReport

#: Timestamps outside these years (UTC) are not the time of any recording.
EARLIEST_YEAR = 1980
LATEST_YEAR = 2099
EARLIEST_US = int(pd.Timestamp(f"{EARLIEST_YEAR}-01-01", tz="UTC").value // 1000)
LATEST_US = int(pd.Timestamp(f"{LATEST_YEAR + 1}-01-01", tz="UTC").value // 1000)
_YEARS = f"the years {EARLIEST_YEAR}-{LATEST_YEAR}"
#: A quoted field may run over at most this many lines before the quote counts as unclosed.
MAX_RECORD_LINES = 20
#: Epoch values at least this large are milliseconds (1e11 s would be the year 5138).
_MS_FROM = 1e11
_OFFSET_RE = r"(?:[zZ]|[+-]\d\d:?\d\d)$"
_EPOCH = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_ISO_YEAR = re.compile(r"(\d{4})-\d\d-\d\d")
_FRACTION_COMMA = re.compile(r"(\d),(\d)")


def records(text: str, first_line: int) -> Iterator[tuple[int, str | None]]:
    """(line, record text) for each non-blank record; text None for an unclosed quote."""
    lines = text.split("\n")
    count = len(lines)
    i = 0
    while i < count:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.count('"') % 2 == 0:
            yield first_line + i, line
            i += 1
            continue
        j = i + 1
        joined = line
        while j < count and j - i < MAX_RECORD_LINES and joined.count('"') % 2:
            joined += "\n" + lines[j]
            j += 1
        if joined.count('"') % 2:
            yield first_line + i, None
            i += 1
        else:
            yield first_line + i, joined
            i = j


def split_rows(text, header, keep_idx, delimiter, first_line, report: ReadReport):
    """Rows (kept cells only) and their lines; bad records are rejected in ``report``."""
    expected = len(header)
    folded_header = [h.strip().casefold() for h in header]
    rows: list[list[str]] = []
    lines: list[int] = []
    repeats: list[int] = []
    for line_no, record in records(text, first_line):
        if record is None:
            report.data_lines += 1
            report.reject(line_no, "a quote opened here is never closed")
            continue
        try:
            fields = next(csv.reader([record], delimiter=delimiter))
        except csv.Error:
            report.data_lines += 1
            report.reject(line_no, "cannot be split into fields (bad quoting or an overlong field)")
            continue
        if [f.strip().casefold() for f in fields] == folded_header:
            repeats.append(line_no)
            continue
        report.data_lines += 1
        if len(fields) != expected:
            report.reject(line_no, f"{len(fields)} fields where the header has {expected}")
            continue
        rows.append([fields[i] for i in keep_idx])
        lines.append(line_no)
    if repeats:
        report.warnings.append(
            f"the header is repeated on {len(repeats)} line(s) (first on line {repeats[0]}); "
            "skipped"
        )
    return rows, np.asarray(lines, dtype="int64")


def numbers(frame: pd.DataFrame, lines: np.ndarray, decimal: str, report: ReadReport):
    """Numeric columns parsed in place; rows with text in a number rejected. Returns kept mask."""
    bad = np.zeros(len(frame), dtype=bool)
    for name in frame.columns:
        if name not in NUMERIC_COLUMNS:
            continue
        text = frame[name].str.strip()
        if decimal == ",":
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        wrong = (values.isna() & (text != "")).to_numpy() | np.isinf(
            values.to_numpy(dtype="float64", na_value=np.nan)
        )
        for i in np.flatnonzero(wrong & ~bad):
            report.reject(int(lines[i]), f"{quoted(frame[name].iloc[i], 24)} is not a number", name)
        bad |= wrong
        frame[name] = values.astype("float64")
    return ~bad


def timestamps(text: pd.Series, lines: np.ndarray, report: ReadReport):
    """(UTC microseconds since the epoch, kept mask) of timestamp cells; bad ones rejected."""
    text = text.str.strip()
    cells = text.to_numpy(dtype=object)
    micros = np.zeros(len(cells), dtype="int64")
    reasons: dict[int, str] = {}
    epoch = np.array([bool(_EPOCH.fullmatch(c)) for c in cells], dtype=bool)
    if epoch.any():
        values = np.array([float(c) for c in cells[epoch]], dtype="float64")
        milli = np.abs(values) >= _MS_FROM
        seconds = np.where(milli, values / 1000.0, values)
        inside = (seconds * 1e6 >= EARLIEST_US) & (seconds * 1e6 < LATEST_US)
        micros[epoch] = np.where(inside, np.round(seconds * 1e6), 0).astype("int64")
        for i, ok, cell in zip(np.flatnonzero(epoch), inside, cells[epoch], strict=True):
            if not ok:
                reasons[i] = f"epoch time {quoted(cell, 24)} is outside {_YEARS}"
        kinds = sorted({"milliseconds" if m else "seconds" for m in milli[inside]})
        if inside.any():
            first = int(lines[np.flatnonzero(epoch)[np.flatnonzero(inside)[0]]])
            report.warnings.append(
                f"{int(inside.sum())} timestamp(s) are epoch {' and '.join(kinds)} (first on "
                f"line {first}); taken as UTC"
            )
    iso = ~epoch
    if iso.any():
        index = np.flatnonzero(iso)
        years = [_ISO_YEAR.match(c) for c in cells[iso]]
        usable = np.zeros(len(index), dtype=bool)
        for k, (i, year) in enumerate(zip(index, years, strict=True)):
            if year is None:
                reasons[i] = f"timestamp {quoted(cells[i], 32)} is not an ISO 8601 time"
            elif not EARLIEST_YEAR <= int(year.group(1)) <= LATEST_YEAR:
                reasons[i] = f"timestamp {quoted(cells[i], 32)} is outside {_YEARS}"
            else:
                usable[k] = True
        chosen = index[usable]
        iso_text = pd.Series(cells[chosen], dtype="str").str.replace(
            _FRACTION_COMMA, r"\1.\2", regex=True
        )
        stamps = pd.to_datetime(iso_text, format="ISO8601", utc=True, errors="coerce")
        parsed = stamps.notna().to_numpy()
        for i in chosen[~parsed]:
            reasons[i] = f"timestamp {quoted(cells[i], 32)} is not an ISO 8601 time"
        good = chosen[parsed]
        if len(good):
            micros[good] = pd.DatetimeIndex(stamps[parsed]).as_unit("us").asi8
            within = (micros[good] >= EARLIEST_US) & (micros[good] < LATEST_US)
            for i in good[~within]:  # an offset carried it over the edge of the range
                reasons[i] = f"timestamp {quoted(cells[i], 32)} is outside {_YEARS}"
            has_offset = np.asarray(
                pc.match_substring_regex(pa.array(cells[good], type=pa.string()), _OFFSET_RE),
                dtype=bool,
            )
            naive = ~has_offset & within
            if naive.any():
                report.warnings.append(
                    f"{int(naive.sum())} timestamp(s) have no UTC offset (first on line "
                    f"{int(lines[good[naive][0]])}); they were taken as UTC"
                )
    keep = np.ones(len(cells), dtype=bool)
    for i, reason in sorted(reasons.items()):
        report.reject(int(lines[i]), reason, TIMESTAMP)
        keep[i] = False
    return micros, keep
