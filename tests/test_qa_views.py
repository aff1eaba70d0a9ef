"""The QA views as a reviewer meets them: one acknowledgement rule everywhere, a what-if
form in words, a seek slider in clock time."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from adapters import ReadReport, Recording, to_datetime_utc
from monitor.reports import SessionAnalysis
from monitor.reports.formats import episode_rows
from monitor.web.qa.views import episode_table, layout, seek_marks
from monitor.web.qa.whatif import setting_words, whatif_form
from rules import Acknowledgement, Priority, analyze, default_config, load_config

T0 = 1_767_254_400.0


def kinked_return_line() -> pd.DataFrame:
    """Two hours at 1 Hz with one post-oxygenator pressure episode at 10-12 min."""
    seconds = T0 + pd.RangeIndex(7200).to_numpy(dtype="float64")
    post = [320.0 if 600 <= s - T0 < 720 else 175.0 for s in seconds]
    return pd.DataFrame(
        {
            "timestamp": to_datetime_utc(seconds),
            "pump_speed_rpm": 3200.0,
            "blood_flow_lpm": 4.2,
            "p_venous_mmhg": -45.0,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": post,
            "event": "",
        }
    )


@pytest.fixture(scope="module")
def result() -> SessionAnalysis:
    data = kinked_return_line()
    report = ReadReport(source="kink.csv", profile="canonical", rows=len(data))
    return SessionAnalysis(Recording("kink.csv", data, report), analyze(data))


def ack_at(seconds_after_start: float) -> Acknowledgement:
    return Acknowledgement(
        time=T0 + seconds_after_start,
        rule="post_oxy_pressure_high",
        priority=Priority.MEDIUM,
        user="sam",
        role="specialist",
    )


def test_the_qa_table_and_the_report_match_the_same_acknowledgements(result):
    (episode,) = result.analysis.episodes
    assert episode.rule == "post_oxy_pressure_high" and episode.end is not None
    # 90 minutes after the episode ended, no later alert: the report counts it
    late = [ack_at(episode.end - T0 + 90 * 60)]
    (row,) = episode_rows(result.analysis, late)
    table = json.dumps(episode_table(result, late).to_plotly_json(), default=str)
    assert row["acknowledged"] == "yes" and row["acknowledged_by"].startswith("sam")
    assert "no record" not in table and "sam at" in table
    # before the episode began: nobody's acknowledgement of it, in both
    early = [ack_at(60)]
    (row,) = episode_rows(result.analysis, early)
    assert row["acknowledged"] == "no"
    assert "no record" in json.dumps(episode_table(result, early).to_plotly_json(), default=str)


def texts(component) -> list[str]:
    out = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif hasattr(node, "children"):
            walk(node.children)

    walk(component)
    return out


def find(component, ident: str):
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            hit = find(child, ident)
            if hit is not None:
                return hit
    return None


def test_what_if_inputs_are_grouped_by_rule_under_its_title_in_words_with_units():
    groups = whatif_form(default_config())
    titles = [group.children[0].children for group in groups]
    assert "Oxygenator delta P rise" in titles and "Drainage pressure low" in titles
    delta_p = groups[titles.index("Oxygenator delta P rise")]
    words = texts(delta_p)
    assert "Medium (mmHg)" in words and "On delay (s)" in words and "default 30" in words
    assert not any(text.startswith("[") for text in words)  # no "[section] key" labels


def test_a_setting_in_force_that_differs_from_the_default_is_marked(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text("[flow_low]\nhigh_lpm = 1.5\n")
    fields = {
        field.id["key"]: field
        for group in whatif_form(load_config(path))
        if group.children[0].children == "Blood flow low"
        for field in group.children[1:]
    }
    assert fields["high_lpm"].className == "whatif-field changed"
    assert fields["on_delay_s"].className == "whatif-field"
    assert "default 1" in texts(fields["high_lpm"])


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("freeze_after_s", ("Freeze after", "s")),
        ("pfhb_medium_mg_dl", ("PfHb medium", "mg/dL")),
        ("minimum_ml_kg_min", ("Minimum", "mL/kg/min")),
        ("min_reference_min", ("Minimum reference", "min")),
        ("hold_fraction", ("Hold fraction", "")),
    ],
)
def test_setting_names_read_as_words_with_their_unit(key, words):
    assert setting_words(key) == words


def test_the_seek_slider_is_labelled_in_clock_time_and_takes_no_typed_epoch():
    marks = seek_marks(T0, T0 + 4 * 3600 - 1)  # a 4-hour recording's last sample
    assert list(marks.values()) == ["08:00", "08:40", "09:20", "10:00", "10:40", "11:20", "12:00"]
    assert min(marks) == T0 and max(marks) == T0 + 4 * 3600 - 1
    page = layout(default_config())
    assert find(page, "replay-seek").allow_direct_input is False
    assert find(page, "replay-seek").tooltip["transform"] == "clockTime"
    assert "Replay position (UTC)" in texts(page)


def test_nothing_is_drawn_in_the_whole_session_view_before_a_recording_is_open():
    page = layout(default_config())
    assert "Open a recording from the list above" in find(page, "qa-session-empty").children
    assert find(page, "qa-session").style == {"display": "none"}
    empty = find(page, "qa-timeline").figure["layout"]
    assert empty["paper_bgcolor"] == empty["plot_bgcolor"] == "#1a1a1a"
