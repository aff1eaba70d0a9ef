"""Any file in, one sentence out: real exports read correctly, the rest refused in a sentence.

Each case here crashed the reader with a traceback before (issue 10, section 1): line
endings, encodings, delimiters, quoting, repeated headers, epoch and out-of-range times,
binary bytes, repeated column names.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from adapters import TelemetryError
from adapters.csv_reader import read_recording
from monitor.cli import main

HEADER = (
    "timestamp,pump_speed_rpm,blood_flow_lpm,p_venous_mmhg,p_pre_oxy_mmhg,p_post_oxy_mmhg,event"
)
EPOCH0 = 1767254400  # 2026-01-01T08:00:00Z
MAX_SENTENCE = 300


def rows(n: int = 10, minute: int = 0, flow: str = "4.12") -> list[str]:
    return [f"2026-01-01T08:{minute:02d}:{s:02d}+00:00,3200,{flow},-42,205,183," for s in range(n)]


def lines_file(tmp_path, lines: list[str], end: str = "\n", name: str = "session.csv"):
    path = tmp_path / name
    path.write_bytes((end.join(lines) + end).encode())
    return path


def byte_file(tmp_path, data: bytes, name: str = "session.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refusal(path) -> str:
    with pytest.raises(TelemetryError) as caught:
        read_recording(path)
    message = str(caught.value)
    assert str(path) in message
    assert len(message) <= MAX_SENTENCE
    assert message.isprintable() and "\ufffd" not in message
    return message


def assert_like_clean(recording, n: int = 10):
    assert recording.report.rows == n and recording.report.rejected_rows == 0
    assert recording.data["blood_flow_lpm"].tolist() == [4.12] * n
    assert np.diff(recording.seconds).tolist() == [1.0] * (n - 1)


# -- read correctly, because real exports look like this ----------------------------------
def test_cr_only_line_endings_read_like_lf(tmp_path):
    recording = read_recording(lines_file(tmp_path, [HEADER, *rows()], end="\r"))
    assert_like_clean(recording)
    assert recording.data["line"].tolist() == list(range(2, 12))


def test_crlf_and_a_utf8_bom_read_like_lf(tmp_path):
    path = byte_file(tmp_path, b"\xef\xbb\xbf" + "\r\n".join([HEADER, *rows()]).encode())
    assert_like_clean(read_recording(path))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path, codec):
    text = "\n".join([HEADER, *rows()]) + "\n"
    data = text.encode(codec)
    if codec != "utf-16":  # the explicit codecs write no mark; a spreadsheet does
        data = ("\ufeff" + text).encode(codec)
    recording = read_recording(byte_file(tmp_path, data))
    assert_like_clean(recording)
    assert any("UTF-16" in w for w in recording.report.warnings)


def test_semicolons_with_decimal_commas_are_read_as_numbers(tmp_path):
    lines = [HEADER.replace(",", ";"), *(r.replace(",", ";") for r in rows(flow="4|12"))]
    lines = [line.replace("|", ",") for line in lines]
    recording = read_recording(lines_file(tmp_path, lines))
    assert_like_clean(recording)
    assert any("decimal comma" in w for w in recording.report.warnings)


def test_a_quoted_field_holding_a_line_break_is_one_row(tmp_path):
    lines = [HEADER, *rows(3), '2026-01-01T08:00:03Z,3200,4.12,-42,205,183,"first\nsecond"']
    lines += ["2026-01-01T08:00:04Z,3200,4.12,-42,205,183,after"]
    recording = read_recording(lines_file(tmp_path, lines))
    assert recording.report.rows == 5 and recording.report.rejected_rows == 0
    assert recording.data["event"].tolist()[3:] == ["first\nsecond", "after"]
    assert recording.data["line"].tolist() == [2, 3, 4, 5, 7]


def test_a_header_repeated_inside_the_file_is_skipped_with_a_warning(tmp_path):
    lines = [HEADER, *rows(5), HEADER, *rows(5, minute=1)]
    recording = read_recording(lines_file(tmp_path, lines))
    assert recording.report.rows == 10 and recording.report.rejected_rows == 0
    assert recording.report.data_lines == 10
    assert any("repeated on 1 line(s) (first on line 7)" in w for w in recording.report.warnings)


@pytest.mark.parametrize(("scale", "unit"), [(1, "seconds"), (1000, "milliseconds")])
def test_epoch_timestamps_are_taken_as_utc_with_a_warning(tmp_path, scale, unit):
    lines = [HEADER, *(f"{(EPOCH0 + s) * scale},3200,4.12,-42,205,183," for s in range(10))]
    recording = read_recording(lines_file(tmp_path, lines))
    assert_like_clean(recording)
    assert recording.data["timestamp"].iloc[0].isoformat() == "2026-01-01T08:00:00+00:00"
    assert any(f"epoch {unit}" in w and "UTC" in w for w in recording.report.warnings)


def test_epoch_milliseconds_keep_their_milliseconds(tmp_path):
    lines = [HEADER, *(f"{EPOCH0 * 1000 + 250 * s},3200,4.12,-42,205,183," for s in range(4))]
    recording = read_recording(lines_file(tmp_path, lines))
    micros = recording.data["timestamp"].dt.microsecond.tolist()
    assert micros == [0, 250_000, 500_000, 750_000]


# -- rows that cannot be used are rejected with their line, the rest kept -----------------
@pytest.mark.parametrize(
    "stamp",
    ["2262-06-01T00:00:00Z", "2726-06-01T00:00:00Z", "1900-01-01T00:00:00Z", "99999999999999999"],
)
def test_an_out_of_range_timestamp_is_a_rejected_row_with_its_line(tmp_path, stamp):
    lines = [HEADER, *rows(), f"{stamp},3200,4.12,-42,205,183,"]
    recording = read_recording(lines_file(tmp_path, lines))
    assert recording.report.rows == 10 and recording.report.rejected_rows == 1
    [problem] = recording.report.problems
    assert problem.line == 12 and problem.column == "timestamp"
    assert "outside the years" in problem.message


def test_an_unterminated_quote_rejects_its_row_and_keeps_the_rest(tmp_path):
    lines = [HEADER, *rows(5), '2026-01-01T08:00:05Z,3200,4.12,-42,205,183,"never closed']
    lines += rows(5, minute=1)
    recording = read_recording(lines_file(tmp_path, lines))
    assert recording.report.rows == 10 and recording.report.rejected_rows == 1
    assert recording.report.problems[0].line == 7
    assert "never closed" in recording.report.problems[0].message


def test_a_flipped_bit_gives_rows_or_a_sentence_never_a_crash(tmp_path):
    data = bytearray(("\n".join([HEADER, *rows(4)]) + "\n").encode())
    path = tmp_path / "flipped.csv"
    for position in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            path.write_bytes(flipped)
            try:
                report = read_recording(path).report
            except TelemetryError as exc:
                assert len(str(exc)) <= MAX_SENTENCE and str(exc).isprintable()
            else:
                assert report.rows + report.rejected_rows == report.data_lines


# -- refused in one sentence ---------------------------------------------------------------
@pytest.mark.parametrize("size", [300, 4096, 1_000_000])
def test_random_binary_is_refused_as_binary(tmp_path, size):
    message = refusal(byte_file(tmp_path, random.Random(size).randbytes(size)))
    assert "binary" in message


def test_binary_after_a_valid_header_is_refused_as_binary(tmp_path):
    data = (HEADER + "\n").encode() + random.Random(7).randbytes(20_000)
    assert "binary" in refusal(byte_file(tmp_path, data))


def test_utf16_without_its_mark_is_an_unknown_encoding(tmp_path):
    data = ("\n".join([HEADER, *rows()]) + "\n").encode("utf-16-le")
    message = refusal(byte_file(tmp_path, data))
    assert "UTF-16" in message and "unknown encoding" in message


def test_a_header_that_is_not_text_is_an_unknown_encoding(tmp_path):
    data = HEADER.encode().replace(b"event", b"\xe9v\xe8nement") + b"\n" + rows(1)[0].encode()
    assert "unknown encoding" in refusal(byte_file(tmp_path, data))


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    lines = [HEADER.replace("event", "Blood_Flow_LPM "), *(r + "4.0" for r in rows())]
    message = refusal(lines_file(tmp_path, lines))
    assert "names the column" in message and "twice" in message


def test_a_long_header_is_cut_to_80_printable_characters_in_the_message(tmp_path):
    header = ",".join(f"column_{i}_\u200b" for i in range(60))
    message = refusal(lines_file(tmp_path, [header, ",".join("1" * 60)]))
    shown = message.split("the header has: ", 1)[1].removesuffix(".")
    assert len(shown) <= 80 and shown.endswith("...") and "\u200b" not in shown


def test_a_header_with_an_unclosed_quote_is_refused(tmp_path):
    message = refusal(byte_file(tmp_path, b'timestamp,"pump_speed_rpm\n' + b"x" * 200_000))
    assert "header" in message


# -- the command line: exit 2 and the sentence, for analyze and run --replay ---------------
@pytest.mark.parametrize("command", ["analyze", "run"])
def test_the_command_line_refuses_a_binary_file_with_exit_2_and_one_sentence(
    tmp_path, capsys, command
):
    path = byte_file(tmp_path, os.urandom(2048), name="binary.csv")
    argv = ["analyze", str(path)] if command == "analyze" else ["run", "--replay", str(path)]
    argv += ["--data-dir", str(tmp_path / "data")] if command == "run" else []
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "binary" in err[0]
    assert len(err[0]) <= MAX_SENTENCE + len("ecmo-monitor: ")
