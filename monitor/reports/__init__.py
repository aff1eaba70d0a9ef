"""What QA takes away: a session's analysis as JSON, CSV or an offline HTML report, and
the summary of a whole folder of recordings, and the research export (CLIF).

The HTML report, the folder summary and the CLIF export are imported when first asked
for, so ``analyze --format json`` on one file does not load their modules.
"""

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


def __getattr__(name: str):
    if name == "build_report":
        from monitor.reports.html import build_report

        return build_report
    if name in ("analyze_folder", "folder_command"):
        from monitor.reports import folder

        return getattr(folder, name)
    if name in ("export_clif", "write_clif"):
        from monitor.reports import clif

        return getattr(clif, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
