"""``ecmo-monitor analyze DIR``: every recording in a folder, one summary row each.

:func:`analyze_folder` is the engine (the QA page calls it too, with its own progress
callback); :func:`folder_command` is the command line around it: a progress bar on a
terminal's standard error (a line per file otherwise), the table on standard output
as CSV (formula injection neutralised), JSON or HTML. A file that cannot be used gets
a row with its error and does not stop the others.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TextIO

import pandas as pd

from adapters import TelemetryError, format_timestamp
from monitor.reports.analysis import episode_counts, run_analysis
from monitor.reports.formats import write_csv
from rules import RULE_IDS, Priority, RulesConfig, load_config

COUNT_COLUMNS: tuple[str, ...] = tuple(f"{rule}_{p}" for rule in RULE_IDS for p in Priority)
QUALITY_COLUMNS = ("samples", "rows", "rejected_rows", "artifacts", "gaps")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "file",
    "start",
    "end",
    "duration_h",
    *QUALITY_COLUMNS,
    *COUNT_COLUMNS,
    "error",
)
#: ``progress(done, total, name)``: called with done=0 before the first file, then after
#: each file with its name.
Progress = Callable[[int, int, str | None], None]


def recordings_in(folder: str | Path) -> list[Path]:
    """The ``*.csv`` files directly in ``folder`` (not sub-folders, not hidden), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TelemetryError(f"{folder}: no such folder.")
    try:
        found = [p for p in folder.glob("*.csv") if p.is_file() and not p.name.startswith(".")]
    except OSError as exc:
        raise TelemetryError(f"{folder}: cannot be listed ({exc.strerror}).") from None
    return sorted(found, key=lambda p: p.name)


def _row(path: Path, result=None, error: str = "") -> dict:
    row: dict = {column: pd.NA for column in SUMMARY_COLUMNS}
    row.update(file=path.name, start=pd.NaT, end=pd.NaT, duration_h=float("nan"), error=error)
    if result is None:
        return row
    analysis, report = result.analysis, result.report
    if analysis.start is not None and analysis.end is not None:
        row["start"] = pd.Timestamp(analysis.start, unit="s", tz="UTC")
        row["end"] = pd.Timestamp(analysis.end, unit="s", tz="UTC")
        row["duration_h"] = round((analysis.end - analysis.start) / 3600.0, 3)
    row.update(
        samples=analysis.samples,
        rows=report.rows,
        rejected_rows=report.rejected_rows,
        artifacts=report.artifacts,
        gaps=len(report.gaps),
        **episode_counts(analysis),
    )
    return row


def analyze_folder(
    folder: str | Path,
    config: str | Path | RulesConfig | None = None,
    progress: Progress | None = None,
    *,
    profile: str | None = None,
    engine: str = "batch",
    weight_kg: float | None = None,
) -> pd.DataFrame:
    """One row per recording in ``folder`` (see :data:`SUMMARY_COLUMNS`).

    ``start``/``end`` are tz-aware UTC, counts are nullable integers (missing on a row
    with an ``error``), ``error`` is empty for a file that was analysed. A bad
    ``config`` stops before any file is read (TelemetryError).
    """
    rules_config = config if isinstance(config, RulesConfig) else load_config(config)
    paths = recordings_in(folder)
    if progress is not None:
        progress(0, len(paths), None)
    rows = []
    for done, path in enumerate(paths, start=1):
        try:
            result = run_analysis(
                path, config=rules_config, profile=profile, engine=engine, weight_kg=weight_kg
            )
            rows.append(_row(path, result))
        except TelemetryError as exc:
            rows.append(_row(path, error=str(exc)))
        except Exception as exc:  # one odd file must not stop a batch
            error = f"{path}: could not be analysed ({type(exc).__name__}: {exc}); report it"
            rows.append(_row(path, error=error))
        if progress is not None:
            progress(done, len(paths), path.name)
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["duration_h"] = frame["duration_h"].astype("float64")
    for column in (*QUALITY_COLUMNS, *COUNT_COLUMNS):
        frame[column] = frame[column].astype("Int64")
    frame["error"] = frame["error"].astype("str")
    return frame


def summary_records(frame: pd.DataFrame) -> list[dict]:
    """Plain rows: ISO 8601 times, None for what is missing, ints and floats as such."""
    records = []
    for row in frame.to_dict("records"):
        out = {}
        for key, value in row.items():
            if value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
                out[key] = None
            elif isinstance(value, pd.Timestamp):
                out[key] = format_timestamp(value.timestamp())
            elif hasattr(value, "item"):  # numpy scalar
                out[key] = value.item()
            else:
                out[key] = value
        out["error"] = out["error"] or None
        records.append(out)
    return records


def summary_html(frame: pd.DataFrame, folder: str) -> str:
    """The summary as a small self-contained HTML page (every cell escaped)."""
    records = summary_records(frame)
    head = "".join(f"<th>{escape(c)}</th>" for c in SUMMARY_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{'' if r[c] is None else escape(str(r[c]))}</td>" for c in SUMMARY_COLUMNS)
        + "</tr>"
        for r in records
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ECMO recordings: {escape(folder)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;}} table{{border-collapse:collapse;}}
td,th{{border:1px solid #bdbdbd;padding:2px 6px;font-size:12px;}} th{{background:#f0f0f0;}}</style>
</head><body><h1>ECMO recordings in {escape(folder)}</h1>
<p>{len(records)} recordings; episode counts per rule and priority; times UTC.</p>
<table><tr>{head}</tr>{body}</table></body></html>
"""


def render_summary(frame: pd.DataFrame, fmt: str, folder: str) -> str:
    if fmt == "csv":
        return write_csv(summary_records(frame), SUMMARY_COLUMNS)
    if fmt == "json":
        return json.dumps(summary_records(frame), indent=2) + "\n"
    return summary_html(frame, folder)


class TerminalProgress:
    """A text progress bar on a terminal; one line per file when the stream is not one."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty())

    def __call__(self, done: int, total: int, name: str | None) -> None:
        if not self.tty:
            if name is not None:
                print(f"analysed {done}/{total}: {name}", file=self.stream, flush=True)
            return
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        label = "" if name is None else name[-40:]
        self.stream.write(f"\r[{bar}] {done}/{total} {label:<40}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def folder_command(args, stream: TextIO = sys.stderr) -> tuple[str, int]:
    """``analyze DIR``: the summary text and the exit status (2 when no file was usable)."""
    if args.labs or getattr(args, "alarm_log", None):
        raise TelemetryError(
            "--labs and --alarm-log belong to one recording; analyse that file on its own "
            "to use them."
        )
    frame = analyze_folder(
        args.file,
        config=args.config,
        progress=TerminalProgress(stream),
        profile=args.profile,
        engine=args.engine,
        weight_kg=args.weight,
    )
    if frame.empty:
        raise TelemetryError(f"{args.file}: no *.csv recordings in this folder.")
    failed = frame[frame["error"] != ""]
    for error in failed["error"]:
        print(f"not analysed: {error}", file=stream)
    status = 0
    if len(failed) == len(frame):
        print(f"{args.file}: none of its {len(frame)} recordings could be analysed.", file=stream)
        status = 2
    return render_summary(frame, args.format, str(args.file)), status
