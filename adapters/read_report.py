"""What reading a file found: rows kept, rows skipped with their line and why, warnings.

Shared by the readers of recordings (``csv_reader``) and of lab files (``labs``); the
command line prints :meth:`ReadReport.summary_lines` and the analysis reports the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Skipped rows listed one by one on standard error; the rest are counted.
_MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One malformed row, with where it was and why it was skipped."""

    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch between two consecutive samples longer than the reader's gap length."""

    start: pd.Timestamp
    end: pd.Timestamp
    seconds: float


@dataclass(slots=True)
class ReadReport:
    """What reading a file found: counts, skipped rows with their lines, warnings."""

    source: str
    profile: str
    rows: int = 0
    rejected_rows: int = 0
    #: Data rows read (a quoted line break continues a row; a repeated header is not one):
    #: every one is either kept (``rows``) or rejected (``rejected_rows``).
    data_lines: int = 0
    artifacts: int = 0
    artifact_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def reject(self, line: int, message: str, column: str | None = None) -> None:
        self.rejected_rows += 1
        self.problems.append(Problem(line, message, column))

    def summary_lines(self, limit: int = _MAX_LISTED) -> list[str]:
        """Human lines for standard error: warnings, then each skipped row (bounded)."""
        out = [f"{self.source}: {w}" for w in self.warnings]
        for problem in sorted(self.problems, key=lambda p: p.line)[:limit]:
            out.append(f"{self.source}: {problem}; row skipped")
        if len(self.problems) > limit:
            out.append(f"{self.source}: ... and {len(self.problems) - limit} more rows skipped")
        if self.artifacts:
            out.append(
                f"{self.source}: {self.artifacts} values outside their plausible range in "
                f"{self.artifact_rows} rows were marked as artifacts (kept, never used by rules)"
            )
        return out
