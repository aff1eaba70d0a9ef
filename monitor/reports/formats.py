"""``ecmo-monitor analyze`` output: the result as JSON, CSV or HTML.

The JSON object is exactly DESIGN.md section 6. CSV has one row per alert episode and
priority, with spreadsheet formula injection neutralised. HTML is one self-contained
file (no network needed to open it).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence

import pandas as pd

from adapters import format_timestamp, inert_text
from monitor.reports.analysis import SessionAnalysis
from rules import Analysis, match_acknowledgements


def to_json(result: SessionAnalysis) -> dict:
    analysis, report = result.analysis, result.report
    return {
        "source": str(result.recording.path),
        "samples": analysis.samples,
        "start": None if analysis.start is None else format_timestamp(analysis.start),
        "end": None if analysis.end is None else format_timestamp(analysis.end),
        "alerts": analysis.alerts(),
        "forecasts": analysis.forecast_entries(),
        "data_quality": {
            "rows": report.rows,
            "rejected_rows": report.rejected_rows,
            "artifacts": report.artifacts,
            "gaps": [
                {
                    "start": format_timestamp(gap.start.timestamp()),
                    "end": format_timestamp(gap.end.timestamp()),
                    "seconds": gap.seconds,
                }
                for gap in report.gaps
            ],
        },
    }


def inert(value):
    """A cell a spreadsheet will not run as a formula (text only; numbers stay numbers)."""
    return inert_text(value) if isinstance(value, str) else value


EPISODE_COLUMNS = (
    "rule",
    "priority",
    "start",
    "end",
    "duration_s",
    "peak",
    "threshold",
    "unit",
    "message",
)
ACK_COLUMNS = ("acknowledged", "acknowledged_at", "acknowledged_by")


def episode_rows(analysis: Analysis, acknowledgements: Iterable | None = None) -> list[dict]:
    """One plain row per episode (times ISO 8601); with acknowledgements, who and when."""
    acks = (
        None
        if acknowledgements is None
        else match_acknowledgements(analysis.episodes, acknowledgements, analysis.end)
    )
    rows = []
    for i, e in enumerate(analysis.episodes):
        row = {
            "rule": e.rule,
            "priority": str(e.priority),
            "start": format_timestamp(e.start),
            "end": "" if e.end is None else format_timestamp(e.end),
            "duration_s": "" if e.end is None else round(e.end - e.start, 3),
            "peak": "" if e.peak is None else e.peak,
            "threshold": "" if e.threshold is None else e.threshold,
            "unit": e.unit,
            "message": e.message,
        }
        if acks is not None:
            ack = acks[i]
            row["acknowledged"] = "no" if ack is None else "yes"
            row["acknowledged_at"] = "" if ack is None else format_timestamp(ack.time)
            row["acknowledged_by"] = "" if ack is None else f"{ack.user} ({ack.role})"
        rows.append(row)
    return rows


def write_csv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    """CSV text of plain rows, every text cell made inert; None and NaN are empty."""
    out = io.StringIO()
    # CRLF (RFC 4180) so that a CR inside a cell gets the cell quoted too
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue()


def _cell(value):
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return inert(value)


def to_csv(result: SessionAnalysis, acknowledgements: Iterable | None = None) -> str:
    """One row per episode and priority, text cells made inert, numbers left numbers."""
    columns = EPISODE_COLUMNS if acknowledgements is None else EPISODE_COLUMNS + ACK_COLUMNS
    return write_csv(episode_rows(result.analysis, acknowledgements), columns)


def render(result: SessionAnalysis, fmt: str, acknowledgements: Iterable | None = None) -> str:
    """The result as text in ``fmt`` (json, csv or html)."""
    if fmt == "json":
        return json.dumps(to_json(result), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(result, acknowledgements)
    from monitor.reports.html import build_report  # plotly's figure code: only for HTML

    return build_report(result, acknowledgements)
