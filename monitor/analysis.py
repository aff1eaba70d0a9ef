"""``ecmo-monitor analyze``: a whole recording through the rules, as JSON, CSV or HTML.

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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adapters import format_timestamp
from adapters.csv_reader import ReadReport, Recording, read_recording
from rules import RULE_IDS, Analysis, Episode, Priority, RulesConfig, analyze, load_config
from rules.recorded import analyze_incremental

FORMATS = ("json", "csv", "html")
ENGINES = ("batch", "incremental")


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


#: Cells a spreadsheet would run as a formula start so (OWASP's list, plus the
#: full-width forms some locales also take as formula signs).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


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
ACK_COLUMNS = ("acknowledged", "acknowledged_at", "acknowledged_by")
#: An acknowledgement this long after the last sample still counts (the recording stops
#: with the session, the alarm log a moment later).
ACK_GRACE_S = 60.0


def match_acknowledgements(
    episodes: Sequence[Episode], acknowledgements: Iterable, end: float | None
) -> list:
    """The first acknowledgement of each episode, or None: one entry per episode.

    ``acknowledgements`` are records with ``time``, ``rule``, ``priority`` and ``user``
    (``store.AcknowledgementEntry`` or ``rules.Acknowledgement``). An acknowledgement
    counts for an episode of its rule when it came at or after the episode's start and
    before the rule's next alert (or the end of the data), at the episode's priority or
    above, or after the episode's level had ended (a latched alert acknowledged once it
    cleared, or a level the alert came down from).
    """
    acks = sorted(acknowledgements, key=lambda a: a.time)
    limit = math.inf if end is None else end + ACK_GRACE_S
    # the start of the rule's next alert (overlapping episodes are levels of one alert)
    next_alert: dict[int, float | None] = {}
    by_rule: dict[str, list[int]] = {}
    for i, e in enumerate(episodes):
        by_rule.setdefault(e.rule, []).append(i)
    for indices in by_rule.values():
        indices.sort(key=lambda i: episodes[i].start)
        group: list[int] = []
        group_end = -math.inf
        for i in indices:
            e = episodes[i]
            if e.start > group_end:
                for j in group:
                    next_alert[j] = e.start
                group = []
            group.append(i)
            group_end = max(group_end, math.inf if e.end is None else e.end)
        for j in group:
            next_alert[j] = None
    out = []
    for i, e in enumerate(episodes):
        found = None
        until = next_alert[i]
        for ack in acks:
            if ack.rule != e.rule or ack.time < e.start:
                continue
            if (until is not None and ack.time >= until) or ack.time > limit:
                break
            if Priority(str(ack.priority)).level >= e.priority.level or (
                e.end is not None and ack.time >= e.end
            ):
                found = ack
                break
        out.append(found)
    return out


def episode_counts(analysis: Analysis) -> dict[str, int]:
    """Episodes per rule and priority, ``{"delta_p_rise_medium": 1, ...}``, every pair."""
    counts = {f"{rule}_{p}": 0 for rule in RULE_IDS for p in Priority}
    for e in analysis.episodes:
        counts[f"{e.rule}_{e.priority}"] += 1
    return counts


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


def to_html(result: SessionAnalysis, acknowledgements: Iterable | None = None) -> str:
    """The self-contained HTML report (see :mod:`monitor.report`)."""
    from .report import build_report

    return build_report(result, acknowledgements)


def read_acknowledgements(path: str | Path, bed: str = "bed-1") -> list:
    """The acknowledgements in a session's alarm log, oldest first.

    ``path`` is the data directory holding ``ecmo-monitor.db`` or the database file
    itself. A missing database is an error (StoreError), never created empty.
    """
    from .store import FILENAME, AlarmStore, StoreError

    path = Path(path)
    database = path if path.is_file() else path / FILENAME
    if not database.is_file():
        raise StoreError(
            f"{path}: no alarm log there (expected {FILENAME}); give the data directory "
            "of the monitored session or its database file."
        )
    with AlarmStore(database.parent, bed, filename=database.name) as store:
        return sorted(store.acknowledgements(), key=lambda a: (a.time, a.id))


def render(result: SessionAnalysis, fmt: str, acknowledgements: Iterable | None = None) -> str:
    """The result as text in ``fmt`` (json, csv or html)."""
    if fmt == "json":
        return json.dumps(to_json(result), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(result, acknowledgements)
    return to_html(result, acknowledgements)
