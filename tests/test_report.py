"""The session report and the episode CSV: self-contained, escaped, formula-safe, small."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from adapters.csv_reader import ReadReport, Recording
from adapters.recording import write_dataframe
from adapters.simulator import simulate
from monitor.present import MAX_POINTS
from monitor.reports import SessionAnalysis, build_report, read_acknowledgements, run_analysis
from monitor.reports.figure import session_figure
from monitor.reports.formats import inert, to_csv
from monitor.store import AlarmStore, StoreError
from rules import Acknowledgement, Episode, Priority, analyze, match_acknowledgements

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_streams"
HOSTILE_EVENT = '<img src=x onerror="window.pwned=1">'
HOSTILE_NAME = "<b>bed&3\"'<b>.csv"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def exchange() -> SessionAnalysis:
    """A 4-hour oxygenator exchange: delta P medium then high, flow low, one event."""
    return run_analysis(SAMPLES / "oxygenator_exchange.csv")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A recording whose file name and event text are HTML."""
    frame = simulate("oxygenator_exchange", 4 * 3600)
    frame.loc[5000, "event"] = HOSTILE_EVENT
    path = tmp_path_factory.mktemp("hostile") / HOSTILE_NAME
    write_dataframe(frame, path)
    return path


def test_report_has_summary_timeline_episodes_and_thresholds(exchange):
    page = build_report(exchange)
    for text in (
        "Session summary",
        "sample_streams/oxygenator_exchange.csv",
        "2026-01-01 08:00:00",
        "14,400",
        "Data quality",
        "Timeline and trends",
        "Alert episodes",
        "Thresholds in force",
        "defaults.toml",
        "medium_mmhg",
    ):
        assert text in page, text
    # plotly.js is inline: nothing to fetch, no CDN
    assert get_plotlyjs()[:2000] in page
    assert "<script src=" not in page and "<link" not in page
    assert page.count("<tr><td>delta_p_rise</td>") == 3  # the count row and two episodes


def test_figure_is_valid_plotly_with_bars_by_priority(exchange):
    figure = session_figure(exchange)
    go.Figure(figure)  # raises on any attribute plotly does not know
    bars = {t["name"]: t for t in figure["data"] if t["type"] == "bar"}
    assert bars["medium priority alert"]["marker"]["color"] == "#ffd600"
    assert bars["high priority alert"]["marker"]["color"] == "#e00000"
    assert sorted(bars["high priority alert"]["y"]) == ["delta_p_rise", "flow_low"]
    episode = next(e for e in exchange.analysis.episodes if e.rule == "flow_low")
    assert int(episode.start * 1000) in bars["high priority alert"]["base"]
    events = next(t for t in figure["data"] if t["name"] == "event")
    assert events["text"] == ["oxygenator change"]
    trends = [t for t in figure["data"] if t["type"] == "scatter" and t["name"] != "event"]
    assert {t["yaxis"] for t in trends} == {"y2", "y3", "y4", "y5"}
    assert all(t["xaxis"] == "x" for t in figure["data"])  # one shared time axis
    assert all(len(t["x"]) <= MAX_POINTS for t in trends)


def test_report_escapes_file_names_and_event_text(hostile):
    page = build_report(run_analysis(hostile)).replace(get_plotlyjs(), "")
    assert HOSTILE_NAME not in page
    assert "&lt;b&gt;bed&amp;3&quot;&#x27;&lt;b&gt;.csv" in page
    assert "<img" not in page and 'onerror="' not in page
    figure = session_figure(run_analysis(hostile))
    events = next(t for t in figure["data"] if t["name"] == "event")
    assert "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;" in events["text"]


def test_seven_day_report_stays_a_few_megabytes():
    frame = simulate("gradual_oxygenator_thrombosis", 7 * 86400)
    frame["event"] = frame["event"].fillna("")
    report = ReadReport(source="week.csv", profile="canonical", rows=len(frame))
    result = SessionAnalysis(Recording(Path("week.csv"), frame, report), analyze(frame))
    page = build_report(result)
    beyond_plotly = len(page.encode()) - len(get_plotlyjs().encode())
    assert beyond_plotly < 600_000, beyond_plotly
    assert len(page.encode()) < 6_000_000


def test_csv_makes_text_formulas_inert_but_keeps_numbers(exchange):
    t = exchange.analysis.start
    hostile = (
        Episode("drainage_pressure_low", Priority.HIGH, t, t + 30, -105.0, "=1+1", -100.0, "mmHg"),
        Episode("flow_low", Priority.HIGH, t + 40, t + 50, 0.5, "+SUM(A1:A9)", 1.0, "L/min"),
        Episode("flow_drop", Priority.MEDIUM, t + 60, t + 70, -2.0, "-2+3", 20.0, "%"),
        Episode("hemolysis", Priority.HIGH, t + 80, None, None, "@cmd|' /C calc'!A0", None, ""),
        Episode("delta_p_rise", Priority.LOW, t + 90, t + 95, 31.0, "\t=1", 30.0, "mmHg"),
        Episode("delta_p_rise", Priority.LOW, t + 96, t + 99, 31.0, "\r=1", 30.0, "mmHg"),
    )
    result = dataclasses.replace(
        exchange, analysis=dataclasses.replace(exchange.analysis, episodes=hostile)
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(result))))
    assert [r["message"] for r in rows] == [
        "'=1+1",
        "'+SUM(A1:A9)",
        "'-2+3",
        "'@cmd|' /C calc'!A0",
        "'\t=1",
        "'\r=1",
    ]
    assert rows[0]["peak"] == "-105.0" and float(rows[0]["peak"]) == -105.0
    assert rows[0]["threshold"] == "-100.0"
    assert rows[2]["peak"] == "-2.0"
    assert rows[3]["end"] == "" and rows[3]["peak"] == ""
    assert inert(-105.0) == -105.0 and inert("-105.0") == "'-105.0"
    assert inert("2026-01-01T08:00:00+00:00") == "2026-01-01T08:00:00+00:00"


def test_csv_of_real_drainage_episodes_has_negative_numeric_peaks():
    result = run_analysis(SAMPLES / "drainage_insufficiency.csv")
    rows = list(csv.DictReader(io.StringIO(to_csv(result))))
    drainage = [r for r in rows if r["rule"] == "drainage_pressure_low"]
    assert drainage
    for row in drainage:
        assert float(row["peak"]) < float(row["threshold"]) < 0


def test_acknowledgements_are_matched_by_rule_time_and_priority():
    medium = Episode("delta_p_rise", Priority.MEDIUM, 100.0, 500.0, 60.0, "m", 30.0, "mmHg")
    high = Episode("delta_p_rise", Priority.HIGH, 200.0, 300.0, 80.0, "h", 40.0, "mmHg")
    later = Episode("delta_p_rise", Priority.MEDIUM, 900.0, 950.0, 40.0, "m", 30.0, "mmHg")
    flow = Episode("flow_low", Priority.HIGH, 1000.0, 1010.0, 0.5, "f", 1.0, "L/min")

    def ack(time: float, rule: str, priority: Priority) -> Acknowledgement:
        return Acknowledgement(time, rule, priority, "ana", "specialist")

    episodes = [medium, high, later, flow]
    # at medium before the escalation: the high level needs its own acknowledgement
    early = ack(150.0, "delta_p_rise", Priority.MEDIUM)
    assert match_acknowledgements(episodes, [early], 2000.0) == [early, None, None, None]
    # at high: both levels of that alert, not the next alert of the rule
    both = ack(250.0, "delta_p_rise", Priority.HIGH)
    assert match_acknowledgements(episodes, [both], 2000.0) == [both, both, None, None]
    # a latched high alert acknowledged after it cleared, before the rule alerted again
    latched = ack(1100.0, "flow_low", Priority.HIGH)
    assert match_acknowledgements(episodes, [latched], 2000.0)[3] is latched
    # long after the data ended: another session's acknowledgement
    assert (
        match_acknowledgements(episodes, [ack(9000.0, "flow_low", Priority.HIGH)], 2000.0)[3]
        is None
    )


def test_report_shows_who_acknowledged_from_the_alarm_log(exchange, tmp_path):
    episode = next(e for e in exchange.analysis.episodes if e.rule == "flow_low")
    with AlarmStore(tmp_path) as store:
        store.append_acknowledgement(
            Acknowledgement(
                episode.start + 20, "flow_low", Priority.HIGH, "<i>Dr Lee</i>", "specialist"
            )
        )
    acks = read_acknowledgements(tmp_path)
    assert len(acks) == 1
    page = build_report(exchange, acks)
    assert "acknowledged at (UTC)" in page
    assert "&lt;i&gt;Dr Lee&lt;/i&gt; (specialist)" in page
    rows = list(csv.DictReader(io.StringIO(to_csv(exchange, acks))))
    assert [r["acknowledged"] for r in rows] == [
        "yes" if r["rule"] == "flow_low" else "no" for r in rows
    ]
    with pytest.raises(StoreError, match="no alarm log there"):
        read_acknowledgements(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # never created empty


def test_analyze_html_command_writes_the_report(tmp_path):
    out = tmp_path / "report.html"
    done = run_cli(
        "analyze", str(SAMPLES / "acute_oxygenator_clot.csv"), "--format", "html", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Alert episodes" in page
    json_done = run_cli("analyze", str(SAMPLES / "acute_oxygenator_clot.csv"))
    alerts = json.loads(json_done.stdout)["alerts"]
    assert page.count("class='priority'") == len(alerts)


def test_analyze_with_a_missing_alarm_log_is_one_sentence(tmp_path):
    done = run_cli(
        "analyze", str(SAMPLES / "stable.csv"), "--alarm-log", str(tmp_path / "none"), "--format",
        "html",
    )  # fmt: skip
    assert done.returncode == 2
    assert "no alarm log there" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.browser
def test_report_opens_offline_in_chromium_and_draws_its_plots(page, hostile, tmp_path):
    result = run_analysis(hostile)
    path = tmp_path / "report.html"
    path.write_text(build_report(result), encoding="utf-8")
    requested: list[str] = []

    def offline(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requested.append(url)
            route.abort()

    page.context.route("**/*", offline)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)

    plots = page.locator(".js-plotly-plot")
    assert plots.count() == 1
    traces = page.evaluate(
        """() => document.querySelector('.js-plotly-plot').data.map(
               t => ({name: t.name, type: t.type, points: (t.x || []).length}))"""
    )
    names = {t["name"]: t["points"] for t in traces}
    assert names["Blood flow (L/min)"] > 1000
    assert names["Delta P (mmHg)"] > 1000
    assert names["high priority alert"] == sum(
        1 for e in result.analysis.episodes if e.priority is Priority.HIGH
    )
    # drawn, not just loaded: bars and line paths are in the SVG
    assert page.locator(".js-plotly-plot .barlayer .point").count() == len(result.analysis.episodes)
    assert page.locator(".js-plotly-plot .scatterlayer .js-line").count() >= 6
    # the hostile texts are shown as text, never run or parsed as HTML
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0
    assert HOSTILE_NAME in page.title()
    assert page.get_by_text(str(hostile), exact=True).count() == 1
    assert requested == [] and errors == []


def derived_section(page: str) -> str:
    start = page.index("<h2>Derived values</h2>")
    return page[start : page.index("<h2>", start + 10)]


def table_rows(section: str) -> list[list[str]]:
    """The cell texts of the section's first table, header row first."""
    table = section[section.index("<table") : section.index("</table>")]
    rows = []
    for row in table.split("<tr>")[1:]:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        rows.append([html.unescape(c) for c in cells])
    return rows


def test_report_lists_recirculation_and_effective_flow_at_each_gas_draw(tmp_path):
    path = tmp_path / "recirculation.csv"
    data = simulate("high_recirculation", 4 * 3600)
    write_dataframe(data, path)
    result = run_analysis(path, weight_kg=70.0)
    rows = table_rows(derived_section(build_report(result)))
    assert rows[0] == [
        "time (UTC)",
        "Membrane lung O2 transfer (mL/min)",
        "CO2 removal (mL/min)",
        "Recirculation (%)",
        "Effective flow (L/min)",
        "Effective flow per kg (mL/kg/min)",
        "Oxygenator resistance (mmHg/(L/min))",
    ]
    draws = data[data["post_oxy_so2_pct"].notna()]
    assert [r[0] for r in rows[1:]] == [t.strftime("%Y-%m-%d %H:%M:%S") for t in draws["timestamp"]]
    last, draw = rows[-1], draws.iloc[-1]
    r = (draw["svo2_pct"] - 65) / (100 - 65)
    assert last[1:3] == ["-", "-"]  # no pre-oxygenator gas, no exhaust CO2
    assert last[3] == f"{r * 100:.0f}" == "43"
    assert last[4] == f"{(1 - r) * draw['blood_flow_lpm']:.2f}"
    assert last[5] == f"{(1 - r) * draw['blood_flow_lpm'] * 1000 / 70:.0f}"
    assert last[6] == f"{draw['delta_p_mmhg'] / draw['blood_flow_lpm']:.1f}"


def test_report_without_weight_leaves_out_the_per_kg_column(tmp_path):
    path = tmp_path / "membrane.csv"
    write_dataframe(simulate("membrane_lung_failure", 4 * 3600), path)
    section = derived_section(build_report(run_analysis(path)))
    header = table_rows(section)[0]
    assert "Effective flow (L/min)" in header
    assert not any("mL/kg/min" in h for h in header)
    assert "Give the weight (--weight) for mL/kg/min." in section
    assert len(table_rows(section)) == 1 + 8  # a row per post-oxygenator PO2 draw


def test_report_without_blood_gases_says_so(exchange):
    section = derived_section(build_report(exchange))
    assert "No blood gases were recorded" in section
    assert "the median of each clock hour" in section  # the resistance is still there
