"""The report's forecast section: what the delta P forecast said, hour by hour, against
what happened (the delta P rise alert of each limit, from the same analysis)."""

from __future__ import annotations

from html import escape

from monitor.present import when_text
from rules import Analysis, Forecast, Priority

DELTA_P = "delta_p_rise"


def _said(forecast: Forecast) -> str:
    if forecast.eta is None:
        return f"<span class='muted'>{escape(forecast.reason)}</span>"
    _, _, rest = forecast.text().partition(" in ")
    return f"in {escape(rest)}"


def _happened(forecast: Forecast, starts: list[float]) -> str:
    later = [s for s in starts if s >= forecast.time]
    earlier = [s for s in starts if s < forecast.time]
    if later:
        hours = (later[0] - forecast.time) / 3600.0
        return f"in {hours:.1f} h ({escape(when_text(later[0])[11:16])})"
    if earlier:
        return "<span class='muted'>already reached</span>"
    return "<span class='muted'>not in this recording</span>"


def forecast_section(analysis: Analysis) -> str:
    """A table of the forecast of every whole hour for each delta P limit, beside when
    that limit's alert actually began."""
    if not analysis.forecasts:
        return "<p>The recording holds no whole hour: no forecast was made.</p>"
    starts = {
        p: sorted(e.start for e in analysis.episodes if e.rule == DELTA_P and e.priority == p)
        for p in (Priority.MEDIUM, Priority.HIGH)
    }
    by_hour: dict[float, dict[Priority, Forecast]] = {}
    for forecast in analysis.forecasts:
        by_hour.setdefault(forecast.time, {})[forecast.priority] = forecast
    limits = {f.priority: f.limit_mmhg for f in analysis.forecasts}
    head = "".join(
        f"<th>+{limits[p]:g} mmHg: forecast</th><th>+{limits[p]:g} mmHg: alert began</th>"
        for p in (Priority.MEDIUM, Priority.HIGH)
    )
    rows = []
    for hour, made in sorted(by_hour.items()):
        cells = "".join(
            f"<td>{_said(made[p])}</td><td>{_happened(made[p], starts[p])}</td>"
            for p in (Priority.MEDIUM, Priority.HIGH)
            if p in made
        )
        rows.append(f"<tr><td>{escape(when_text(hour)[:16])}</td>{cells}</tr>")
    return (
        "<p class='muted'>Advice, not an alarm: at each whole hour, from the resistance of "
        "the hours before (a Theil-Sen fit of the last 12 h), when the delta P rise at the "
        "flow of the time was expected to reach each limit, with its range; beside it, "
        "when that limit's alert actually began.</p>"
        f"<table class='forecasts'><tr><th>hour (UTC)</th>{head}</tr>{''.join(rows)}</table>"
    )
