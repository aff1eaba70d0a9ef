"""Reading recordings: every kind of bad input gives a clear message or counts, nothing lost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adapters import TelemetryError
from adapters.csv_reader import read_recording

HEADER = (
    "timestamp,pump_speed_rpm,blood_flow_lpm,p_venous_mmhg,p_pre_oxy_mmhg,p_post_oxy_mmhg,event\n"
)


def row(second: int, flow: str = "4.10", extra: str = "", offset: str = "+00:00") -> str:
    return f"2026-01-01T08:00:{second:02d}{offset},3200,{flow},-42,205,183,{extra}\n"


def write(tmp_path, text: str | bytes, name: str = "session.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_clean_file_reads_every_row_with_derived_delta_p(tmp_path):
    path = write(tmp_path, HEADER + "".join(row(s) for s in range(5)))
    recording = read_recording(path)
    data = recording.data
    assert recording.report.rows == 5
    assert recording.report.rejected_rows == 0
    assert data["delta_p_mmhg"].tolist() == [22.0] * 5
    assert data["line"].tolist() == [2, 3, 4, 5, 6]
    assert str(data["timestamp"].dt.tz) == "UTC"
    assert np.diff(recording.seconds).tolist() == [1.0] * 4


def test_empty_file_stops_with_one_sentence(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(TelemetryError, match=r"session\.csv: the file is empty"):
        read_recording(path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(TelemetryError, match=r"nothing\.csv: no such file"):
        read_recording(tmp_path / "nothing.csv")


def test_header_only_stops_with_message(tmp_path):
    path = write(tmp_path, HEADER)
    with pytest.raises(TelemetryError, match="has a header but no data rows"):
        read_recording(path)


def test_missing_required_column_is_named(tmp_path):
    text = "timestamp,pump_speed_rpm,blood_flow_lpm,p_pre_oxy_mmhg\n2026-01-01T08:00:00Z,3200,4.1,205\n"
    with pytest.raises(TelemetryError, match=r"required column\(s\) missing: p_post_oxy_mmhg"):
        read_recording(write(tmp_path, text))


def test_text_in_a_number_skips_that_row_with_line_and_column(tmp_path):
    path = write(tmp_path, HEADER + row(0) + row(1, flow="abc") + row(2))
    recording = read_recording(path)
    assert recording.report.rows == 2
    assert recording.report.rejected_rows == 1
    (problem,) = recording.report.problems
    assert (problem.line, problem.column) == (3, "blood_flow_lpm")
    assert "'abc' is not a number" in problem.message
    assert recording.data["line"].tolist() == [2, 4]


def test_too_many_and_too_few_fields_are_counted_and_skipped(tmp_path):
    text = (
        HEADER + row(0, extra="note,surplus") + row(1) + "2026-01-01T08:00:02Z,3200,4.1\n" + row(3)
    )
    recording = read_recording(write(tmp_path, text))
    assert recording.report.rows == 2
    assert recording.report.rejected_rows == 2
    messages = {p.line: p.message for p in recording.report.problems}
    assert messages == {
        2: "8 fields where the header has 7",
        4: "3 fields where the header has 7",
    }


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    text = HEADER + row(0) + "\n\n" + row(1, flow="x")
    recording = read_recording(write(tmp_path, text))
    assert recording.report.problems[0].line == 5


def test_duplicate_timestamps_keep_the_first(tmp_path):
    text = HEADER + row(0) + row(1) + row(1, flow="3.00") + row(2)
    recording = read_recording(write(tmp_path, text))
    assert recording.report.rows == 3
    assert recording.report.rejected_rows == 1
    (problem,) = recording.report.problems
    assert problem.line == 4
    assert "duplicate timestamp" in problem.message and "first on line 3" in problem.message
    assert recording.data["blood_flow_lpm"].tolist() == [4.1, 4.1, 4.1]


def test_out_of_order_timestamps_are_sorted_and_reported(tmp_path):
    text = HEADER + row(0) + row(2) + row(1) + row(3)
    recording = read_recording(write(tmp_path, text))
    assert recording.report.rows == 4
    assert recording.report.rejected_rows == 0
    assert np.all(np.diff(recording.seconds) > 0)
    assert recording.data["line"].tolist() == [2, 4, 3, 5]
    assert any("out of time order (first on line 4)" in w for w in recording.report.warnings)


def test_timestamps_without_offset_are_taken_as_utc_with_a_warning(tmp_path):
    text = HEADER + row(0, offset="") + row(1, offset="")
    recording = read_recording(write(tmp_path, text))
    assert recording.data["timestamp"].iloc[0].isoformat() == "2026-01-01T08:00:00+00:00"
    assert any("no UTC offset" in w and "taken as UTC" in w for w in recording.report.warnings)


def test_offsets_are_converted_to_utc(tmp_path):
    text = HEADER + row(0, offset="+01:00")
    recording = read_recording(write(tmp_path, text))
    assert recording.data["timestamp"].iloc[0].isoformat() == "2026-01-01T07:00:00+00:00"
    assert recording.report.warnings == []


def test_unparseable_timestamp_skips_the_row(tmp_path):
    text = HEADER + row(0) + "yesterday,3200,4.1,-42,205,183,\n" + row(2)
    recording = read_recording(write(tmp_path, text))
    assert recording.report.rejected_rows == 1
    assert recording.report.problems[0].line == 3
    assert "not an ISO 8601 time" in recording.report.problems[0].message


def test_non_utf8_bytes_are_reported_and_only_bad_numbers_dropped(tmp_path):
    data = (HEADER + row(0, extra="caf\udce9") + row(1, flow="4.\udcff") + row(2)).encode(
        "utf-8", "surrogateescape"
    )
    recording = read_recording(write(tmp_path, data))
    assert recording.report.rows == 2
    assert recording.report.rejected_rows == 1
    assert recording.report.problems[0].line == 3
    assert any("not UTF-8 on 2 line(s) (2, 3)" in w for w in recording.report.warnings)
    assert recording.data["event"].iloc[0] == "caf\ufffd"


def test_values_out_of_range_are_kept_and_marked_as_artifacts(tmp_path):
    text = HEADER + row(0, flow="14.0") + row(1) + "2026-01-01T08:00:02Z,3200,4.1,-999,205,183,\n"
    recording = read_recording(write(tmp_path, text))
    data = recording.data
    assert recording.report.rows == 3
    assert recording.report.rejected_rows == 0
    assert data["blood_flow_lpm"].iloc[0] == 14.0  # kept as recorded
    assert data["artifact_mask"].tolist()[1] == 0
    assert data["artifact_mask"].iloc[0] != 0 and data["artifact_mask"].iloc[2] != 0
    assert recording.report.artifacts == 2
    assert recording.report.artifact_rows == 2


def test_only_bad_rows_is_an_unusable_file(tmp_path):
    text = HEADER + row(0, flow="x") + row(1, flow="y")
    with pytest.raises(TelemetryError, match="none of its 2 data rows could be used"):
        read_recording(write(tmp_path, text))


def test_gaps_over_ten_seconds_are_reported(tmp_path):
    text = HEADER + row(0) + row(1) + row(30) + row(31)
    recording = read_recording(write(tmp_path, text))
    (gap,) = recording.report.gaps
    assert gap.seconds == 29.0
    assert gap.start.isoformat() == "2026-01-01T08:00:01+00:00"


def test_generic_console_export_is_detected_and_mapped(tmp_path):
    text = "Time,RPM,Flow,P1,P2,P3,dP\n2026-01-01T08:00:00Z,3100,4.12,-42,182,160,21\n"
    recording = read_recording(write(tmp_path, text))
    assert recording.report.profile == "generic"
    first = recording.data.iloc[0]
    assert (first["pump_speed_rpm"], first["p_venous_mmhg"], first["p_pre_oxy_mmhg"]) == (
        3100,
        -42,
        182,
    )
    assert first["delta_p_mmhg"] == 21  # the device's own dP is kept


def test_cardiohelp_export_with_tabs_is_detected(tmp_path):
    text = "Time\tRPM\tFlow\tPven\tPint\tPart\n2026-01-01T08:00:00Z\t3100\t4.12\t-42\t182\t160\n"
    recording = read_recording(write(tmp_path, text))
    assert recording.report.profile == "cardiohelp"
    assert recording.data["delta_p_mmhg"].iloc[0] == 22
    assert math.isnan(recording.data["svo2_pct"].iloc[0])


def test_wrong_profile_names_the_missing_console_columns(tmp_path):
    text = "Time,RPM,Flow,P1,P2,P3\n2026-01-01T08:00:00Z,3100,4.12,-42,182,160\n"
    with pytest.raises(TelemetryError, match=r"cardiohelp profile: p_pre_oxy_mmhg \(Pint\)"):
        read_recording(write(tmp_path, text), profile="cardiohelp")


def test_labs_and_events_pass_through(tmp_path):
    text = (
        "timestamp,pump_speed_rpm,blood_flow_lpm,p_pre_oxy_mmhg,p_post_oxy_mmhg,plasma_free_hb_mg_dl,event\n"
        "2026-01-01T08:00:00Z,3200,4.1,205,183,,\n"
        "2026-01-01T08:00:01Z,3200,4.1,205,183,62.5,oxygenator_change\n"
    )
    recording = read_recording(write(tmp_path, text))
    assert recording.data["plasma_free_hb_mg_dl"].iloc[1] == 62.5
    assert recording.data["event"].tolist() == ["", "oxygenator_change"]
