"""What QA takes away: a session's analysis as JSON, CSV or an offline HTML report, and
the summary of a whole folder of recordings, and the research export (CLIF).

The HTML report, the folder summary and the CLIF export are imported when first asked
for, so ``analyze --format json`` on one file does not load their modules.
"""

import importlib

from monitor.reports.analysis import (
    ENGINES,
    FORMATS,
    SessionAnalysis,
    episode_counts,
    read_acknowledgements,
    run_analysis,
)
from monitor.reports.formats import render

__all__ = [
    "ENGINES",
    "FORMATS",
    "SessionAnalysis",
    "analyze_folder",
    "build_report",
    "episode_counts",
    "export_clif",
    "folder_command",
    "read_acknowledgements",
    "render",
    "run_analysis",
    "write_clif",
]


#: The names loaded on first use, and the module of each.
_LAZY = {
    "build_report": "monitor.reports.html",
    "analyze_folder": "monitor.reports.folder",
    "folder_command": "monitor.reports.folder",
    "export_clif": "monitor.reports.clif",
    "write_clif": "monitor.reports.clif",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
