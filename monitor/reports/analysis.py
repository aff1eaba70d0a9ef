"""A whole recording through the rules: what was read, and what the rules found in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters import ReadReport, Recording, read_labs, read_recording
from monitor.store import FILENAME, AlarmStore, StoreError
from rules import (
    RULE_IDS,
    Analysis,
    Priority,
    RulesConfig,
    analyze,
    analyze_incremental,
    load_config,
)

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
    recording = read_recording(path, profile, gap_s=rules_config.data_stale.recording_gap_s)
    lab_table, labs_report = None, None
    if labs is not None:
        lab_table, labs_report = read_labs(labs)
    run = analyze if engine == "batch" else analyze_incremental
    result = run(recording.data, rules_config, lab_table, weight_kg)
    return SessionAnalysis(recording, result, labs_report)


def episode_counts(analysis: Analysis) -> dict[str, int]:
    """Episodes per rule and priority, ``{"delta_p_rise_medium": 1, ...}``, every pair."""
    counts = {f"{rule}_{p}": 0 for rule in RULE_IDS for p in Priority}
    for e in analysis.episodes:
        counts[f"{e.rule}_{e.priority}"] += 1
    return counts


def read_acknowledgements(path: str | Path, bed: str = "bed-1") -> list:
    """The acknowledgements in a session's alarm log, oldest first.

    ``path`` is the data directory holding ``ecmo-monitor.db`` or the database file
    itself. A missing database is an error (StoreError), never created empty.
    """
    path = Path(path)
    database = path if path.is_file() else path / FILENAME
    if not database.is_file():
        raise StoreError(
            f"{path}: no alarm log there (expected {FILENAME}); give the data directory "
            "of the monitored session or its database file."
        )
    with AlarmStore(database.parent, bed, filename=database.name) as store:
        return sorted(store.acknowledgements(), key=lambda a: (a.time, a.id))
