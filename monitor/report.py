"""The session report: one self-contained HTML file that opens offline, plots included.

Summary and data quality, a timeline of alert episodes (bars coloured by priority),
events and gaps above the downsampled trends on one shared time axis, the episode
table (with acknowledgements when the session's alarm log is given) and the
thresholds in force. plotly.js is embedded inline, so the file needs no network; the
traces are downsampled (min/max per bucket) so even a 7-day recording stays a few MB,
most of it plotly.js itself. Every text from the recording or the file system is
escaped: a file name or an event note can hold HTML.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape

import numpy as np
import plotly.io as pio

from adapters import BASELINE_EVENTS, CHANNEL_BY_NAME, EVENT, TIMESTAMP, epoch_seconds
from rules import RULE_IDS, Analysis, Priority

from .analysis import SessionAnalysis, episode_counts, match_acknowledgements
from .downsample import MAX_POINTS
from .figures import trace_points

#: IEC 60601-1-8 alarm colours: high red, medium yellow, low cyan.
PRIORITY_COLOURS = {"high": "#e00000", "medium": "#ffd600", "low": "#00bcd4"}
PRIORITY_TEXT = {"high": "#ffffff", "medium": "#000000", "low": "#000000"}
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


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration_text(seconds: float | None) -> str:
    """``2 d 03:04:05``, ``03:04:05`` or ``45 s``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days} d {text}" if days else text


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g} {unit}".strip()


# -- the figure --------------------------------------------------------------------------
def _events(result: SessionAnalysis) -> tuple[np.ndarray, list[str]]:
    """Times (s) and texts of the recording's events."""
    data = result.recording.data
    if EVENT not in data or not len(data):
        return np.zeros(0), []
    text = data[EVENT].fillna("").astype("str").str.strip()
    rows = np.flatnonzero(text.to_numpy(dtype=object) != "")
    if not rows.size:
        return np.zeros(0), []
    return epoch_seconds(data[TIMESTAMP].iloc[rows]), text.iloc[rows].tolist()


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


def _resistance_at(analysis: Analysis, event_times: np.ndarray, event_texts: list[str]):
    """Baseline resistance (mmHg per L/min) in force at given times, NaN where none.

    A baseline holds from when it was established up to the next baseline event.
    """
    resets = np.sort(
        np.asarray(
            [
                t
                for t, k in zip(event_times, event_texts, strict=True)
                if k.lower() in BASELINE_EVENTS
            ],
            dtype="float64",
        )
    )
    spans = []
    for base in analysis.baselines:
        if base.resistance is None or base.established is None:
            continue
        later = resets[resets > base.established]
        spans.append((base.established, later[0] if later.size else np.inf, base.resistance))

    def at(seconds: np.ndarray) -> np.ndarray:
        out = np.full(len(seconds), np.nan)
        for start, end, resistance in spans:
            out[(seconds >= start) & (seconds < end)] = resistance
        return out

    return at


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
                    _when(e.start),
                    "still active at the end of the data" if e.end is None else _when(e.end),
                    duration_text(None if e.end is None else e.end - e.start),
                    escape(_number(e.peak, e.unit)),
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
                    "color": PRIORITY_COLOURS[str(priority)],
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
    event_times, event_texts = _events(result)
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
                "customdata": [[_when(a), _when(b), duration_text(b - a)] for a, b in shown],
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
                "x": [int(t * 1000) for t in event_times[:MAX_POINTS]],
                "text": [escape(t.replace("_", " ")) for t in event_texts[:MAX_POINTS]],
                "xaxis": "x",
                "yaxis": "y",
                "marker": {"symbol": "diamond", "size": 10, "color": "#37474f"},
                "hovertemplate": "%{text}<br>%{x}<extra>event</extra>",
            }
        )
    points = trace_points(data, _resistance_at(analysis, event_times, event_texts), True)
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
    cfg = analysis.config.delta_p_rise
    base_x, base_y = _compact(*points["delta_p_baseline"], 2)
    for name, offset, colour, dash in (
        ("Delta P baseline (flow-scaled)", 0.0, "#424242", "dash"),
        (f"Baseline +{cfg.medium_mmhg:g} mmHg (medium)", cfg.medium_mmhg, "#f9a825", "dot"),
        (f"Baseline +{cfg.high_mmhg:g} mmHg (high)", cfg.high_mmhg, "#e00000", "dot"),
    ):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": base_x,
                "y": [None if v is None else round(v + offset, 2) for v in base_y],
                "xaxis": "x",
                "yaxis": "y4",
                "line": {"color": colour, "width": 1, "dash": dash},
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
        for t in event_times[:MAX_SHAPES]
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
_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#212121;}
h1{font-size:1.5em;margin-bottom:.2em;} h2{font-size:1.2em;margin-top:1.6em;}
table{border-collapse:collapse;margin:.4em 0;} caption{text-align:left;font-weight:600;}
td,th{border:1px solid #bdbdbd;padding:3px 7px;font-size:13px;text-align:left;
vertical-align:top;} th{background:#f0f0f0;} td.num{text-align:right;}
.summary th{width:12em;} .muted{color:#616161;} .priority{font-weight:600;}
ul.lines{font-family:ui-monospace,monospace;font-size:12px;}
"""


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def _summary(result: SessionAnalysis) -> str:
    analysis, report = result.analysis, result.report
    span = None
    if analysis.start is not None and analysis.end is not None:
        span = analysis.end - analysis.start
    return (
        '<table class="summary">'
        + _rows(
            [
                ("source file", escape(str(result.recording.path))),
                ("start (UTC)", escape(_when(analysis.start))),
                ("end (UTC)", escape(_when(analysis.end))),
                ("duration", escape(duration_text(span))),
                ("samples", f"{analysis.samples:,}"),
                ("column profile", escape(report.profile)),
                ("thresholds from", escape(", ".join(analysis.config.sources))),
                ("alert episodes", f"{len(analysis.episodes):,}"),
            ]
        )
        + "</table>"
    )


def _quality(result: SessionAnalysis) -> str:
    report = result.report
    problems = sorted(report.problems, key=lambda p: p.line)
    gaps = report.gaps
    parts = [
        '<table class="summary">'
        + _rows(
            [
                ("rows used", f"{report.rows:,}"),
                ("rejected rows", f"{report.rejected_rows:,}"),
                (
                    "artifacts",
                    f"{report.artifacts:,} values in {report.artifact_rows:,} rows "
                    "(kept, never used by the rules)",
                ),
                ("gaps over 10 s", f"{len(gaps):,}"),
            ]
        )
        + "</table>"
    ]
    if problems:
        items = "".join(f"<li>{escape(str(p))}</li>" for p in problems[:PROBLEMS_LISTED])
        more = len(problems) - PROBLEMS_LISTED
        if more > 0:
            items += f"<li>... and {more:,} more rejected rows</li>"
        parts.append(f"<p>Rejected rows (skipped):</p><ul class='lines'>{items}</ul>")
    if report.warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
        parts.append(f"<p>Warnings:</p><ul class='lines'>{items}</ul>")
    if gaps:
        items = "".join(
            f"<li>{escape(_when(g.start.timestamp()))} to {escape(_when(g.end.timestamp()))} "
            f"({escape(duration_text(g.seconds))})</li>"
            for g in gaps[:20]
        )
        if len(gaps) > 20:
            items += f"<li>... and {len(gaps) - 20:,} more gaps</li>"
        parts.append(f"<p>Gaps:</p><ul class='lines'>{items}</ul>")
    return "".join(parts)


def _counts(analysis: Analysis) -> str:
    counts = episode_counts(analysis)
    head = "".join(f"<th>{p}</th>" for p in Priority)
    body = "".join(
        f"<tr><td>{escape(rule)}</td>"
        + "".join(f"<td class='num'>{counts[f'{rule}_{p}']}</td>" for p in Priority)
        + "</tr>"
        for rule in RULE_IDS
    )
    return f"<table><caption>Episodes per rule and priority</caption><tr><th>rule</th>{head}</tr>{body}</table>"


def _priority_cell(priority: str) -> str:
    colour, text = PRIORITY_COLOURS.get(priority, "#fff"), PRIORITY_TEXT.get(priority, "#000")
    return f"<td class='priority' style='background:{colour};color:{text}'>{escape(priority)}</td>"


def _episode_table(result: SessionAnalysis, acknowledgements: Iterable | None) -> str:
    analysis = result.analysis
    if not analysis.episodes:
        return "<p>No alert episodes.</p>"
    acks = None
    if acknowledgements is not None:
        acks = match_acknowledgements(analysis.episodes, acknowledgements, analysis.end)
    head = ["rule", "priority", "start (UTC)", "end (UTC)", "duration", "peak", "limit",
            "message"]  # fmt: skip
    if acks is not None:
        head += ["acknowledged", "acknowledged at (UTC)", "by"]
    rows = []
    for i, e in enumerate(analysis.episodes):
        cells = [
            f"<td>{escape(e.rule)}</td>",
            _priority_cell(str(e.priority)),
            f"<td>{escape(_when(e.start))}</td>",
            "<td class='muted'>still active at the end</td>"
            if e.end is None
            else f"<td>{escape(_when(e.end))}</td>",
            f"<td class='num'>{escape(duration_text(None if e.end is None else e.end - e.start))}</td>",
            f"<td class='num'>{escape(_number(e.peak, e.unit))}</td>",
            f"<td class='num'>{escape(_number(e.threshold, e.unit))}</td>",
            f"<td>{escape(e.message)}</td>",
        ]
        if acks is not None:
            ack = acks[i]
            if ack is None:
                cells += ["<td>no</td>", "<td></td>", "<td></td>"]
            else:
                note = f": {ack.note}" if getattr(ack, "note", "") else ""
                cells += [
                    "<td>yes</td>",
                    f"<td>{escape(_when(ack.time))}</td>",
                    f"<td>{escape(f'{ack.user} ({ack.role}){note}')}</td>",
                ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    note = (
        ""
        if acks is not None
        else "<p class='muted'>No alarm log was given, so acknowledgements are not shown "
        "(<code>--alarm-log DATA_DIR</code>).</p>"
    )
    return f"{note}<table class='episodes'><tr>{header}</tr>{''.join(rows)}</table>"


def _thresholds(analysis: Analysis) -> str:
    config = analysis.config
    rows = []
    for section, values in config.to_dict().items():
        for key, value in values.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            rows.append(
                f"<tr><td>[{escape(section)}]</td><td>{escape(key)}</td>"
                f"<td class='num'>{escape(shown)}</td></tr>"
            )
    sources = "".join(f"<li>{escape(s)}</li>" for s in config.sources)
    return (
        f"<p>From (later files override earlier ones):</p><ul>{sources}</ul>"
        f"<table><tr><th>section</th><th>key</th><th>value</th></tr>{''.join(rows)}</table>"
    )


def build_report(result: SessionAnalysis, acknowledgements: Iterable | None = None) -> str:
    """The whole report as one HTML document (plotly.js inline, no network needed).

    ``acknowledgements``: the session's alarm-log acknowledgements (records with
    ``time``, ``rule``, ``priority``, ``user``, ``role``); None leaves them out.
    """
    if acknowledgements is not None:
        acknowledgements = list(acknowledgements)
    source = escape(str(result.recording.path))
    figure = figure_html(session_figure(result))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ECMO session report: {source}</title><style>{_STYLE}</style></head>
<body>
<h1>ECMO session report</h1>
<p class="muted">ecmo-monitor whole-session analysis of {source}. Times are UTC.</p>
<h2>Session summary</h2>
{_summary(result)}
<h2>Data quality</h2>
{_quality(result)}
<h2>Timeline and trends</h2>
<p class="muted">Alert episodes by rule, coloured by priority (high red, medium yellow,
low cyan), events and data gaps, above the trends on the same time axis. Drag to zoom,
double-click to reset.</p>
{figure}
<h2>Alert episodes</h2>
{_counts(result.analysis)}
{_episode_table(result, acknowledgements)}
<h2>Thresholds in force</h2>
{_thresholds(result.analysis)}
</body></html>
"""
