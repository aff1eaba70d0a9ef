"""The result of analysing a whole session, whichever engine computed it."""

from __future__ import annotations

from dataclasses import dataclass

from .baseline import Baseline
from .config import RulesConfig
from .episodes import Episode, Gap


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """What a whole-session analysis found; times are POSIX seconds.

    ``baselines``: every delta P baseline started, in order (``baseline.py``), so that
    ``resistance_in_force(analysis.baselines)`` says which one judged each moment.
    ``artifacts`` counts the values present but not usable; ``gaps`` the stretches
    without valid data longer than ``data_stale.recording_gap_s``.
    """

    episodes: tuple[Episode, ...]
    baselines: tuple[Baseline, ...]
    samples: int
    start: float | None
    end: float | None
    artifacts: int
    gaps: tuple[Gap, ...]
    config: RulesConfig
    #: The delta P forecast at each whole hour, per limit (``forecast.Forecast``).
    forecasts: tuple = ()

    def alerts(self) -> list[dict]:
        """The ``alerts`` list of the JSON report (DESIGN.md section 6)."""
        return [episode.to_dict() for episode in self.episodes]

    def forecast_entries(self) -> list[dict]:
        """The ``forecasts`` list of the JSON report: one per whole hour and limit."""
        return [forecast.to_dict() for forecast in self.forecasts]
