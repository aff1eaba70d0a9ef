"""Lab results from outside (a lab file, the page) either read or give the project's error."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import CHANNEL_BY_NAME, LabError, TelemetryError, lab_value, read_labs

VALID = b"timestamp,analyte,value,unit\n2026-01-01T08:00:00+00:00,pfhb,12,mg/dL\n"


@settings(max_examples=200, deadline=None)
@given(
    analyte=st.text(max_size=30) | st.sampled_from(["pfhb", "ldh", "hapto", "TBil"]),
    value=st.floats(allow_nan=True) | st.text(max_size=10) | st.none() | st.integers(),
    unit=st.none() | st.text(max_size=10) | st.sampled_from(["mg/dL", "g/L", "U/L", "umol/L"]),
)
def test_any_lab_result_is_a_plausible_canonical_value_or_a_lab_error(analyte, value, unit):
    try:
        name, number = lab_value(analyte, value, unit)
    except LabError as exc:
        assert str(exc).endswith(".")
        return
    channel = CHANNEL_BY_NAME[name]
    assert channel.lab and math.isfinite(number) and channel.low <= number <= channel.high


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=400) | st.builds(lambda cut, extra: VALID[:cut] + extra,
                                                 st.integers(0, len(VALID)), st.binary(max_size=40)))  # fmt: skip
def test_any_lab_file_reads_or_is_refused_in_a_sentence(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("labs") / "labs.csv"
    path.write_bytes(data)
    try:
        table, report = read_labs(path)
    except TelemetryError as exc:
        assert str(exc)
        return
    for name, number in zip(table["analyte"], table["value"], strict=True):  # what is kept is sound
        channel = CHANNEL_BY_NAME[name]
        assert channel.lab and channel.low <= number <= channel.high
    assert report.rejected_rows >= 0
