"""The QA workspace's views: layout, session timeline, episode table, what-if comparison.

Pure rendering from analyses; the callbacks that use them are beside this module. Every
chart is drawn in the page's dark theme, and nothing is drawn before a recording is open.
"""

from __future__ import annotations

from dash import dcc, html

from adapters import format_timestamp
from monitor.present import (
    SCREEN_PRIORITY_COLOURS,
    chart_text,
    clock_text,
    dark_axis,
    dark_layout,
    duration_text,
)
from monitor.reports import SessionAnalysis
from monitor.web.qa.whatif import whatif_form
from rules import RulesConfig, match_acknowledgements, rule_title

SPEEDS = (("1x", 1.0), ("10x", 10.0), ("60x", 60.0), ("600x", 600.0), ("as fast as possible", 0.0))
#: A figure with nothing in it yet, in the page's dark theme (never plotly's white).
EMPTY_FIGURE = {
    "data": [],
    "layout": dark_layout(height=60, xaxis={"visible": False}, yaxis={"visible": False}),
}
#: Most clock-time marks under the seek slider.
SEEK_MARKS = 7


def table(header: list[str], rows: list[list], table_id: str, row_attrs=None) -> html.Table:
    return html.Table(
        [html.Tr([html.Th(h) for h in header])]
        + [
            html.Tr([html.Td(cell) for cell in row], **(row_attrs(i) if row_attrs else {}))
            for i, row in enumerate(rows)
        ],
        id=table_id,
        className="qa-table",
    )


def timeline_figure(result: SessionAnalysis) -> dict:
    """Episodes by rule as bars coloured by priority, events and gaps, on the time axis."""
    analysis, data = result.analysis, result.recording.data
    traces = []
    for episode in analysis.episodes:
        end = episode.end if episode.end is not None else analysis.end
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [episode.start * 1000.0, end * 1000.0],
                "y": [rule_title(episode.rule)] * 2,
                "line": {
                    "color": SCREEN_PRIORITY_COLOURS.get(str(episode.priority), "#fff"),
                    "width": 14,
                },
                "name": f"{episode.rule} {episode.priority}",
                "hovertext": chart_text(episode.message),
                "showlegend": False,
            }
        )
    for gap in analysis.gaps:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [gap.start * 1000.0, gap.end * 1000.0],
                "y": ["Gaps in the data"] * 2,
                "line": {"color": "#9e9e9e", "width": 14},
                "name": "gap",
                "showlegend": False,
            }
        )
    events = data.loc[data["event"] != "", ["timestamp", "event"]]
    if len(events):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [t.timestamp() * 1000.0 for t in events["timestamp"]],
                "y": ["Events"] * len(events),
                "text": [chart_text(e) for e in events["event"]],
                "textposition": "top center",
                "marker": {"color": "#ffffff", "size": 10, "symbol": "diamond"},
                "showlegend": False,
            }
        )
    span = [(analysis.start or 0) * 1000.0, (analysis.end or 0) * 1000.0]
    layout = dark_layout(
        height=260,
        margin={"l": 200, "r": 70, "t": 10, "b": 30},
        xaxis=dark_axis(type="date", range=span),
        yaxis=dark_axis(type="category"),
    )
    return {"data": traces, "layout": layout}


def seek_marks(start: float, end: float) -> dict:
    """Clock-time labels (UTC, to the minute) under the seek slider, evenly spread."""
    if end - start < 60.0:
        return {start: clock_text(start)}
    step = (end - start) / (SEEK_MARKS - 1)
    marks = {}
    for i in range(SEEK_MARKS):
        at = min(max(round((start + i * step) / 60.0) * 60.0, start), end)
        marks[at] = clock_text(round(at / 60.0) * 60.0)[:5]
    return marks


def episode_table(result: SessionAnalysis, acks: list) -> html.Table:
    analysis = result.analysis
    matched = match_acknowledgements(analysis.episodes, acks, analysis.end)
    rows = []
    for e, ack in zip(analysis.episodes, matched, strict=True):
        rows.append(
            [
                e.rule,
                str(e.priority),
                format_timestamp(e.start),
                "still active" if e.end is None else format_timestamp(e.end),
                "" if e.end is None else duration_text(e.end - e.start),
                "" if e.peak is None else f"{e.peak:.4g} {e.unit}",
                "no record" if ack is None else f"{ack.user} at {format_timestamp(ack.time)}",
                e.message,
            ]
        )
    return table(
        ["rule", "priority", "start", "end", "duration", "peak", "acknowledged", "message"],
        rows,
        "qa-episodes",
        lambda i: {
            "data-rule": result.analysis.episodes[i].rule,
            "data-priority": str(result.analysis.episodes[i].priority),
        },
    )


def compare(a: SessionAnalysis, b: SessionAnalysis) -> html.Div:
    """Two configurations side by side: episodes and time in alert per rule and priority."""

    def summary(result):
        out = {}
        for e in result.analysis.episodes:
            end = e.end if e.end is not None else result.analysis.end
            count, seconds = out.get((e.rule, str(e.priority)), (0, 0.0))
            out[(e.rule, str(e.priority))] = (count + 1, seconds + (end - e.start))
        return out

    left, right = summary(a), summary(b)
    rows = []
    for key in sorted(set(left) | set(right)):
        la, ra = left.get(key, (0, 0.0)), right.get(key, (0, 0.0))
        rows.append([key[0], key[1], la[0], ra[0], duration_text(la[1]), duration_text(ra[1])])

    def keyset(result):
        return {(e.rule, str(e.priority), round(e.start)) for e in result.analysis.episodes}

    appear = sorted(keyset(b) - keyset(a), key=lambda k: k[2])
    vanish = sorted(keyset(a) - keyset(b), key=lambda k: k[2])
    return html.Div(
        [
            table(
                [
                    "rule",
                    "priority",
                    "episodes (in force)",
                    "episodes (what-if)",
                    "time in alert (in force)",
                    "time in alert (what-if)",
                ],
                rows,
                "whatif-table",
            ),
            html.P(
                f"{len(appear)} episode(s) appear with the what-if settings, {len(vanish)} vanish."
            ),
            html.Ul(
                [html.Li(f"appears: {r} {p} at {format_timestamp(t)}") for r, p, t in appear[:50]]
                + [
                    html.Li(f"vanishes: {r} {p} at {format_timestamp(t)}")
                    for r, p, t in vanish[:50]
                ]
            ),
        ],
        **{"data-appear": str(len(appear)), "data-vanish": str(len(vanish))},
    )


def layout(in_force: RulesConfig) -> html.Div:
    """The QA tab, with the what-if form filled in with the settings in force."""
    return html.Div(
        [
            html.H3("Recordings"),
            html.Button("Refresh list", id="qa-list-refresh"),
            html.Div(id="qa-recordings"),
            html.Div(id="qa-message", className="message"),
            html.H3("Replay"),
            html.Div(
                [
                    html.Button("Back to the live bed", id="qa-back"),
                    html.Button("Play", id="replay-play"),
                    html.Button("Pause", id="replay-pause"),
                    dcc.Dropdown(
                        [{"label": n, "value": v} for n, v in SPEEDS],
                        60.0,
                        id="replay-speed",
                        clearable=False,
                    ),
                    dcc.Dropdown(
                        [], None, id="replay-jump", placeholder="jump to an alert or event"
                    ),
                    html.Span(id="replay-status", className="replay-status"),
                ],
                className="replay-controls",
            ),
            html.Div(
                [
                    html.Span("Replay position (UTC)", className="seek-label"),
                    html.Span(id="replay-position", className="replay-position"),
                ],
                className="seek-caption",
            ),
            dcc.Slider(
                0,
                1,
                value=0,
                id="replay-seek",
                updatemode="mouseup",
                marks=None,
                allow_direct_input=False,  # it would show the position as epoch seconds
                tooltip={"always_visible": False, "transform": "clockTime"},
            ),
            html.H3("Whole session"),
            html.P(
                "Open a recording from the list above to see its whole session: the alert "
                "timeline, the trends and the episode table.",
                id="qa-session-empty",
                className="muted",
            ),
            dcc.Loading(
                html.Div(
                    [
                        dcc.Graph(id="qa-timeline", figure=EMPTY_FIGURE),
                        dcc.Graph(id="qa-trends", figure=EMPTY_FIGURE),
                        html.Div(id="qa-episodes-holder"),
                    ],
                    id="qa-session",
                    style={"display": "none"},
                )
            ),
            html.H3("What-if thresholds"),
            html.Div(whatif_form(in_force), id="whatif-fields", className="whatif-fields"),
            dcc.Upload(html.Button("Load a TOML file"), id="whatif-upload", max_size=64 * 1024),
            html.Button("Re-run with these settings", id="whatif-run"),
            dcc.Loading(html.Div(id="whatif-result")),
            html.H3("Many sessions"),
            html.Div(
                [
                    dcc.Dropdown([], None, id="batch-folder", placeholder="folder of recordings"),
                    html.Button("Analyse every recording in it", id="batch-run"),
                ],
                className="replay-controls",
            ),
            html.Div(id="batch-progress"),
            html.Div(id="batch-result"),
            html.H3("Export"),
            html.Button("HTML report", id="export-html"),
            html.Button("Episodes as CSV", id="export-csv"),
            dcc.Download(id="export-download"),
            dcc.Store(id="qa-open", data=None),
        ],
        className="qa",
    )
