"""The HL7 link: messages with the codes and the frames' values, to a real MLLP receiver
(hl7apy's server on loopback), in order, each once, through refusals, outages and a
SIGKILL of the monitor."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import hl7
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import Frame, epoch_seconds, write_dataframe
from adapters.fake import FakeSource
from adapters.simulator import simulate
from monitor.hl7 import HL7Error, HL7Link, Outbox, Party, codes, observation_message, read_ack
from monitor.runtime import Session
from monitor.store import AlarmStore
from tests.browser import free_port, start_monitor, stop, wait_for_http
from tests.hl7_receiver import Receiver, control_id
from tests.page_client import add_users, signed_in

START = 1_767_254_400.0  # 2026-01-01T08:00:00Z
PARTY = Party("bed-3", "PAT-42", "0012210000000003")
R01, R40 = "ORU^R01^ORU_R01", "ORU^R40^ORU_R40"
VALUES = {
    "pump_speed_rpm": 3200.0,
    "blood_flow_lpm": 4.2,
    "p_venous_mmhg": -45.0,
    "p_pre_oxy_mmhg": 200.0,
    "p_post_oxy_mmhg": 175.0,
    "sweep_gas_lpm": 4.0,
    "fdo2": 1.0,
}


@pytest.fixture()
def receiver():
    got = Receiver().start()
    yield got
    got.stop()


def obx_by_code(message) -> dict[str, tuple[str, str, str, str]]:
    """OBX-3 code -> (OBX-5 value, OBX-6 unit code, OBX-14 time, OBX-18 equipment)."""
    out = {}
    for segment in hl7.parse(message).segments("OBX"):
        code = str(segment[3][0][0])
        out[code] = (str(segment[5]), str(segment[6][0][0]), str(segment[14]), str(segment[18]))
    return out


def hl7_seconds(text: str) -> float:
    body, _, _zone = text.partition("+")  # the link writes UTC (+0000)
    whole, _, millis = body.partition(".")
    when = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return when.timestamp() + float(f"0.{millis or 0}")


def test_an_observation_message_validates_and_carries_the_profile_and_codes():
    values = {"blood_flow_lpm": (START - 1, 4.21), "temp_c": (START - 1, 36.9)}
    raw = observation_message("7", START, PARTY, values)
    parsed = hl7.parse(raw)
    msh = parsed.segment("MSH")
    assert str(msh[9]) == R01 and str(msh[12]) == "2.6"
    assert str(msh[21]) == codes.PROFILE_PCD01
    assert str(parsed.segment("PID")[3][0][0]) == "PAT-42"
    assert str(parsed.segment("PV1")[3]) == "^^bed-3"
    got = obx_by_code(raw)
    assert got["251288004"][:2] == ("4.21", "L/min")  # SNOMED CT ECMO blood flow
    assert got["188436"][:2] == ("36.9", "Cel")  # MDC_TEMP_BLD
    assert got["251288004"][3] == "0012210000000003^^0012210000000003^EUI-64"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_a_reply_of_random_bytes_is_read_or_refused_with_our_error(data):
    check_reply(data)


def check_reply(data: bytes) -> None:
    """A reply is read as (MSA-1, MSA-2) strings or refused with HL7Error, nothing else."""
    try:
        code, control = read_ack(data.decode("utf-8", errors="replace"))
    except HL7Error:
        return
    assert isinstance(code, str) and isinstance(control, str)


VALID_ACK = "MSH|^~\\&|ENGINE|HOSP|||20260101080000||ACK^R01^ACK|a-7|P|2.6\rMSA|AA|7\r"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID_ACK)), st.integers(0, 4), st.binary(max_size=4)),
        max_size=6,
    )
)
def test_a_mutated_acknowledgement_is_read_or_refused_with_our_error(edits):
    data = bytearray(VALID_ACK.encode())
    for at, cut, insert in edits:  # delete a few bytes somewhere and put others in
        data[at : at + cut] = insert
    check_reply(bytes(data))


def test_the_valid_acknowledgement_reads_as_accepted():
    assert read_ack(VALID_ACK) == ("AA", "7")


# -- a session in this process ------------------------------------------------------------


def bed(tmp_path, url: str, **link_args):
    source = FakeSource("console", kind="replay")  # frames keep their own times
    session = Session(source, store=AlarmStore(tmp_path / "data", bed="bed-3"), bed_id="bed-3")
    session.start()
    outbox = Outbox(tmp_path / "data" / "hl7")
    link = HL7Link(session, url, outbox, PARTY, interval_s=60.0, **link_args).start()
    return source, session, link


def push_minutes(source, first_min: int, minutes: int) -> None:
    for s in range(first_min * 60, (first_min + minutes) * 60):
        flow = 4.2 + 0.01 * (s % 7)
        source.push(Frame.build(START + s, {**VALUES, "blood_flow_lpm": round(flow, 2)}))


def wait_until(check, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_refusal_and_a_30_s_outage_lose_nothing_and_repeat_nothing(tmp_path, receiver):
    receiver.answers.append("AE")  # the engine refuses the first message once
    source, session, link = bed(tmp_path, receiver.url, retry_max_s=2.0)
    try:
        push_minutes(source, 0, 3)  # reports at 08:00, 08:01, 08:02 (each once a later frame came)
        receiver.wait_for(3, kind=R01)
        assert len(receiver.refused) == 1
        receiver.stop()
        push_minutes(source, 3, 4)  # 08:03 .. 08:06 wait while the engine is down
        wait_until(lambda: link.status().queued >= 4, what="messages queued during the outage")
        wait_until(lambda: not link.status().connected, what="the link seen down")
        shown = {a.rule: a for a in session.alerts()}
        assert "hl7_unreachable" in shown and "wait on disk" in shown["hl7_unreachable"].message
        assert link.status().as_dict()["oldest_waiting_s"] is not None
        time.sleep(30)
        receiver.start()
        receiver.wait_for(7, kind=R01, timeout=30)
        wait_until(lambda: link.status().queued == 0, what="the outbox emptied")
    finally:
        link.stop()
        session.stop()
    ids = [int(control_id(raw)) for raw in receiver.accepted if f"|{R01}|" in raw]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 7  # in order, each once
    times = [hl7_seconds(str(hl7.parse(raw).segment("OBR")[7])) for raw in receiver.accepted
             if f"|{R01}|" in raw]  # fmt: skip
    assert times == [START + 60 * k for k in range(7)]
    assert control_id(receiver.refused[0]) == str(ids[0])  # the refused one came again
    assert all(a.rule != "hl7_unreachable" for a in session.alerts())


def push_return_pressure(source, first_s: int, pressures: list[tuple[int, float]]) -> int:
    """Frames from ``first_s`` on, each (seconds, P3 mmHg) held for its seconds."""
    s = first_s
    for seconds, p_post in pressures:
        for _ in range(seconds):
            values = {**VALUES, "p_pre_oxy_mmhg": p_post + 25.0, "p_post_oxy_mmhg": p_post}
            source.push(Frame.build(START + s, values))
            s += 1
    return s


def alarm_phases(receiver, rule: str) -> list[tuple[str, str]]:
    """(event phase, priority) of each ORU^R40 of ``rule`` the receiver accepted."""
    phases = []
    for raw in receiver.accepted:
        if f"|{R40}|" in raw and f"ALARM-{rule.upper()}" in raw:
            segments = {str(s[3][0][0]): s for s in hl7.parse(raw).segments("OBX")}
            phases.append((str(segments["68165"][5]), str(segments["68168"][5])))
    return phases


def test_an_alert_that_rises_and_falls_goes_out_in_every_phase(tmp_path, receiver):
    source, session, link = bed(tmp_path, receiver.url)
    try:
        # normal, medium (P3 320), high (360), medium again, normal: start, escalate,
        # de-escalate, end
        end = push_return_pressure(source, 0, [(60, 175.0), (30, 320.0), (30, 360.0),
                                               (30, 320.0), (60, 175.0)])  # fmt: skip
        push_minutes(source, end // 60 + 1, 1)
        wait_until(lambda: len(alarm_phases(receiver, "post_oxy_pressure_high")) >= 4,
                   what="four alarm messages")  # fmt: skip
    finally:
        link.stop()
        session.stop()
    phases = alarm_phases(receiver, "post_oxy_pressure_high")
    assert [p for p, _ in phases] == ["start", "escalate", "de-escalate", "end"]
    assert [codes.PRIORITIES[p] for p in ("medium", "high", "medium")] == [
        priority for _, priority in phases[:3]
    ]


def test_a_message_that_cannot_be_made_is_shown_retried_and_nothing_is_lost(
    tmp_path, receiver, monkeypatch
):
    from monitor.hl7 import link as link_module

    made = link_module.observation_message
    broken = [True]

    def fails_while_broken(*args, **kwargs):
        if broken[0]:
            raise RuntimeError("a defect in making the message")
        return made(*args, **kwargs)

    monkeypatch.setattr(link_module, "observation_message", fails_while_broken)
    source, session, link = bed(tmp_path, receiver.url)
    try:
        push_minutes(source, 0, 4)  # reports at 08:00 .. 08:03
        wait_until(lambda: any(a.rule == "hl7_unreachable" and "cannot be queued" in a.message
                               for a in session.alerts()), what="the feeder's failure shown")  # fmt: skip
        broken[0] = False
        receiver.wait_for(4, kind=R01)
        wait_until(lambda: all(a.rule != "hl7_unreachable" for a in session.alerts()),
                   what="the alert gone")  # fmt: skip
    finally:
        link.stop()
        session.stop()
    times = [hl7_seconds(str(hl7.parse(raw).segment("OBR")[7])) for raw in receiver.accepted
             if f"|{R01}|" in raw]  # fmt: skip
    assert times == [START + 60 * k for k in range(4)]


# -- a monitor process ----------------------------------------------------------------------


def monitor(tmp_path, recording, receiver, *extra, data_dir=None):
    data_dir = data_dir or tmp_path / "data"
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(recording), "--port", str(port), "--data-dir", str(data_dir),
         "--hl7", receiver.url, "--patient-id", "PAT-42", "--bed-id", "bed-3", *extra],
        tmp_path / f"server-{port}.log",
    )  # fmt: skip
    wait_for_http(f"http://127.0.0.1:{port}/", process=process)
    return process, f"http://127.0.0.1:{port}/"


def test_a_replay_reports_each_minute_with_the_frames_values(tmp_path, receiver):
    data = simulate("stable", 20 * 60, seed=3)
    path = tmp_path / "stable.csv"
    write_dataframe(data, path)
    process, _url = monitor(tmp_path, path, receiver, "--speed", "0")
    try:
        receiver.wait_for(20, kind=R01)  # 08:00 .. 08:19: a frame after each of them
    finally:
        stop(process)
    seconds = epoch_seconds(data["timestamp"])
    for message in receiver.messages(R01)[:20]:
        raw = message.to_er7()
        assert str(hl7.parse(raw).segment("MSH")[21]) == codes.PROFILE_PCD01
        got = obx_by_code(raw)
        for channel in ("blood_flow_lpm", "p_venous_mmhg", "pump_speed_rpm", "temp_c"):
            code = codes.OBSERVATIONS[channel]
            value, unit, when, _device = got[code.code]
            assert unit == code.unit
            row = int(np.flatnonzero(np.abs(seconds - hl7_seconds(when)) < 5e-4)[0])
            assert float(value) == pytest.approx(float(data[channel].iloc[row]), abs=1e-9)
        assert codes.OBSERVATIONS["resistance"].code in got  # from rules/, delta P / flow


def test_an_alert_goes_out_as_activation_acknowledgement_and_end_in_order(tmp_path, receiver):
    data = simulate("return_line_kink", 90 * 60, seed=2)
    part = data.iloc[44 * 60 : 80 * 60].reset_index(drop=True)  # the kink and its relief
    path = tmp_path / "kink.csv"
    write_dataframe(part, path)
    add_users(tmp_path / "data", ("sam", "specialist", "2468"))
    process, url = monitor(tmp_path, path, receiver, "--speed", "25")
    try:
        page = signed_in(url, "sam", "2468")
        wait_until(
            lambda: any(a["rule"] == "post_oxy_pressure_high" and a["priority"] == "high"
                        for a in page.status()["alerts"]),
            timeout=120, what="the kink alert at high",
        )  # fmt: skip
        result, _ = page.acknowledge("post_oxy_pressure_high", "line freed")
        assert result == "acknowledged"
        wait_until(
            lambda: any("|end|" in r and "POST_OXY_PRESSURE_HIGH" in r for r in receiver.accepted),
            timeout=120, what="the end of the kink alert",
        )  # fmt: skip
        status = page.status()["links"]["hl7"]
        assert set(status) >= {"queued", "oldest_waiting_s", "connected"}
    finally:
        stop(process)
    phases = []
    for raw in receiver.accepted:
        if f"|{R40}|" in raw and "ALARM-POST_OXY_PRESSURE_HIGH" in raw:
            segments = {str(s[3][0][0]): s for s in hl7.parse(raw).segments("OBX")}
            phases.append((str(segments["68165"][5]), str(segments["68167"][5])))
            if phases[-1][1] == "acknowledged":
                assert str(segments["68167"][16]).startswith("sam^specialist")
    assert phases[0] == ("start", "enabled")
    assert ("update", "acknowledged") in phases
    assert phases[-1][0] == "end"
    assert phases.index(("update", "acknowledged")) < len(phases) - 1


def test_a_sigkill_with_messages_queued_loses_none_after_a_restart(tmp_path):
    data = simulate("stable", 15 * 60, seed=5)
    path = tmp_path / "stable.csv"
    write_dataframe(data, path)
    down = Receiver()  # not started: the engine is unreachable
    process, _url = monitor(tmp_path, path, down, "--speed", "0")
    outbox = tmp_path / "data" / "hl7" / "bed-3" / "hl7-outbox.db"
    try:
        wait_until(lambda: outbox.exists() and _queued(outbox) >= 15, what="15 messages queued")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    up = Receiver(down.port).start()
    try:
        process, _url = monitor(tmp_path, path, up, "--speed", "0")
        try:
            up.wait_for(15, kind=R01)
            wait_until(lambda: _queued(outbox) == 0, what="the outbox emptied")
        finally:
            stop(process)
    finally:
        up.stop()
    ids = [int(control_id(raw)) for raw in up.accepted if f"|{R01}|" in raw]
    assert len(ids) == len(set(ids)) == 15 and ids == sorted(ids)
    times = [hl7_seconds(str(hl7.parse(r).segment("OBR")[7])) for r in up.accepted
             if f"|{R01}|" in r]  # fmt: skip
    first = epoch_seconds(data["timestamp"])[0]
    assert times == [first + 60 * k for k in range(15)]


def _queued(path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def test_without_hl7_there_is_no_link(tmp_path):
    data = simulate("stable", 120, seed=1)
    path = tmp_path / "s.csv"
    write_dataframe(data, path)
    port = free_port()
    process = start_monitor(
        ["run", "--replay", str(path), "--port", str(port), "--data-dir", str(tmp_path / "d")],
        tmp_path / "server.log",
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        import requests

        status = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=10).json()
        assert status["links"] == {}
        assert not (tmp_path / "d" / "hl7").exists()
    finally:
        stop(process)


def test_an_hl7_interval_out_of_range_is_one_sentence_and_exit_2(tmp_path):
    from tests.test_cli import run_cli

    sample = Path(__file__).resolve().parents[1] / "sample_streams" / "stable.csv"
    done = run_cli("run", "--replay", str(sample), "--hl7", "mllp://127.0.0.1:2575",
                   "--patient-id", "P", "--hl7-interval", "0.5", "--port", str(free_port()),
                   "--data-dir", str(tmp_path))  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "between 1 and 3600 seconds" in done.stderr.strip().splitlines()[-1]
