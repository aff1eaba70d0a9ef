"""Frame times are whole milliseconds, each at least one after the one before, and survive a
recording: the one rule behind a source's arrivals and a session's record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters import Frame, FrameClock, format_timestamp, next_stamp

T0 = 1_767_254_400.0
VALUES = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.2}


def test_a_raw_time_is_stamped_to_the_millisecond():
    assert next_stamp(T0 + 0.1234, None) == T0 + 0.123
    assert next_stamp(T0 + 0.1236, None) == T0 + 0.124
    assert next_stamp(T0 + 0.2, T0 + 0.1) == T0 + 0.2  # later than the last: as it is


def test_a_time_repeating_or_preceding_the_last_stamp_gets_the_next_millisecond():
    assert next_stamp(T0, T0) == T0 + 0.001
    assert next_stamp(T0 + 0.0004, T0) == T0 + 0.001  # same millisecond
    assert next_stamp(T0 - 5.0, T0 + 0.5) == T0 + 0.501  # backwards


def test_frames_read_in_one_chunk_get_a_millisecond_each():
    clock = FrameClock()
    stamps = [clock.stamp(T0 + 0.5) for _ in range(5)]
    assert stamps == [T0 + 0.5, T0 + 0.501, T0 + 0.502, T0 + 0.503, T0 + 0.504]
    assert clock.last == T0 + 0.504
    assert clock.stamp(T0 + 1.0) == T0 + 1.0  # and it catches up with real time at once


def test_a_frame_is_restamped_only_when_its_time_changes():
    clock = FrameClock()
    first = Frame.build(T0, VALUES, received_at=T0 + 0.25)
    assert clock.stamp_frame(first) is first
    again = clock.stamp_frame(first)  # the same time once more: the next millisecond
    assert again.timestamp == T0 + 0.001 and again.values == first.values
    live = clock.stamp_frame(first, raw=first.received_at)  # stamped by arrival instead
    assert live.timestamp == T0 + 0.25 and live.received_at == first.received_at


@given(st.lists(st.floats(min_value=-2.0, max_value=2.0), min_size=2, max_size=60))
def test_every_stamp_is_a_millisecond_of_its_own_in_a_recording(offsets):
    # whatever the raw times do (repeat, jitter, run backwards), the recorded times,
    # which keep milliseconds, rise strictly, so a replay keeps every row
    clock = FrameClock()
    stamps = [clock.stamp(T0 + offset) for offset in offsets]
    written = [format_timestamp(stamp) for stamp in stamps]
    assert written == sorted(set(written))
    assert all(round(s * 1000) / 1000 == s for s in stamps)
    assert all(s >= round((T0 + o) * 1000) / 1000 for s, o in zip(stamps, offsets, strict=True))
