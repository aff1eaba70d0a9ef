"""The session figure of the report: alert timeline, events and gaps above the trends."""

from __future__ import annotations

from html import escape

from adapters import CHANNEL_BY_NAME
from monitor.present import (
    MAX_POINTS,
    PRINT_PRIORITY_COLOURS,
    chart_text,
    duration_text,
    event_times,
    number_text,
    trace_points,
    when_text,
)
from monitor.reports.analysis import SessionAnalysis
from rules import RULE_IDS, Analysis, Priority, delta_p_reference_lines, resistance_in_force

#: Most events or gaps drawn as lines or shaded bands (markers carry the rest).
MAX_SHAPES = 300
EVENTS_ROW, GAPS_ROW = "events", "data gaps"
TIMELINE_ROWS = (*RULE_IDS, EVENTS_ROW, GAPS_ROW)
PROBLEMS_LISTED = 10
FIGURE_ID = "session-timeline"

# (key, label, colour, y axis)
_TRENDS = (
    ("blood_flow_lpm", "Blood flow", "#0277bd", "y2"),
    ("pump_speed_rpm", "Pump speed", "rgba(97,97,97,0.55)", "y5"),
    ("p_venous_mmhg", "Drainage pressure", "#8e24aa", "y3"),
    ("p_pre_oxy_mmhg", "Pre-oxygenator pressure", "#c62828", "y3"),
    ("p_post_oxy_mmhg", "Post-oxygenator pressure", "#2e7d32", "y3"),
    ("delta_p_mmhg", "Delta P", "#ef6c00", "y4"),
)


# -- the figure --------------------------------------------------------------------------
def _gaps(result: SessionAnalysis) -> list[tuple[float, float]]:
    """Stretches without rows (reader) or without valid data (rules), merged, in seconds."""
    spans = [(g.start.timestamp(), g.end.timestamp()) for g in result.report.gaps]
    spans += [(g.start, g.end) for g in result.analysis.gaps]
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _compact(xs: list, ys: list, digits: int) -> tuple[list, list]:
    """Whole milliseconds and rounded values: a third of the JSON of raw floats."""
    x = [None if v is None else int(v) for v in xs]
    y = [None if v is None else round(float(v), digits) for v in ys]
    return x, y


def _bars(analysis: Analysis) -> list[dict]:
    """One bar trace per priority: each episode from its start to its end."""
    start, end = analysis.start or 0.0, analysis.end or 0.0
    shortest = max((end - start) * 0.002, 1.0)  # a 2-s episode must still show
    traces = []
    for priority in (Priority.LOW, Priority.MEDIUM, Priority.HIGH):
        chosen = [e for e in analysis.episodes if e.priority is priority]
        if not chosen:
            continue
        rows, bases, widths, info = [], [], [], []
        for e in chosen:
            stop = end if e.end is None else e.end
            rows.append(e.rule)
            bases.append(int(e.start * 1000))
            widths.append(int(max(stop - e.start, shortest) * 1000))
            info.append(
                [
                    when_text(e.start),
                    "still active at the end of the data" if e.end is None else when_text(e.end),
                    duration_text(None if e.end is None else e.end - e.start),
                    escape(number_text(e.peak, e.unit)),
                    escape(e.message),
                ]
            )
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": f"{priority} priority alert",
                "y": rows,
                "base": bases,
                "x": widths,
                "xaxis": "x",
                "yaxis": "y",
                "width": 0.7,
                "marker": {
                    "color": PRINT_PRIORITY_COLOURS[str(priority)],
                    "line": {"color": "#333333", "width": 0.5},
                },
                "customdata": info,
                "hovertemplate": (
                    "<b>%{y}</b> " + str(priority) + "<br>%{customdata[0]} to %{customdata[1]}"
                    " (%{customdata[2]})<br>peak %{customdata[3]}<br>%{customdata[4]}<extra></extra>"
                ),
            }
        )
    return traces


def session_figure(result: SessionAnalysis) -> dict:
    """Timeline of episodes, events and gaps above the trends, one time axis (a plotly dict)."""
    analysis, data = result.analysis, result.recording.data
    event_seconds, event_texts = event_times(data)
    gaps = _gaps(result)
    traces = _bars(analysis)
    if gaps:
        shown = gaps[:MAX_POINTS]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": "data gap",
                "y": [GAPS_ROW] * len(shown),
                "base": [int(a * 1000) for a, _b in shown],
                "x": [int(max(b - a, 1.0) * 1000) for a, b in shown],
                "xaxis": "x",
                "yaxis": "y",
                "width": 0.7,
                "marker": {"color": "#9e9e9e"},
                "customdata": [
                    [when_text(a), when_text(b), duration_text(b - a)] for a, b in shown
                ],
                "hovertemplate": "data gap<br>%{customdata[0]} to %{customdata[1]} "
                "(%{customdata[2]})<extra></extra>",
            }
        )
    if event_texts:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "event",
                "y": [EVENTS_ROW] * min(len(event_texts), MAX_POINTS),
                "x": [int(t * 1000) for t in event_seconds[:MAX_POINTS]],
                "text": [chart_text(t) for t in event_texts[:MAX_POINTS]],
                "xaxis": "x",
                "yaxis": "y",
                "marker": {"symbol": "diamond", "size": 10, "color": "#37474f"},
                "hovertemplate": "%{text}<br>%{x}<extra>event</extra>",
            }
        )
    references = delta_p_reference_lines(analysis.config)
    gap_s = analysis.config.data_stale.recording_gap_s
    resistance = resistance_in_force(analysis.baselines)
    points = trace_points(data, resistance, references, gap_s, downsample=True)
    for key, label, colour, axis in _TRENDS:
        unit = CHANNEL_BY_NAME[key].unit
        x, y = _compact(*points[key], 0 if key == "pump_speed_rpm" else 2)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} ({unit})",
                "x": x,
                "y": y,
                "xaxis": "x",
                "yaxis": axis,
                "line": {"color": colour, "width": 1.2},
                "connectgaps": False,
                "hovertemplate": f"%{{y:.4g}} {unit}<extra>{label}</extra>",
            }
        )
    line_colours = {None: "#424242", **PRINT_PRIORITY_COLOURS}
    for line in references:
        name = line.label if line.priority is None else f"{line.label} ({line.priority})"
        x, y = _compact(*points[line.key], 2)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": y,
                "xaxis": "x",
                "yaxis": "y4",
                "line": {
                    "color": line_colours[line.priority],
                    "width": 1,
                    "dash": "dash" if line.priority is None else "dot",
                },
                "connectgaps": False,
                "hovertemplate": f"%{{y:.4g}} mmHg<extra>{name}</extra>",
            }
        )
    shapes = [
        {
            "type": "rect", "xref": "x", "yref": "paper", "x0": int(a * 1000),
            "x1": int(b * 1000), "y0": 0, "y1": 0.72, "fillcolor": "rgba(120,120,120,0.18)",
            "line": {"width": 0}, "layer": "below",
        }
        for a, b in gaps[:MAX_SHAPES]
    ]  # fmt: skip
    shapes += [
        {
            "type": "line", "xref": "x", "yref": "paper", "x0": int(t * 1000),
            "x1": int(t * 1000), "y0": 0, "y1": 1, "layer": "below",
            "line": {"color": "#37474f", "width": 1, "dash": "dot"},
        }
        for t in event_seconds[:MAX_SHAPES]
    ]  # fmt: skip
    grid = "#e0e0e0"
    xaxis = {"type": "date", "anchor": "y4", "gridcolor": grid, "title": {"text": "time (UTC)"}}
    if analysis.start is not None and analysis.end is not None:
        xaxis["range"] = [int(analysis.start * 1000), int(analysis.end * 1000)]
    layout = {
        "height": 1100,
        "margin": {"l": 170, "r": 70, "t": 20, "b": 50},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"color": "#212121", "size": 12},
        "barmode": "overlay",
        "hovermode": "closest",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.06},
        "xaxis": xaxis,
        "yaxis": {
            "domain": [0.76, 1.0],
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(TIMELINE_ROWS),
            "range": [len(TIMELINE_ROWS) - 0.5, -0.5],
            "fixedrange": True,
            "gridcolor": grid,
        },
        "yaxis2": {"domain": [0.51, 0.72], "title": {"text": "flow L/min"}, "gridcolor": grid},
        "yaxis5": {
            "overlaying": "y2",
            "side": "right",
            "title": {"text": "speed rpm"},
            "showgrid": False,
        },
        "yaxis3": {"domain": [0.26, 0.47], "title": {"text": "pressure mmHg"}, "gridcolor": grid},
        "yaxis4": {"domain": [0.0, 0.22], "title": {"text": "delta P mmHg"}, "gridcolor": grid},
        "shapes": shapes,
    }
    return {"data": traces, "layout": layout}


def figure_html(figure: dict) -> str:
    """The figure as a div with plotly.js inline (no network needed to draw it)."""
    import plotly.io as pio  # only the HTML report needs plotly: JSON and CSV start faster

    return pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=True,
        include_mathjax=False,
        div_id=FIGURE_ID,
        validate=False,  # tests validate the figure; here it would only cost time
        config={"displaylogo": False, "responsive": True},
    )


# -- the page ----------------------------------------------------------------------------
