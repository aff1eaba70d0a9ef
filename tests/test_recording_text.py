"""Text cells in a recording: a spreadsheet never runs them, and a replay reads the same text."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import Frame, FrameClock, read_recording
from monitor.runtime import Recorder

T0 = 1_767_254_400.0
VALUES = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.2, "p_pre_oxy_mmhg": 200.0,
          "p_post_oxy_mmhg": 175.0}  # fmt: skip
HOSTILE = [
    '=HYPERLINK("http://attacker.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'already quoted",
    "\uff1dcmd",
    "oxygenator_change",
]


def record(tmp_path, texts: list[str]):
    recorder = Recorder(tmp_path, "text-test")
    clock = FrameClock()
    for i, text in enumerate(texts):
        recorder.write(clock.stamp_frame(Frame.build(T0 + i, VALUES, event=text)))
    recorder.close()
    return recorder.path


def test_event_text_that_a_spreadsheet_would_run_is_written_inert_and_read_back_whole(tmp_path):
    path = record(tmp_path, HOSTILE)
    with path.open(newline="") as handle:
        cells = [row["event"] for row in csv.DictReader(handle)]
    assert all(not cell.startswith(("=", "+", "-", "@", "\uff1d")) for cell in cells), cells
    assert cells[-1] == "oxygenator_change"  # plain words are written as they are
    assert read_recording(path).data["event"].tolist() == HOSTILE


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]),
                        min_size=1, max_size=30), min_size=1, max_size=5))  # fmt: skip
def test_any_event_text_round_trips_through_a_recording(tmp_path_factory, texts):
    texts = [t.strip() for t in texts if t.strip()]
    if not texts:
        return
    path = record(tmp_path_factory.mktemp("rt"), texts)
    assert read_recording(path).data["event"].tolist() == texts
