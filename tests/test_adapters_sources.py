"""The fake source behaves like a real one to whatever consumes it: frames in order,
counts, and the states a feed goes through."""

from __future__ import annotations

import pytest

from adapters import NOT_DELIVERING, FakeSource, Frame, SourceState

T0 = 1_767_254_400.0


def frame(i: int) -> Frame:
    return Frame.build(T0 + i, {"pump_speed_rpm": 3000.0 + i, "blood_flow_lpm": 4.1})


def test_pushed_frames_reach_the_handler_in_order_and_are_counted():
    got: list[Frame] = []
    source = FakeSource("bed 3 test feed")
    source.start(got.append)
    try:
        assert source.state == SourceState.CONNECTING  # nothing received yet
        for i in range(3):
            source.push(frame(i))
        assert [f.values["pump_speed_rpm"] for f in got] == [3000.0, 3001.0, 3002.0]
        status = source.status()
        assert (status.state, status.good_frames, status.bad_frames) == (
            SourceState.RECEIVING,
            3,
            0,
        )
        assert (status.kind, status.description) == ("fake", "bed 3 test feed")
    finally:
        source.stop()
    assert source.state == SourceState.STOPPED


def test_rejected_input_is_counted_with_its_reason_and_delivers_nothing():
    got: list[Frame] = []
    source = FakeSource()
    source.start(got.append)
    try:
        source.reject("checksum mismatch")
        status = source.status()
        assert got == [] and status.bad_frames == 1
        assert status.recent_problems == ("fake source: checksum mismatch",)
    finally:
        source.stop()


def test_a_lost_device_is_disconnected_until_the_next_frame():
    got: list[Frame] = []
    source = FakeSource(kind="serial")
    source.start(got.append)
    try:
        source.push(frame(0))
        source.disconnect("cable pulled")
        assert source.state == SourceState.DISCONNECTED and source.state in NOT_DELIVERING
        assert source.status().recent_problems[-1] == "fake source: cable pulled"
        source.push(frame(1))
        assert source.state == SourceState.RECEIVING and len(got) == 2
        assert source.status().kind == "serial"
    finally:
        source.stop()


def test_pushing_before_start_is_a_mistake_said_plainly():
    with pytest.raises(RuntimeError, match="start the source"):
        FakeSource().push(frame(0))
