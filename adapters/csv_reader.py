"""Reading a recorded CSV session into a canonical DataFrame, with every problem accounted for.

A clean file takes the fast path (pyarrow's CSV reader, typed columns). A file with
problems takes a careful path that knows the line of every row, so that each malformed
row is counted, reported with its line and column, and skipped, while the rest is kept.
A file that cannot be used at all raises :class:`TelemetryError` with one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .contract import (
    CHANNEL_BIT,
    EVENT,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    TIMESTAMP,
    artifact_column,
    epoch_seconds,
)
from .csv_rows import EARLIEST_US, LATEST_US, numbers, split_rows, timestamps
from .csv_text import (
    count_bytes,
    detect_decimal,
    detect_delimiter,
    header_cells,
    split_header,
    text_bytes,
)
from .errors import MAX_MESSAGE, TelemetryError, shown_header
from .profiles import CANONICAL, ColumnProfile, detect_profile, get_profile
from .read_report import Gap, ReadReport
from .recording import INERT_MARK

#: Gaps longer than this (seconds) between consecutive samples are reported.
GAP_SECONDS = 10.0
_NON_SPACE = re.compile(rb"\S")


@dataclass(frozen=True, slots=True)
class Recording:
    """A session read from disk: canonical data plus the report of how reading went.

    ``data`` has ``timestamp`` (tz-aware UTC), every numeric channel (float64, NaN when
    absent), ``event`` (str, empty when none), ``artifact_mask`` (int64 bit mask, see
    ``contract.CHANNEL_BIT``) and ``line`` (the row's line in the file), sorted by time.
    """

    path: Path
    data: pd.DataFrame
    report: ReadReport

    @property
    def seconds(self) -> np.ndarray:
        return epoch_seconds(self.data[TIMESTAMP])


def _decode(body: bytes, header_line: int, report: ReadReport) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        bad_lines = [
            i for i, line in enumerate(text.split("\n"), start=header_line + 1) if "\ufffd" in line
        ]
        shown = ", ".join(map(str, bad_lines[:10])) + (" ..." if len(bad_lines) > 10 else "")
        report.warnings.append(
            f"bytes that are not UTF-8 on {len(bad_lines)} line(s) ({shown}) were replaced; "
            "numbers containing them are rejected, text keeps a replacement mark"
        )
        return text


def resolve_profile(header: list[str], profile: str | ColumnProfile | None, source: str):
    if profile is None:
        return detect_profile(header, source)
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    missing = chosen.missing_required(header)
    if missing:
        names = ", ".join(
            c if chosen is CANONICAL else f"{c} ({chosen.source_name(c)})" for c in missing
        )
        raise TelemetryError(
            f"{source}: required column(s) missing for the {chosen.name} profile: {names}; "
            f"the header has: {shown_header(header)}."
        )
    return chosen


def read_recording(
    path: str | Path, profile: str | ColumnProfile | None = None, gap_s: float = GAP_SECONDS
) -> Recording:
    """Read a recording; malformed rows are counted and skipped, never fatal.

    A step between rows longer than ``gap_s`` seconds is reported as a gap; the analysis
    passes the rules' ``data_stale.recording_gap_s`` so the report and the rules agree.
    ``profile`` is a built-in profile's name, a profile file's path, a profile, or None to
    detect the profile from the header.

    Raises TelemetryError (one sentence of at most 300 characters naming the file, never
    echoing its bytes) when the file is missing, unreadable, binary, in an unknown
    encoding, empty, has no usable data rows, names a column twice or lacks a required one.
    """
    path = Path(path)
    try:
        return _read(path, profile, gap_s)
    except TelemetryError as exc:
        message = str(exc)
        if len(message) > MAX_MESSAGE:
            raise TelemetryError(message[: MAX_MESSAGE - 3] + "...") from None
        raise


def _read(path: Path, profile, gap_s: float) -> Recording:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TelemetryError(f"{source}: no such file.") from None
    except IsADirectoryError:
        raise TelemetryError(f"{source}: is a folder, not a CSV file.") from None
    except OSError as exc:
        raise TelemetryError(f"{source}: cannot be read ({exc.strerror}).") from None
    report = ReadReport(source=source, profile="")
    raw = text_bytes(raw, source, report.warnings)
    header_line, header_text, body_start = split_header(raw, source, REQUIRED_COLUMNS)
    chosen = (
        None if profile is None else get_profile(profile) if isinstance(profile, str) else profile
    )
    delimiter = (chosen and chosen.delimiter) or detect_delimiter(header_text)
    header = header_cells(header_text, delimiter, source)
    chosen = resolve_profile(header, chosen, source)
    report.profile = chosen.name
    rename = chosen.rename_map(header)
    if _NON_SPACE.search(raw, body_start) is None:
        raise TelemetryError(f"{source}: the file has a header but no data rows.")
    # the body is a view, not a copy: recordings run to tens of megabytes
    body = memoryview(raw)[body_start:]
    decimal = chosen.decimal or detect_decimal(body, delimiter)
    if decimal == "," and chosen.decimal is None:
        report.warnings.append("numbers were read with a decimal comma (4,12 as 4.12)")
    frame = _fast_table(body, header, rename, delimiter, decimal)
    lines = None
    if frame is not None:
        lines = _line_numbers(raw, body_start, header_line, len(frame[TIMESTAMP]))
    if lines is not None:
        report.data_lines = len(lines)
    else:
        body = None
        text = _decode(raw[body_start:], header_line, report)
        del raw  # the text is a copy: the bytes need not stay beside it
        frame, lines = _careful_table(text, header, rename, delimiter, decimal, header_line, report)
        del text
    # the file's bytes are not needed past here: freed before the frame is built (the peak
    # of reading a long recording is here)
    body = raw = None
    _convert(frame, rename, chosen)
    data = _finish(frame, lines, report, gap_s)
    if data.empty:
        first = min(report.problems, key=lambda p: p.line) if report.problems else None
        raise TelemetryError(
            f"{source}: none of its {report.rejected_rows} data rows could be used"
            + (f" (first problem: {first})." if first else ".")
        )
    return Recording(path=path, data=data, report=report)


def _convert(frame: dict, rename: dict[str, str], profile: ColumnProfile) -> None:
    """Each column's numbers in contract units, its "no value" sentinel made NaN."""
    for src, canonical in rename.items():
        conversion = profile.conversion(src)
        if conversion is not None and canonical in NUMERIC_COLUMNS:
            frame[canonical] = conversion.array(np.asarray(frame[canonical], dtype="float64"))


def _fast_table(body, header, rename, delimiter: str, decimal: str):
    """Typed pyarrow read of a clean body, or None when anything at all is off.

    Arrow refuses a timestamp without a zone offset, text in a number, invalid UTF-8 and
    rows of the wrong width; a timestamp outside the plausible years and a quoted line
    break are sent to the careful read too, so success means every row is well formed.
    """
    types = {}
    for src, dst in rename.items():
        if dst == TIMESTAMP:
            types[src] = pa.timestamp("us", tz="UTC")
        elif dst in NUMERIC_COLUMNS:
            types[src] = pa.float64()
        else:
            types[src] = pa.string()
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=header),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),  # a bad row raises
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(rename),
                strings_can_be_null=False,
                decimal_point=decimal,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        return None
    if table.num_rows == 0:
        return None
    frame = {}
    for name in rename:
        column = table.column(name)
        canonical = rename[name]
        if canonical == TIMESTAMP:
            micros = pc.cast(column, pa.int64())
            low, high = pc.min_max(micros).values()
            if low.as_py() < EARLIEST_US or high.as_py() >= LATEST_US:
                return None
            frame[canonical] = column.to_pandas()
        elif canonical in NUMERIC_COLUMNS:
            values = column.to_numpy()
            if np.isinf(values).any():
                return None
            frame[canonical] = values
        else:
            if pc.any(pc.match_substring(column, "\n")).as_py():
                return None  # a quoted line break: the careful read knows its lines
            frame[canonical] = column.to_pandas()
    return frame


def _line_numbers(raw: bytes, body_start: int, header_line: int, rows: int) -> np.ndarray | None:
    """The file line of each data row (blank lines are skipped by the reader).

    None when the lines that hold something are not as many as the rows read (a line
    arrow took for blank, such as a lone byte order mark): the careful read decides.
    """
    physical = count_bytes(raw, (10,), start=body_start)[0] + (0 if raw.endswith(b"\n") else 1)
    if physical == rows:  # no blank lines: rows are consecutive lines
        return np.arange(header_line + 1, header_line + 1 + rows, dtype="int64")
    body = raw[body_start:]
    numbers = [i for i, line in enumerate(body.split(b"\n"), start=header_line + 1) if line.strip()]
    return np.asarray(numbers, dtype="int64") if len(numbers) == rows else None


def _careful_table(body, header, rename, delimiter, decimal, header_line, report):
    """Row-by-row read that knows each row's line: for files with problems."""
    keep_idx = {i: rename[name] for i, name in enumerate(header) if name in rename}
    rows, line_array = split_rows(body, header, keep_idx, delimiter, header_line + 1, report)
    names = list(keep_idx.values())
    frame = (
        pd.DataFrame(rows, columns=names, dtype="str")
        if rows
        else pd.DataFrame({n: pd.Series([], dtype="str") for n in names})
    )
    kept = numbers(frame, line_array, decimal, report)
    frame = frame.loc[kept].reset_index(drop=True)
    line_array = line_array[kept]
    micros, kept = timestamps(frame[TIMESTAMP], line_array, report)
    columns = {name: frame[name].to_numpy()[kept] for name in frame.columns if name != TIMESTAMP}
    columns[TIMESTAMP] = pd.to_datetime(micros[kept], unit="us", utc=True)
    return columns, line_array[kept]


def _finish(columns: dict, lines: np.ndarray, report: ReadReport, gap_s: float) -> pd.DataFrame:
    """Assemble the canonical frame: time order, no duplicates, delta P derived, artifacts marked.

    Works on numpy arrays and builds the DataFrame once (no per-column copies).
    """
    rows = len(lines)
    stamps = pd.DatetimeIndex(columns[TIMESTAMP])
    if stamps.tz is None:
        stamps = stamps.tz_localize("UTC")
    seconds = epoch_seconds(stamps)
    values = {
        name: np.asarray(columns[name], dtype="float64")
        if name in columns
        else np.full(rows, np.nan)
        for name in NUMERIC_COLUMNS
    }
    if EVENT in columns:
        text = pd.Series(columns[EVENT], dtype="str").fillna("").str.strip()
        marked = text.str.startswith(INERT_MARK)
        if marked.any():  # a text cell written inert (recording.inert_text): its own text
            text = text.mask(marked, text.str[1:])
        events = text.array  # kept a string array: no round trip through Python objects
    else:
        events = pd.array(np.full(rows, "", dtype=object), dtype="str")

    keep = None
    steps = np.diff(seconds)
    if (steps < 0).any():
        backwards = steps < 0
        report.warnings.append(
            f"{int(backwards.sum())} row(s) were out of time order (first on line "
            f"{int(lines[1:][backwards][0])}); sorted by time"
        )
        keep = np.argsort(seconds, kind="stable")
        seconds, lines = seconds[keep], lines[keep]
        steps = np.diff(seconds)
    duplicate = np.r_[False, steps == 0] if rows else np.zeros(0, dtype=bool)
    if duplicate.any():
        for i in np.flatnonzero(duplicate):
            j = i - 1
            while duplicate[j]:
                j -= 1
            when = pd.Timestamp(seconds[i], unit="s", tz="UTC").isoformat()
            report.reject(
                int(lines[i]),
                f"duplicate timestamp {when} (first on line {int(lines[j])})",
                TIMESTAMP,
            )
        unique = np.flatnonzero(~duplicate)
        keep = unique if keep is None else keep[unique]
        seconds, lines = seconds[unique], lines[unique]
    if keep is not None:
        stamps = stamps[keep]
        values = {name: column[keep] for name, column in values.items()}
        events = events[keep]

    dp = values["delta_p_mmhg"]
    values["delta_p_mmhg"] = np.where(
        np.isnan(dp), values["p_pre_oxy_mmhg"] - values["p_post_oxy_mmhg"], dp
    )
    mask = np.zeros(len(seconds), dtype="int64")
    total = 0
    for name, column in values.items():
        bad = artifact_column(column, name)
        if bad.any():
            mask |= bad.astype("int64") << CHANNEL_BIT[name]
            total += int(bad.sum())
    report.artifacts = total
    report.artifact_rows = int((mask != 0).sum())
    report.rows = len(seconds)
    for i in np.flatnonzero(np.diff(seconds) > gap_s):
        report.gaps.append(Gap(stamps[i], stamps[i + 1], float(seconds[i + 1] - seconds[i])))
    return pd.DataFrame(
        {
            TIMESTAMP: stamps,
            **values,
            EVENT: events,
            "artifact_mask": mask,
            "line": lines,
        },
        copy=False,  # every array here is freshly made; consolidating would copy 600k x 15
    )
