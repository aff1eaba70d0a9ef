"""``ecmo-monitor analyze``: a whole recording through the rules, as JSON, CSV or HTML.

The JSON object is exactly DESIGN.md section 6. CSV has one row per alert episode and
priority, with spreadsheet formula injection neutralised. HTML is one self-contained
file (no network needed to open it).
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adapters import format_timestamp
from adapters.csv_reader import ReadReport, Recording, read_recording
from rules import Analysis, RulesConfig, analyze, load_config
from rules.recorded import analyze_incremental

FORMATS = ("json", "csv", "html")
ENGINES = ("batch", "incremental")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class SessionAnalysis:
    """A recording, how reading it went, and what the rules found in it."""

    recording: Recording
    analysis: Analysis
    labs_report: ReadReport | None = None

    @property
    def report(self) -> ReadReport:
        return self.recording.report


def run_analysis(
    path: str | Path,
    labs: str | Path | None = None,
    config: str | Path | RulesConfig | None = None,
    profile: str | None = None,
    engine: str = "batch",
    weight_kg: float | None = None,
) -> SessionAnalysis:
    """Read, then analyse; TelemetryError (one sentence) for an unusable input."""
    rules_config = config if isinstance(config, RulesConfig) else load_config(config)
    recording = read_recording(path, profile)
    lab_table, labs_report = None, None
    if labs is not None:
        from adapters.labs import read_labs

        lab_table, labs_report = read_labs(labs)
    run = analyze if engine == "batch" else analyze_incremental
    result = run(recording.data, rules_config, lab_table, weight_kg)
    return SessionAnalysis(recording, result, labs_report)


def to_json(result: SessionAnalysis) -> dict:
    analysis, report = result.analysis, result.report
    return {
        "source": str(result.recording.path),
        "samples": analysis.samples,
        "start": None if analysis.start is None else format_timestamp(analysis.start),
        "end": None if analysis.end is None else format_timestamp(analysis.end),
        "alerts": analysis.alerts(),
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
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


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


def episode_rows(analysis: Analysis) -> list[dict]:
    rows = []
    for e in analysis.episodes:
        rows.append(
            {
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
        )
    return rows


def to_csv(result: SessionAnalysis) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EPISODE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in episode_rows(result.analysis):
        writer.writerow({k: inert(v) for k, v in row.items()})
    return out.getvalue()


def to_html(result: SessionAnalysis) -> str:
    """A plain self-contained report: summary, data quality, episodes, thresholds."""
    doc = to_json(result)
    esc = html.escape
    quality = doc["data_quality"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(str(row[c]))}</td>" for c in EPISODE_COLUMNS) + "</tr>"
        for row in episode_rows(result.analysis)
    )
    settings = "".join(
        f"<tr><td>[{esc(section)}]</td><td>{esc(key)}</td><td>{esc(str(value))}</td></tr>"
        for section, values in result.analysis.config.to_dict().items()
        for key, value in values.items()
    )
    problems = "".join(f"<li>{esc(line)}</li>" for line in result.report.summary_lines(50))
    gaps = "".join(
        f"<li>{esc(g['start'])} to {esc(g['end'])} ({g['seconds']:.0f} s)</li>"
        for g in quality["gaps"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ecmo-monitor analysis: {esc(doc["source"])}</title>
<style>body{{font-family:sans-serif;margin:2em;}} table{{border-collapse:collapse;}}
td,th{{border:1px solid #999;padding:3px 6px;font-size:13px;}} th{{background:#eee;}}</style></head>
<body><h1>ecmo-monitor session analysis</h1>
<p>Source: {esc(doc["source"])}<br>From {esc(str(doc["start"]))} to {esc(str(doc["end"]))}, {doc["samples"]} samples.</p>
<h2>Data quality</h2><p>{quality["rows"]} rows used, {quality["rejected_rows"]} rejected, {quality["artifacts"]} artifact values, {len(quality["gaps"])} gaps over 10 s.</p>
<ul>{gaps}</ul><ul>{problems}</ul>
<h2>Alert episodes ({len(result.analysis.episodes)})</h2>
<table><tr>{"".join(f"<th>{c}</th>" for c in EPISODE_COLUMNS)}</tr>{rows}</table>
<h2>Thresholds in force</h2><p>From: {esc(", ".join(result.analysis.config.sources))}</p>
<table><tr><th>section</th><th>key</th><th>value</th></tr>{settings}</table>
</body></html>
"""


def render(result: SessionAnalysis, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(result), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(result)
    return to_html(result)


def episodes_table(result: SessionAnalysis) -> pd.DataFrame:
    return result.analysis.episodes_frame()
