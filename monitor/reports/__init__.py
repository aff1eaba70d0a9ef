"""What QA takes away: a session's analysis as JSON, CSV or an offline HTML report, and
the summary of a whole folder of recordings, and the research export (CLIF)."""

from monitor.reports.analysis import (
    ENGINES,
    FORMATS,
    SessionAnalysis,
    episode_counts,
    read_acknowledgements,
    run_analysis,
)
from monitor.reports.clif import export_clif, write_clif
from monitor.reports.folder import analyze_folder, folder_command
from monitor.reports.formats import render
from monitor.reports.html import build_report

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
