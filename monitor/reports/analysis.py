"""A whole recording through the rules: what was read, and what the rules found in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adapters import ReadReport, Recording, read_labs, read_recording
from monitor.store import FILENAME, AlarmStore, StoreError
from rules import (
    RULE_IDS,
    Analysis,
    DerivedReport,
    Priority,
    RulesConfig,
    analyze,
    analyze_incremental,
    derived_report,
    load_config,
)

FORMATS = ("json", "csv", "html")
ENGINES = ("batch", "incremental")


@dataclass(frozen=True, slots=True)
class SessionAnalysis:
    """A recording, how reading it went, and what the rules found in it.

    ``labs`` is the lab table read beside the recording, ``weight_kg`` the patient's
    weight given for the analysis (both for the derived values)."""

    recording: Recording
    analysis: Analysis
    labs_report: ReadReport | None = None
    labs: pd.DataFrame | None = None
    weight_kg: float | None = None

    @property
    def report(self) -> ReadReport:
        return self.recording.report

    def derived(self) -> DerivedReport:
        """The derived values at each blood gas draw and the hourly resistance."""
        return derived_report(self.recording.data, self.analysis.config, self.weight_kg, self.labs)


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
    return SessionAnalysis(recording, result, labs_report, lab_table, weight_kg)


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
