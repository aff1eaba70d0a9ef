"""The bus's messages: what a bed sends comes back as it was; anything else is refused.

Every decoder is a parser of outside bytes (anyone with broker credentials can publish),
fuzzed with hypothesis: random bytes and mutations of valid messages decode or raise
:class:`BusError`, never anything else.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.bus import AlarmMessage, AlertSummary, BusError, FrameMessage, StatusMessage, subject

T0 = 1767254400.0
FRAME = FrameMessage("bed-1", 42, T0, {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.12}, 0, "note")
ALARM = AlarmMessage(
    "bed-1", 7, T0, "delta_p_rise", "medium", "active", "delta P 52 mmHg above...", 52.0, 40.0,
    24.0, None, None, None,
)  # fmt: skip
STATUS = StatusMessage(
    "bed-1", T0, "Bed 1", "receiving", 42, 5.0, 70.0, T0, 0.4, 12.5,
    (AlertSummary("delta_p_rise", "medium", "active", T0, "rise", False),),
)  # fmt: skip
KINDS = [(FRAME, FrameMessage), (ALARM, AlarmMessage), (STATUS, StatusMessage)]
FUZZ = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(("message", "kind"), KINDS)
def test_a_message_comes_back_as_it_was_sent(message, kind):
    assert kind.decode(message.encode()) == message


def test_subjects_take_only_a_bed_id_that_is_one_token():
    assert subject("bed-1", "frame") == "ecmo.bed-1.frame"
    for bad in ("bed.1", "bed *", ">", "", "a" * 65, "bed\n1"):
        with pytest.raises(BusError):
            subject(bad, "frame")


@pytest.mark.parametrize(
    "change",
    [
        {"v": {"not_a_channel": 1.0}},
        {"v": {"blood_flow_lpm": "4"}},
        {"seq": 0},
        {"seq": True},
        {"t": 1e12},
        {"bed": "bed.2"},
        {"m": -1},
    ],
)
def test_a_frame_with_a_bad_field_is_refused(change):
    document = json.loads(FRAME.encode())
    document.update(change)
    with pytest.raises(BusError):
        FrameMessage.decode(json.dumps(document).encode())


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_decode_or_are_refused(data):
    for _, kind in KINDS:
        with contextlib.suppress(BusError):
            kind.decode(data)


@FUZZ
@given(st.sampled_from(KINDS), st.data())
def test_mutated_messages_decode_or_are_refused(pair, data):
    message, kind = pair
    raw = bytearray(message.encode())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    try:
        decoded = kind.decode(bytes(raw))
    except BusError:
        return
    assert isinstance(decoded, kind)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(st.sampled_from(KINDS), st.data(), json_values)
def test_a_valid_message_with_any_field_replaced_decodes_or_is_refused(pair, data, value):
    message, kind = pair
    document = json.loads(message.encode())
    key = data.draw(st.sampled_from(sorted(document)))
    document[key] = value
    with contextlib.suppress(BusError):
        kind.decode(json.dumps(document).encode())
