"""The session report: one self-contained HTML file that opens offline, plots included.

Summary and data quality, a timeline of alert episodes (bars coloured by priority),
events and gaps above the downsampled trends on one shared time axis, the episode
table (with acknowledgements when the session's alarm log is given), the derived values
at each blood gas draw (rules.derived_report) and the thresholds in force. plotly.js is embedded inline, so the file needs no network; the
traces are downsampled (min/max per bucket) so even a 7-day recording stays a few MB,
most of it plotly.js itself. Every text from the recording or the file system is
escaped: a file name or an event note can hold HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from monitor.present import (
    PRINT_PRIORITY_COLOURS,
    PRINT_PRIORITY_TEXT,
    duration_text,
    number_text,
    when_text,
)
from monitor.reports.analysis import SessionAnalysis, episode_counts
from monitor.reports.figure import PROBLEMS_LISTED, figure_html, session_figure
from monitor.reports.forecasts import forecast_section
from rules import DERIVED_KINDS, RULE_IDS, Analysis, DerivedRow, Priority, match_acknowledgements

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
                ("start (UTC)", escape(when_text(analysis.start))),
                ("end (UTC)", escape(when_text(analysis.end))),
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
            f"<li>{escape(when_text(g.start.timestamp()))} to {escape(when_text(g.end.timestamp()))} "
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
    colour = PRINT_PRIORITY_COLOURS.get(priority, "#fff")
    text = PRINT_PRIORITY_TEXT.get(priority, "#000")
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
            f"<td>{escape(when_text(e.start))}</td>",
            "<td class='muted'>still active at the end</td>"
            if e.end is None
            else f"<td>{escape(when_text(e.end))}</td>",
            f"<td class='num'>{escape(duration_text(None if e.end is None else e.end - e.start))}</td>",
            f"<td class='num'>{escape(number_text(e.peak, e.unit))}</td>",
            f"<td class='num'>{escape(number_text(e.threshold, e.unit))}</td>",
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
                    f"<td>{escape(when_text(ack.time))}</td>",
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


def _derived_table(rows: tuple[DerivedRow, ...], kinds) -> str:
    head = "<th>time (UTC)</th>" + "".join(
        f"<th>{escape(kind.label)} ({escape(kind.unit)})</th>" for kind in kinds
    )
    body = []
    for row in rows:
        cells = [f"<td>{escape(when_text(row.time))}</td>"]
        for kind in kinds:
            value = row.get(kind.key)
            cells.append(
                "<td class='num muted'>-</td>"
                if value is None
                else f"<td class='num' title='{escape(value.inputs)}'>{escape(value.text)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='derived'><tr>{head}</tr>{''.join(body)}</table>"


def _derived(result: SessionAnalysis) -> str:
    """The derived values at each blood gas draw, and the resistance hour by hour."""
    derived = result.analysis.config.derived
    report = result.derived()
    kinds = [k for k in DERIVED_KINDS if result.weight_kg or k.key != "effective_flow_per_kg"]
    if report.draws:
        parts = [
            "<p class='muted'>At each blood gas draw, from the latest value of every input "
            f"at or before it (blood gases and Hb no older than {derived.max_age_min:g} min); "
            "a dash where an input was missing. Hover a value for its inputs."
            + ("" if result.weight_kg else " Give the weight (--weight) for mL/kg/min.")
            + "</p>",
            _derived_table(report.draws, kinds),
        ]
    else:
        parts = ["<p>No blood gases were recorded, so there are no values at gas draws.</p>"]
    if report.hourly_resistance:
        (resistance,) = [k for k in DERIVED_KINDS if k.key == "resistance"]
        parts += [
            "<p class='muted'>Oxygenator resistance, the median of each clock hour.</p>",
            _derived_table(report.hourly_resistance, [resistance]),
        ]
    return "".join(parts)


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
<h2>Derived values</h2>
{_derived(result)}
<h2>Delta P forecast</h2>
{forecast_section(result.analysis)}
<h2>Thresholds in force</h2>
{_thresholds(result.analysis)}
</body></html>
"""
