"""The device protocols decode what devices send, count what they cannot, and never raise."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.contract import CHANNEL_BY_NAME, EVENT_KINDS, NUMERIC_COLUMNS
from adapters.encoders import FrameEncoder
from adapters.errors import SourceError
from adapters.profiles import CANONICAL, GENERIC, KEYVALUE
from adapters.protocols import (
    MAX_LINE,
    BadFrame,
    DelimitedParser,
    FramedParser,
    KeyValueParser,
    ParsedFrame,
    make_parser,
    protocol_for_profile,
)
from adapters.wire import ETX, PROTOCOLS, STX

TYPICAL = {
    "pump_speed_rpm": 3100.0,
    "blood_flow_lpm": 4.12,
    "p_venous_mmhg": -42.0,
    "p_pre_oxy_mmhg": 182.0,
    "p_post_oxy_mmhg": 160.0,
}


def packet(payload: bytes, checksum: str | None = None) -> bytes:
    if checksum is None:
        xor = 0
        for byte in payload:
            xor ^= byte
        checksum = f"{xor:02X}"
    return bytes([STX]) + payload + checksum.encode() + bytes([ETX])


def feed_all(parser, *chunks: bytes) -> list:
    return [result for chunk in chunks for result in parser.feed(chunk)]


def frames(results) -> list[ParsedFrame]:
    return [r for r in results if isinstance(r, ParsedFrame)]


def bads(results) -> list[BadFrame]:
    return [r for r in results if isinstance(r, BadFrame)]


# -- key=value -------------------------------------------------------------------------
def test_keyvalue_line_decodes_short_keys_to_canonical_values():
    [result] = KeyValueParser().feed(b"RPM=3100 FLOW=4.12 P1=-42 P2=182 P3=160\r\n")
    assert result == ParsedFrame(TYPICAL, None, None, 1)


def test_keyvalue_keys_are_case_insensitive_any_separator_and_canonical_names_work():
    line = b"rpm=3100,flow=4.12;\tp1 = -42 p_pre_oxy_mmhg=182; Svo2=71.5 TEMP=36.9\n"
    [result] = KeyValueParser().feed(line)
    assert result.values == {
        "pump_speed_rpm": 3100.0,
        "blood_flow_lpm": 4.12,
        "p_venous_mmhg": -42.0,
        "p_pre_oxy_mmhg": 182.0,
        "svo2_pct": 71.5,
        "temp_c": 36.9,
    }


def test_keyvalue_unknown_keys_are_ignored_without_error():
    [result] = KeyValueParser().feed(b"RPM=3100 FLOW=4 ALARM=none BATT=87\r")
    assert result.values == {"pump_speed_rpm": 3100.0, "blood_flow_lpm": 4.0}


def test_keyvalue_device_timestamp_with_offset_and_event():
    line = b"TS=2026-01-01T09:00:00.5+01:00 RPM=3000 FLOW=4 EVENT=oxygenator_change\r\n"
    [result] = KeyValueParser().feed(line)
    assert result.device_timestamp == 1767254400.5
    assert result.event == "oxygenator_change"


def test_garbage_lines_are_counted_with_their_line_number_and_reason():
    stream = (
        b"RPM=3100 FLOW=4.1\r\n"
        b"RPM=3100 FLOW=abc\r\n"
        b"hello world\r\n"
        b"RPM=3100 FLOW=4.2\r\n"
        b"RPM=3100 P2=180\r\n"
        b"RPM=1e999 FLOW=4\r\n"
        b"RPM=nan FLOW=4\r\n"
        b"RPM=1 FLOW=2 pump_speed_rpm=3\r\n"
        b"TS=2026-01-01T00:00:00 RPM=1 FLOW=2\r\n"
    )
    results = KeyValueParser().feed(stream)
    assert [f.line for f in frames(results)] == [1, 4]
    assert [(b.line, b.reason) for b in bads(results)] == [
        (2, "field 'FLOW' is not a number: 'abc'"),
        (3, "'hello' is not a key=value pair"),
        (5, "missing blood flow; every frame needs pump speed and blood flow"),
        (6, "field 'RPM' is not a finite number: '1e999'"),
        (7, "field 'RPM' is not a number: 'nan'"),
        (8, "field 'pump_speed_rpm' given twice (as 'RPM' and 'pump_speed_rpm')"),
        (9, "device timestamp '2026-01-01T00:00:00' has no UTC offset"),
    ]
    assert bads(results)[0].raw == b"RPM=3100 FLOW=abc"


def test_blank_lines_and_crlf_split_across_feeds_are_not_lines():
    parser = KeyValueParser()
    results = feed_all(parser, b"RPM=1 FLOW=1\r", b"\n\r\n\n", b"RPM=2 FLOW=2\r", b"\n")
    assert [(f.line, f.values["pump_speed_rpm"]) for f in frames(results)] == [(1, 1.0), (2, 2.0)]
    assert not bads(results)


# -- delimited -------------------------------------------------------------------------
CDI_STYLE = (
    b"Time\tRPM\tFlow\tP1\tP2\tP3\r"
    b"2026-01-01T00:00:00+00:00\t3100\t4.12\t-42\t182\t160\r"
    b"2026-01-01T00:00:01+00:00\t3105\t4.10\t-43\t183\t\r"
    b"Time\tRPM\tFlow\tP1\tP2\tP3\r"
    b"2026-01-01T00:00:02+00:00\t3110\t4.11\t-44\t184\t161\r"
)


def test_delimited_tab_rows_map_through_the_profile_and_repeated_header_is_not_bad():
    results = DelimitedParser(GENERIC).feed(CDI_STYLE)
    assert not bads(results)
    decoded = frames(results)
    assert [f.line for f in decoded] == [2, 3, 5]
    assert decoded[0].values == TYPICAL
    assert decoded[0].device_timestamp == 1767225600.0
    # an empty cell is a missing value, not an error
    assert "p_post_oxy_mmhg" not in decoded[1].values


def test_delimited_row_before_any_header_is_bad():
    results = DelimitedParser(GENERIC).feed(b"3100,4.1,-40,180,160\r\nRPM,Flow\r\n3100,4.1\r\n")
    [bad] = bads(results)
    assert (bad.line, bad.reason) == (
        1,
        "row before any header line naming pump speed and blood flow",
    )
    assert [f.values for f in frames(results)] == [
        {"pump_speed_rpm": 3100.0, "blood_flow_lpm": 4.1}
    ]


def test_delimited_row_with_wrong_field_count_or_bad_number_is_bad():
    stream = (
        b"pump_speed_rpm,blood_flow_lpm,event\r\n3100,4.1\r\n3100,x,\r\n3100,4.1,circuit_change\r\n"
    )
    results = DelimitedParser(CANONICAL).feed(stream)
    assert [(b.line, b.reason) for b in bads(results)] == [
        (2, "row has 2 field(s) but the header has 3"),
        (3, "field 'blood_flow_lpm' is not a number: 'x'"),
    ]
    [frame] = frames(results)
    assert (frame.line, frame.event) == (4, "circuit_change")


def test_delimited_new_header_replaces_the_old_layout():
    stream = b"RPM,Flow\n3000,4\nFlow,RPM,P2\n5,3200,190\n"
    results = DelimitedParser(GENERIC).feed(stream)
    assert [f.values for f in frames(results)] == [
        {"pump_speed_rpm": 3000.0, "blood_flow_lpm": 4.0},
        {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 5.0, "p_pre_oxy_mmhg": 190.0},
    ]


# -- framed ----------------------------------------------------------------------------
def test_framed_packet_decodes_and_lowercase_checksum_is_accepted():
    payload = b"RPM=3100 FLOW=4.12 P1=-42 P2=182 P3=160"
    good = packet(payload)
    lower = packet(payload, good[-3:-1].decode().lower())
    results = FramedParser().feed(good + lower)
    assert [(f.line, f.values) for f in frames(results)] == [(1, TYPICAL), (2, TYPICAL)]


def test_framed_bad_checksum_is_dropped_and_counted():
    results = FramedParser().feed(packet(b"RPM=3100 FLOW=4.1", "00") + packet(b"RPM=1 FLOW=2"))
    [bad] = bads(results)
    assert bad.line == 1
    assert bad.reason.startswith("checksum mismatch: packet says 00, payload gives ")
    assert [f.line for f in frames(results)] == [2]


def test_framed_junk_outside_packets_is_reported_once_per_run():
    good = packet(b"RPM=3100 FLOW=4.1")
    results = FramedParser().feed(b"noise" + good + b"\r\n" + bytes([ETX, 0xFF, 0x00]) + good)
    assert [(b.line, b.reason) for b in bads(results)] == [
        (1, "5 byte(s) outside any packet skipped"),
        (3, "3 byte(s) outside any packet skipped"),
    ]
    assert [f.line for f in frames(results)] == [2, 4]


def test_framed_packet_cut_off_by_next_stx_is_bad_and_the_next_one_is_read():
    results = FramedParser().feed(bytes([STX]) + b"RPM=31" + packet(b"RPM=1 FLOW=2"))
    assert [b.reason for b in bads(results)] == ["packet cut off by the next STX; dropped"]
    assert [f.values for f in frames(results)] == [{"pump_speed_rpm": 1.0, "blood_flow_lpm": 2.0}]


def test_framed_payload_problems_give_the_keyvalue_reason():
    [bad] = FramedParser().feed(packet(b"RPM=3100 FLOW=fast"))
    assert bad.reason == "field 'FLOW' is not a number: 'fast'"


# -- every protocol --------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_decodes_a_frame_split_at_every_byte_boundary(protocol):
    data = FrameEncoder(protocol).encode(TYPICAL, timestamp=1767225600.25, event="circuit_change")
    for cut in range(len(data) + 1):
        results = feed_all(make_parser(protocol), data[:cut], data[cut:])
        assert not bads(results), cut
        [frame] = frames(results)
        assert frame.values == TYPICAL
        assert frame.device_timestamp == 1767225600.25
        assert frame.event == "circuit_change"
    one_by_one = make_parser(protocol)
    assert frames(feed_all(one_by_one, *(bytes([b]) for b in data)))[0].values == TYPICAL


@pytest.mark.parametrize("protocol", ["keyvalue", "delimited"])
def test_overlong_line_is_dropped_once_and_memory_stays_bounded(protocol):
    parser = make_parser(protocol)
    results = feed_all(parser, *[b"x" * 1000] * 20)
    assert len(parser._pending) <= MAX_LINE
    results += parser.feed(b"tail\r\nRPM=3100 FLOW=4\r\n" if protocol == "keyvalue" else b"\r\n")
    [bad] = bads(results)
    assert bad.reason == f"line over {MAX_LINE} bytes without an end of line; dropped"
    assert len(bad.raw) <= MAX_LINE
    if protocol == "keyvalue":
        assert [f.line for f in frames(results)] == [2]


def test_overlong_packet_is_dropped_once_and_the_next_packet_read():
    parser = FramedParser()
    results = feed_all(parser, bytes([STX]), *[b"y" * 1000] * 20, bytes([ETX]))
    results += parser.feed(packet(b"RPM=1 FLOW=2"))
    assert [b.reason for b in bads(results)] == [f"packet over {MAX_LINE} bytes; dropped"]
    assert [f.line for f in frames(results)] == [2]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_reset_reports_an_incomplete_line_and_forgets_it(protocol):
    parser = make_parser(protocol)
    data = FrameEncoder(protocol).encode(TYPICAL)
    parser.feed(data[:-3])
    [bad] = parser.reset()
    assert "lost with the connection" in bad.reason
    assert frames(parser.feed(data)) and not parser.reset()


def test_make_parser_defaults_and_profiles():
    assert make_parser("framed").profile is KEYVALUE
    assert make_parser("keyvalue").profile is KEYVALUE
    assert make_parser("delimited").profile is CANONICAL
    assert make_parser("delimited", "cardiohelp").profile.name == "cardiohelp"
    assert [protocol_for_profile(n) for n in ("keyvalue", "framed", "generic", "canonical")] == [
        "keyvalue",
        "framed",
        "delimited",
        "delimited",
    ]
    with pytest.raises(SourceError, match="Unknown serial protocol 'modbus'"):
        make_parser("modbus")
    with pytest.raises(SourceError, match="Unknown serial profile"):
        protocol_for_profile("nope")


# -- encoders --------------------------------------------------------------------------
def test_encoder_writes_short_keys_crlf_and_framed_checksum():
    values = {"pump_speed_rpm": 3100.0, "blood_flow_lpm": 4.12, "ldh_u_l": 410.0}
    line = FrameEncoder("keyvalue").encode(values)
    assert line == b"RPM=3100 FLOW=4.12 ldh_u_l=410\r\n"
    assert FrameEncoder("framed").encode(values) == packet(line[:-2])


def test_encoder_leaves_out_values_a_device_cannot_send():
    values = {"pump_speed_rpm": 3100.0, "blood_flow_lpm": 4.0, "p_venous_mmhg": float("nan")}
    values["temp_c"] = float("inf")
    assert FrameEncoder("keyvalue").encode(values) == b"RPM=3100 FLOW=4\r\n"
    with pytest.raises(ValueError, match="unknown channel"):
        FrameEncoder("keyvalue").encode({"pump_speed": 3100.0})


def test_delimited_encoder_repeats_the_header_every_n_frames():
    encoder = FrameEncoder(
        "delimited", header_every=2, columns=["pump_speed_rpm", "blood_flow_lpm"]
    )
    out = b"".join(
        encoder.encode({"pump_speed_rpm": 3000.0 + i, "blood_flow_lpm": 4.0}) for i in range(3)
    )
    header = b"pump_speed_rpm,blood_flow_lpm\r\n"
    assert out == header + b"3000,4\r\n3001,4\r\n" + header + b"3002,4\r\n"


# -- properties ------------------------------------------------------------------------
OPTIONAL = [c for c in NUMERIC_COLUMNS if c not in ("pump_speed_rpm", "blood_flow_lpm")]


@st.composite
def samples(draw) -> dict[str, float]:
    names = [
        "pump_speed_rpm",
        "blood_flow_lpm",
        *draw(st.lists(st.sampled_from(OPTIONAL), unique=True)),
    ]
    return {
        name: draw(st.floats(CHANNEL_BY_NAME[name].low, CHANNEL_BY_NAME[name].high))
        for name in names
    }


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=150, deadline=None)
@given(
    protocol=st.sampled_from(PROTOCOLS),
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 3000), max_size=20),
)
def test_random_bytes_never_raise(protocol, data, cuts):
    parser = make_parser(protocol)
    for index, chunk in enumerate(chunked(data, cuts)):
        results = parser.feed(chunk)
        if index % 3 == 2:  # a reconnect now and then
            results += parser.reset()
        for result in results:
            assert isinstance(result, ParsedFrame | BadFrame)
            # the parser's last-resort guard never fired: every bad input has a real reason
            assert not getattr(result, "reason", "").startswith("parser error")


@settings(max_examples=200, deadline=None)
@given(
    protocol=st.sampled_from(PROTOCOLS),
    values=samples(),
    timestamp=st.none() | st.floats(0, 4e9),
    event=st.none() | st.sampled_from(EVENT_KINDS),
    junk=st.lists(st.binary(max_size=200), max_size=3),
    cuts=st.lists(st.integers(0, 5000), max_size=10),
)
def test_encode_then_parse_gives_exactly_the_values_sent(
    protocol, values, timestamp, event, junk, cuts
):
    # line protocols need the junk to end its line, or it would run into the frame
    noise = b"".join(j + b"\r\n" for j in junk) if protocol != "framed" else b"".join(junk)
    data = noise + FrameEncoder(protocol).encode(values, timestamp=timestamp, event=event)
    parser = make_parser(protocol)
    results = [r for chunk in chunked(data, cuts) for r in parser.feed(chunk)]
    [frame] = frames(results)
    assert frame.values == values
    assert frame.event == event
    if timestamp is None:
        assert frame.device_timestamp is None
    else:
        assert frame.device_timestamp == pytest.approx(timestamp, abs=2e-6)


@settings(max_examples=50, deadline=None)
@given(protocol=st.sampled_from(PROTOCOLS), stream=st.lists(samples(), min_size=1, max_size=12))
def test_a_stream_of_frames_round_trips_in_order_with_no_bad_lines(protocol, stream):
    encoder = FrameEncoder(protocol, header_every=3)
    results = make_parser(protocol).feed(b"".join(encoder.encode(v) for v in stream))
    assert not bads(results)
    assert [f.values for f in results] == stream
