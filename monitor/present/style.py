"""Colours and the chart theme: one place for what the page, the QA views and the report share.

IEC 60601-1-8 alarm colours: high red, medium yellow, low cyan. The screen palette is
drawn on the page's dark background (the stylesheet ``web/assets/style.css`` uses the
same values for tiles and alert rows); the print palette on the report's white paper.
"""

from __future__ import annotations

SCREEN_PRIORITY_COLOURS = {"high": "#ff1744", "medium": "#ffd600", "low": "#00e5ff"}
PRINT_PRIORITY_COLOURS = {"high": "#e00000", "medium": "#ffd600", "low": "#00bcd4"}
#: Text colour readable on each print priority colour.
PRINT_PRIORITY_TEXT = {"high": "#ffffff", "medium": "#000000", "low": "#000000"}

DARK_BACKGROUND = "#1a1a1a"
DARK_GRID = "#333"
DARK_TEXT = "#ddd"


def dark_layout(**layout) -> dict:
    """A plotly layout in the page's dark theme, with ``layout`` over it.

    Every chart on the page uses it, so none shows plotly's white default (an empty
    figure included).
    """
    base = {
        "paper_bgcolor": DARK_BACKGROUND,
        "plot_bgcolor": DARK_BACKGROUND,
        "font": {"color": DARK_TEXT},
    }
    base.update(layout)
    return base


def dark_axis(**axis) -> dict:
    """An axis with the dark theme's grid."""
    return {"gridcolor": DARK_GRID, "zerolinecolor": DARK_GRID, **axis}
