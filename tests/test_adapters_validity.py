"""One test of validity in four forms: a sample's artifact mask and clean values, a column's
artifacts and clean values, all agree, and a recording read from disk is marked by it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from adapters import (
    CHANNEL_BIT,
    CHANNELS,
    NUMERIC_COLUMNS,
    artifact_column,
    artifact_mask,
    clean_column,
    clean_value,
    read_recording,
)


def reading(channel) -> st.SearchStrategy[float]:
    span = channel.high - channel.low
    return st.one_of(
        st.just(math.nan),  # not measured
        st.sampled_from([channel.low, channel.high]),  # the limits are plausible
        st.floats(channel.low - span, channel.high + span, allow_nan=False),
    )


samples = st.lists(
    st.fixed_dictionaries({c.name: reading(c) for c in CHANNELS}), min_size=1, max_size=30
)


@given(samples)
def test_the_sample_and_the_column_forms_judge_every_value_alike(rows):
    masks = [artifact_mask(row) for row in rows]
    for name in NUMERIC_COLUMNS:
        column = np.array([row[name] for row in rows])
        artifacts = artifact_column(column, name)
        assert list(artifacts) == [bool(m >> CHANNEL_BIT[name] & 1) for m in masks]
        clean = clean_column(column, name)
        by_value = [clean_value(row, 0, name) for row in rows]
        assert [None if math.isnan(v) else v for v in clean] == [
            None if v is None or math.isnan(v) else v for v in by_value
        ]
        # clean = measured and no artifact
        assert list(~np.isnan(clean)) == list(~np.isnan(column) & ~artifacts)


def test_a_marked_value_is_not_clean_even_when_plausible():
    row = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.2}
    marked = 1 << CHANNEL_BIT["blood_flow_lpm"]
    assert clean_value(row, marked, "blood_flow_lpm") is None
    assert clean_value(row, marked, "pump_speed_rpm") == 3200.0
    column = np.array([4.2, 4.3])
    mask = np.array([marked, 0])
    assert np.isnan(clean_column(column, "blood_flow_lpm", mask)[0])
    assert clean_column(column, "blood_flow_lpm", mask)[1] == 4.3


def test_a_recording_marks_implausible_values_as_artifacts_and_keeps_them(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text(
        "timestamp,pump_speed_rpm,blood_flow_lpm,p_venous_mmhg,p_pre_oxy_mmhg,p_post_oxy_mmhg\n"
        "2026-01-01T08:00:00+00:00,3200,4.2,-999,200,175\n"
        "2026-01-01T08:00:01+00:00,3200,11,-45,200,175\n"
        "2026-01-01T08:00:02+00:00,3200,4.2,-45,200,175\n"
    )
    recording = read_recording(path)
    data = recording.data
    assert list(data["p_venous_mmhg"]) == [-999.0, -45.0, -45.0]  # kept as recorded
    assert list(data["artifact_mask"]) == [
        1 << CHANNEL_BIT["p_venous_mmhg"],
        1 << CHANNEL_BIT["blood_flow_lpm"],
        0,
    ]
    assert (recording.report.artifacts, recording.report.artifact_rows) == (2, 2)
