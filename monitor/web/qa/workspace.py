"""What the QA callbacks share: who may act, the catalog, the analyses, the settings in force."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from monitor.reports import SessionAnalysis, run_analysis
from monitor.runtime import Catalog
from monitor.store import AlarmStore
from monitor.web.access import Access
from rules import RulesConfig

#: Analyses kept (a 7-day recording takes about a second to analyse).
CACHED_ANALYSES = 8


class AnalysisCache:
    """Batch analyses per (file, settings), each computed once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple, SessionAnalysis] = {}

    def get(self, path: Path, config: RulesConfig) -> SessionAnalysis:
        key = (str(path), path.stat().st_mtime_ns, repr(config.to_dict()))
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = run_analysis(path, config=config)
            with self._lock:
                if len(self._cache) >= CACHED_ANALYSES:
                    self._cache.clear()
                self._cache[key] = hit
        return hit


@dataclass
class Workspace:
    """The QA workspace of one server."""

    access: Access
    catalog: Catalog
    config: RulesConfig
    alarm_store: AlarmStore | None = None
    analyses: AnalysisCache = field(default_factory=AnalysisCache)

    def analysis(self, key: object, config: RulesConfig | None = None) -> SessionAnalysis:
        """The analysis of the recording a catalog key names (CatalogError for any other)."""
        return self.analyses.get(self.catalog.resolve(key), config or self.config)

    def acknowledgements(self) -> list:
        return self.alarm_store.acknowledgements() if self.alarm_store is not None else []
