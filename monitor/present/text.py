"""Times, durations and numbers as people read them, the same on the page and in the report."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape


def clock_text(seconds: float | None) -> str:
    """``14:03:07`` (UTC), or ``--`` when there is no time."""
    if seconds is None:
        return "--"
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%H:%M:%S")


def when_text(seconds: float | None) -> str:
    """``2026-01-01 14:03:07`` (UTC), or empty when there is no time."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration_text(seconds: float | None) -> str:
    """``2 d 03:04:05``, ``03:04:05`` or ``45 s``; empty for no or an endless duration."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days} d {text}" if days else text


def age_text(seconds: float) -> str:
    """How long ago, rounded for a glance: ``45 s``, ``12 min``, ``3 h 05 min``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def number_text(value: float | None, unit: str = "") -> str:
    """A value with four significant digits and its unit; empty when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g} {unit}".strip()


def chart_text(text: str) -> str:
    """Text for plotly to draw as it is: a note's ``<a href=...>`` is shown, never a link.

    Plotly reads a little HTML in labels, hovers and annotations; escaped, the markup
    characters are drawn as characters. Underscores of event kinds read as spaces.
    """
    return escape(text.replace("_", " "))
