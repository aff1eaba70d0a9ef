"""``ecmo-monitor analyze`` as a user runs it: the real command in a fresh process.

The JSON is exactly DESIGN.md section 6; a usable file with bad rows exits 0 with the
rows counted and reported; an unusable input exits 2 with one sentence and no
traceback; both engines give the same alerts; lab files, console exports with their own
column names, CSV (formula injection neutralised) and self-contained HTML all work; and
every alert message says what was measured and the limit, with units.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from adapters.recording import write_dataframe
from rules import RULE_IDS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_streams"
SAMPLE_NAMES = sorted(p.stem for p in SAMPLES.glob("*.csv"))
TOP_KEYS = {"source", "samples", "start", "end", "alerts", "forecasts", "data_quality"}
FORECAST_KEYS = {
    "time",
    "rule",
    "priority",
    "eta",
    "eta_low",
    "eta_high",
    "resistance_slope_per_day",
}
ALERT_KEYS = {"rule", "priority", "start", "end", "peak", "message"}
QUALITY_KEYS = {"rows", "rejected_rows", "artifacts", "gaps"}
GAP_KEYS = {"start", "end", "seconds"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


def analyze(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def analyze_json(*args: str) -> dict:
    done = analyze(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def batch():
    """The batch JSON of each sample stream, computed once for the module."""
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = analyze_json(SAMPLES / f"{name}.csv")
        return cache[name]

    return get


def sample_frame(name: str) -> pd.DataFrame:
    from adapters.csv_reader import read_recording

    return read_recording(SAMPLES / f"{name}.csv").data


# -- the JSON object ----------------------------------------------------------------------


def check_shape(doc: dict) -> None:
    assert set(doc) == TOP_KEYS
    assert isinstance(doc["samples"], int) and doc["samples"] > 0
    assert ISO_UTC.match(doc["start"]) and ISO_UTC.match(doc["end"])
    for alert in doc["alerts"]:
        assert set(alert) == ALERT_KEYS
        assert alert["rule"] in RULE_IDS
        assert alert["priority"] in ("low", "medium", "high")
        assert ISO_UTC.match(alert["start"])
        assert alert["end"] is None or ISO_UTC.match(alert["end"])
        assert isinstance(alert["peak"], int | float) and isinstance(alert["message"], str)
    for forecast in doc["forecasts"]:
        assert set(forecast) == FORECAST_KEYS and forecast["rule"] == "delta_p_rise"
        assert ISO_UTC.match(forecast["time"]) and forecast["priority"] in ("medium", "high")
        for key in ("eta", "eta_low", "eta_high"):
            assert forecast[key] is None or ISO_UTC.match(forecast[key])
        slope = forecast["resistance_slope_per_day"]
        assert slope is None or isinstance(slope, float)
    hours = {f["time"] for f in doc["forecasts"]}
    assert len(doc["forecasts"]) == 2 * len(hours)  # one per whole hour and limit
    quality = doc["data_quality"]
    assert set(quality) == QUALITY_KEYS
    for key in ("rows", "rejected_rows", "artifacts"):
        assert isinstance(quality[key], int) and quality[key] >= 0
    for gap in quality["gaps"]:
        assert set(gap) == GAP_KEYS
        assert ISO_UTC.match(gap["start"]) and ISO_UTC.match(gap["end"])
        assert gap["seconds"] > 10


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_json_has_exactly_the_keys_of_the_design(batch, name):
    doc = batch(name)
    check_shape(doc)
    assert doc["source"].endswith(f"{name}.csv")
    assert doc["samples"] == doc["data_quality"]["rows"]


def test_gaps_and_artifacts_are_reported_in_data_quality(batch):
    doc = batch("sensor_dropout")
    quality = doc["data_quality"]
    assert [round(g["seconds"]) for g in quality["gaps"]] == [91, 46]
    assert quality["artifacts"] == 120 and quality["rejected_rows"] == 0
    assert {a["rule"] for a in doc["alerts"]} == {"data_stale"}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_incremental_engine_gives_the_same_alerts(batch, name):
    doc = analyze_json(SAMPLES / f"{name}.csv", "--engine", "incremental")
    assert doc == batch(name)


# -- every message says the value and the limit, with units -------------------------------

NUM = r"[-+]?\d+(?:\.\d+)?"
UNIT = r"(?:mmHg|L/min|mL/kg/min|%|s|mg/dL|U/L)"
MESSAGE = {
    "delta_p_rise": rf"^delta P {NUM} mmHg is {NUM} mmHg above .*\(limit \+{NUM} mmHg\)",
    "flow_drop": rf"^blood flow {NUM} L/min is {NUM} % below .*\({NUM} L/min\).*\(limit -{NUM} %\)$",
    "flow_low": rf"^blood flow {NUM} L/min is .*below the limit of {NUM} (?:L/min|mL/kg/min)",
    "drainage_pressure_low": rf"^drainage pressure {NUM} mmHg is .* limit of {NUM} mmHg$",
    "post_oxy_pressure_high": rf"^post-oxygenator pressure {NUM} mmHg is .* limit of {NUM} mmHg$",
    "sweep_gas_lost": rf"^sweep gas {NUM} L/min is below the limit of {NUM} L/min while blood",
    "membrane_lung_po2": rf"^post-oxygenator PO2 {NUM} mmHg at FdO2 {NUM} is below the limit of {NUM} mmHg",
    "recirculation": rf"^recirculation {NUM} % is above the limit of {NUM} %",
    "drainage_chatter": (
        rf"^drainage pressure swings over {NUM} mmHg \(limit {NUM} mmHg\) and blood flow "
        rf"over {NUM} % of its median {NUM} L/min \(limit {NUM} %\)"
    ),
    "resistance_trend": (
        rf"^resistance rising {NUM} mmHg/\(L/min\)/day .*\(limit {NUM} mmHg/\(L/min\)/day"
    ),
    "data_stale": rf"^no valid data from the device for {NUM} s \(limit {NUM} s\)",
}
LAB_PART = rf"^[\w ]+ {NUM} (?:mg/dL|U/L) \(limit (?:below )?{NUM} (?:mg/dL|U/L)[^()]*\)$"


def check_message(alert: dict) -> None:
    message = alert["message"]
    if alert["rule"] == "hemolysis":
        for part in message.split("; "):
            assert re.match(LAB_PART, part), message
    else:
        assert re.match(MESSAGE[alert["rule"]], message), message
    assert re.search(rf"{NUM} {UNIT}", message) and "limit" in message


def test_every_alert_message_carries_the_value_and_the_limit_with_units(batch, tmp_path):
    seen = set()
    for name in SAMPLE_NAMES:
        for alert in batch(name)["alerts"]:
            check_message(alert)
            seen.add(alert["rule"])
    # with a weight, flow below the prescribed minimum in mL/kg/min is judged too
    weighted = analyze_json(SAMPLES / "return_line_kink.csv", "--weight", "70")
    assert "flow_low" in {a["rule"] for a in weighted["alerts"]}
    for alert in weighted["alerts"]:
        check_message(alert)
    # the sample streams reach every rule but resistance_trend, which needs 12 h of data
    # (tests/test_rules_foresight.py)
    assert seen == set(RULE_IDS) - {"resistance_trend"}


# -- malformed rows and unusable inputs ---------------------------------------------------


def test_a_file_with_malformed_rows_is_analysed_and_the_rows_reported(tmp_path):
    lines = (SAMPLES / "return_line_kink.csv").read_text().splitlines()
    bad = {
        100: "garbage that is not a row",
        2000: lines[2000].replace(",3", ",x3", 1),  # text in the pump speed
        5000: "not-a-time" + lines[5000][lines[5000].index(",") :],
        9000: lines[9000] + ",1,2,3",  # too many fields
    }
    out = [bad.get(i, line) for i, line in enumerate(lines)]
    path = tmp_path / "malformed.csv"
    path.write_text("\n".join(out) + "\n")
    done = analyze(path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # standard output is still only the JSON
    check_shape(doc)
    assert doc["data_quality"]["rejected_rows"] == len(bad)
    assert doc["samples"] == len(lines) - 1 - len(bad)
    for i in bad:
        assert f"line {i + 1}" in done.stderr  # file lines count from 1
    assert "Traceback" not in done.stderr
    assert {a["rule"] for a in doc["alerts"]} == {"flow_drop", "post_oxy_pressure_high"}


def _unusable(tmp_path: Path) -> dict[str, list[str]]:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_text(
        "timestamp,pump_speed_rpm,blood_flow_lpm,p_pre_oxy_mmhg,p_post_oxy_mmhg\n\n"
    )
    no_flow = tmp_path / "no_flow.csv"
    no_flow.write_text(
        "timestamp,pump_speed_rpm,p_pre_oxy_mmhg,p_post_oxy_mmhg\n"
        "2026-01-01T08:00:00+00:00,3200,200,175\n"
    )
    config = tmp_path / "site.toml"
    config.write_text("[flow_drop]\nmedium_pc = 20  # a typo\n")
    return {
        "empty": [str(empty)],
        "header only": [str(header_only)],
        "missing a required column": [str(no_flow)],
        "folder that does not exist": [str(tmp_path / "no" / "such" / "folder")],
        "file that does not exist": [str(tmp_path / "nothing.csv")],
        "bad config key": [str(SAMPLES / "stable.csv"), "--config", str(config)],
        "bad profile": [str(SAMPLES / "stable.csv"), "--profile", "nonesuch"],
    }


EXPECTED_WORDS = {
    "empty": "empty",
    "header only": "no data rows",
    "missing a required column": "blood_flow_lpm",
    "folder that does not exist": "no such",
    "file that does not exist": "no such file",
    "bad config key": "medium_pc",
    "bad profile": "nonesuch",
}


@pytest.mark.parametrize("case", list(EXPECTED_WORDS))
def test_an_unusable_input_exits_2_with_one_sentence(tmp_path, case):
    done = analyze(*_unusable(tmp_path)[case])
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("ecmo-monitor: ") and message.endswith(".")
    assert EXPECTED_WORDS[case] in message


# -- labs, console exports ----------------------------------------------------------------


def test_a_lab_file_raises_hemolysis_when_its_results_cross_the_limits(tmp_path, batch):
    assert not [a for a in batch("stable")["alerts"] if a["rule"] == "hemolysis"]
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "timestamp,analyte,value,unit\n"
        "2026-01-01T09:00:00+00:00,PfHb,8.0,mg/dL\n"
        "2026-01-01T09:40:00+00:00,plasma free hemoglobin,64,mg/dL\n"
        "2026-01-01T10:30:00+00:00,PfHb,1.3,g/L\n"  # 130 mg/dL
        "2026-01-01T11:15:00+00:00,pfhb,30,mg/dL\n"
        "2026-01-01T11:20:00+00:00,PfHb,lots,mg/dL\n"  # not a number: counted, skipped
    )
    done = analyze(SAMPLES / "stable.csv", "--labs", labs)
    assert done.returncode == 0, done.stderr
    assert "line 6" in done.stderr
    hemolysis = [a for a in json.loads(done.stdout)["alerts"] if a["rule"] == "hemolysis"]
    found = {(a["priority"], a["start"], a["end"]) for a in hemolysis}
    assert found == {
        # an alert that starts at medium has reached low too, at the same time; 30 mg/dL
        # after 130 is below the medium line but still above the 20 mg/dL trend floor
        ("low", "2026-01-01T09:40:00.000+00:00", None),
        ("medium", "2026-01-01T09:40:00.000+00:00", "2026-01-01T11:15:00.000+00:00"),
        ("high", "2026-01-01T10:30:00.000+00:00", "2026-01-01T11:15:00.000+00:00"),
    }
    high = next(a for a in hemolysis if a["priority"] == "high")
    assert high["peak"] == pytest.approx(130.0)
    assert "130 mg/dL (limit 100 mg/dL)" in high["message"]


EXPORTS = {
    # profile: (sample, timestamp name, canonical -> console names)
    "generic": (
        "return_line_kink",
        "Time",
        {
            "pump_speed_rpm": "RPM",
            "blood_flow_lpm": "Flow",
            "p_venous_mmhg": "P1",
            "p_pre_oxy_mmhg": "P2",
            "p_post_oxy_mmhg": "P3",
            "delta_p_mmhg": "dP",
        },
    ),
    "cardiohelp": (
        "drainage_insufficiency",
        "DateTime",
        {
            "pump_speed_rpm": "RPM",
            "blood_flow_lpm": "Flow",
            "p_venous_mmhg": "Pven",
            "p_pre_oxy_mmhg": "Pint",
            "p_post_oxy_mmhg": "Part",
        },
    ),
}


@pytest.mark.parametrize("profile", list(EXPORTS))
def test_a_console_export_with_its_own_column_names_is_detected_and_analysed(
    tmp_path, batch, profile
):
    name, time_name, names = EXPORTS[profile]
    data = sample_frame(name)
    export = pd.DataFrame({time_name: data["timestamp"].map(lambda t: t.isoformat())})
    for canonical, console in names.items():
        export[console] = data[canonical]
    export["SvO2"] = data["svo2_pct"]
    path = tmp_path / f"{profile}-export.csv"
    export.to_csv(path, index=False)
    doc = analyze_json(path)
    check_shape(doc)
    assert doc["samples"] == len(data) and doc["data_quality"]["rejected_rows"] == 0
    expected = batch(name)["alerts"]
    assert doc["alerts"] == expected and expected


# -- CSV and HTML -------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]


def test_csv_output_neutralises_formula_injection():
    from monitor.reports import SessionAnalysis
    from monitor.reports.formats import to_csv
    from rules import Episode, Priority
    from rules import analyze as run_rules

    # no message starts with a formula sign today; the writer must not rely on that
    result = run_rules(sample_frame("return_line_kink"))
    episodes = tuple(
        Episode(e.rule, Priority("high"), e.start, e.end, e.peak, text, e.threshold, text)
        for e, text in zip(result.episodes, HOSTILE, strict=True)
    )
    session = SessionAnalysis(recording=None, analysis=replace(result, episodes=episodes))
    rows = list(csv.DictReader(io.StringIO(to_csv(session))))
    assert [row["message"] for row in rows] == ["'" + text for text in HOSTILE]
    assert [row["unit"] for row in rows] == ["'" + text for text in HOSTILE]
    assert [float(row["peak"]) for row in rows] == [e.peak for e in episodes]


def test_csv_from_the_command_makes_hostile_file_names_and_events_inert(tmp_path):
    # a folder of recordings: file names and errors land in the table's text cells
    folder = tmp_path / "exports"
    folder.mkdir()
    data = sample_frame("return_line_kink")
    data.loc[10, "event"] = "=cmd|' /C calc'!A0"  # an event typed at the bedside
    write_dataframe(data, folder / "=1+2.csv")
    (folder / "@SUM(A1).csv").write_text("")  # unusable: its error row names it
    done = analyze(folder, "--format", "csv")
    assert done.returncode == 0, done.stderr  # one usable file is enough
    assert "Traceback" not in done.stderr
    for row in csv.reader(io.StringIO(done.stdout)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert "'=1+2.csv" in done.stdout and "'@SUM(A1).csv" in done.stdout
    # a single recording: every text cell of the episode table is inert too
    single = analyze(folder / "=1+2.csv", "--format", "csv")
    assert single.returncode == 0, single.stderr
    rows = list(csv.reader(io.StringIO(single.stdout)))
    assert rows[0][:3] == ["rule", "priority", "start"] and len(rows) > 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")), cell
            assert not cell.startswith("-") or _is_number(cell), cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Resources(HTMLParser):
    """Tags and every attribute that would make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.fetches: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for key, value in attrs:
            fetching = key in ("src", "href", "data", "poster", "srcset", "background", "action")
            if fetching and value and not value.startswith(("data:", "#")):
                self.fetches.append((tag, value))


def test_html_output_is_one_self_contained_page(tmp_path):
    out = tmp_path / "report.html"
    done = analyze(SAMPLES / "return_line_kink.csv", "--format", "html", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the page went to --out, the note to standard error
    assert str(out) in done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    parser = _Resources()
    parser.feed(page)
    assert parser.fetches == []  # nothing to fetch: opens offline
    assert "link" not in parser.tags and "iframe" not in parser.tags
    assert "flow_drop" in page and "post_oxy_pressure_high" in page
