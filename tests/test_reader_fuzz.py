"""``read_recording`` fuzzed with hypothesis: counts that add up, or the project's own error.

Arbitrary bytes, and a valid recording made by the simulator with random byte edits,
truncations and inserted lines: reading either returns a result in which every data row
is kept or rejected (rows + rejected = data lines, and no more data lines than the file
has lines) or raises :class:`TelemetryError` with a short printable sentence. Nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters import TelemetryError
from adapters.csv_reader import read_recording
from adapters.recording import write_dataframe
from adapters.simulator import simulate

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_FOLDER = Path(tempfile.mkdtemp(prefix="ecmo-reader-fuzz-"))


def _valid_recording() -> bytes:
    path = _FOLDER / "valid.csv"
    write_dataframe(simulate("stable", duration_s=60, seed=3), path)
    return path.read_bytes()


VALID = _valid_recording()


def _physical_lines(data: bytes) -> int:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def check(data: bytes) -> None:
    path = _FOLDER / "fuzzed.csv"
    path.write_bytes(data)
    try:
        recording = read_recording(path)
    except TelemetryError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and len(message) <= 300
        assert message.isprintable()
        return
    report = recording.report
    assert report.rows == len(recording.data) > 0
    assert report.rows + report.rejected_rows == report.data_lines
    # data lines never exceed the file's lines (even counting a UTF-16 file's)
    assert report.data_lines <= _physical_lines(data.decode("utf-16", "replace").encode()) or (
        report.data_lines <= _physical_lines(data)
    )
    assert recording.data["timestamp"].is_monotonic_increasing


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_read_or_refuse(data):
    check(data)


@FUZZ
@given(st.binary(max_size=512), st.booleans())
def test_arbitrary_bytes_after_a_valid_header_read_or_refuse(tail, crlf):
    header = VALID.split(b"\n", 1)[0] + (b"\r\n" if crlf else b"\n")
    check(header + tail)


edits = st.lists(
    st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=12
)


@FUZZ
@given(edits)
def test_random_byte_edits_of_a_valid_recording_read_or_refuse(changes):
    data = bytearray(VALID)
    for position, value in changes:
        data[position] = value
    check(bytes(data))


@FUZZ
@given(st.integers(0, len(VALID)))
def test_a_truncated_recording_keeps_or_rejects_every_line(cut):
    data = VALID[:cut]
    check(data)
    lines = [line for line in data.split(b"\n")[1:] if line.strip()]
    path = _FOLDER / "fuzzed.csv"
    try:
        report = read_recording(path).report
    except TelemetryError:
        return
    # a cut file's lines are all data lines: each is kept or rejected, none lost
    assert report.data_lines == len(lines)


inserted = st.lists(
    st.tuples(
        st.integers(1, VALID.count(b"\n")),
        st.one_of(
            st.binary(max_size=80).filter(lambda b: b"\n" not in b and b"\r" not in b),
            st.sampled_from([b"", b'"', b",,,,", VALID.split(b"\n", 1)[0], b"\xef\xbb\xbf"]),
        ),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(inserted)
@example([(1, b"\xef\xbb\xbf")])  # a lone byte order mark that arrow took for a blank line
def test_inserted_lines_are_rejected_or_read_never_a_crash(insertions):
    lines = VALID.split(b"\n")
    for where, line in sorted(insertions, reverse=True):
        lines.insert(where, line)
    check(b"\n".join(lines))
