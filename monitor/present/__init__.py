"""What the page, the QA views and the report draw alike: traces, colours, times as text.

Nothing here knows a clinical number: limits, reference lines and baselines come from
``rules``.
"""

from monitor.present.downsample import MAX_POINTS, series
from monitor.present.style import (
    PRINT_PRIORITY_COLOURS,
    PRINT_PRIORITY_TEXT,
    SCREEN_PRIORITY_COLOURS,
    dark_axis,
    dark_layout,
)
from monitor.present.text import (
    age_text,
    chart_text,
    clock_text,
    duration_text,
    number_text,
    when_text,
)
from monitor.present.traces import (
    DRAWN_COLUMNS,
    LAB_TRACES,
    REFERENCE_COLOURS,
    TELEMETRY_TRACES,
    TRACE_KEYS,
    ResistanceAt,
    Trace,
    WindowPoints,
    clean,
    event_markers,
    event_times,
    markers_at,
    trace_points,
)

__all__ = [
    "DRAWN_COLUMNS",
    "LAB_TRACES",
    "MAX_POINTS",
    "PRINT_PRIORITY_COLOURS",
    "PRINT_PRIORITY_TEXT",
    "REFERENCE_COLOURS",
    "SCREEN_PRIORITY_COLOURS",
    "TELEMETRY_TRACES",
    "TRACE_KEYS",
    "ResistanceAt",
    "Trace",
    "WindowPoints",
    "age_text",
    "chart_text",
    "clean",
    "clock_text",
    "dark_axis",
    "dark_layout",
    "duration_text",
    "event_markers",
    "event_times",
    "markers_at",
    "number_text",
    "series",
    "trace_points",
    "when_text",
]
