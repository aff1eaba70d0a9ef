"""Acting on a bed from the central station: the bed decides, and logs who and from where.

A real nats-server, a bed (a Session fed by FakeSource, with its SQLite store) publishing
with an action responder, and a central station with its page (Flask's test client):
a specialist's acknowledgement at the central lands in the bed's alarm log with the user
and "via central <name>"; a viewer's is refused at the central; a request published on
the bus without the shared key's signature, replayed, stale or for another bed is
refused by the bed.
"""

from __future__ import annotations

import json
import time

import nats
import pytest

from adapters import FakeSource, Frame
from monitor.bus import (
    ActionResponder,
    BedPublisher,
    BrokerSettings,
    make_action_key,
    sign_request,
    subject,
)
from monitor.central import CentralStation
from monitor.runtime import Session
from monitor.store import AlarmStore, Users
from monitor.web import create_central_app
from tests.bus_helpers import run_async, wait_until
from tests.dash_requests import callback_outputs, post_callback, sign_in_body

T0 = 1767254400.0
SUCTION = {"pump_speed_rpm": 3300.0, "blood_flow_lpm": 4.0, "p_venous_mmhg": -140.0,
           "p_pre_oxy_mmhg": 200.0, "p_post_oxy_mmhg": 178.0}  # fmt: skip


@pytest.fixture()
def ward(tmp_path, nats_server):
    key = make_action_key(tmp_path / "action.key")
    source = FakeSource("console")
    store = (
        AlarmStore(tmp_path / "bed", bed="bed-4") if (tmp_path / "bed").mkdir() is None else None
    )
    session = Session(source, store=store, bed_id="bed-4")
    session.start()
    publisher = BedPublisher(session, BrokerSettings(nats_server.url))
    publisher.responder = ActionResponder(session, key)
    publisher.start()
    for i in range(30):  # drainage pressure far below its limit for 30 s: an active alert
        source.push(Frame.build(T0 + i, SUCTION))
    wait_until(lambda: any(a.rule == "drainage_pressure_low" for a in session.alerts()))
    central_store = (
        AlarmStore(tmp_path / "central") if (tmp_path / "central").mkdir() is None else None
    )
    users = Users(central_store)
    users.add("sam", "specialist", "2468")
    users.add("val", "viewer", "1357")
    station = CentralStation(BrokerSettings(nats_server.url), name="ward-a", action_key=key).start()
    wait_until(lambda: station.nc is not None and station.bed("bed-4") is not None, what="central")
    app = create_central_app(station, users=users, secret=b"k" * 32, name="ward-a")
    yield session, station, app, key, nats_server
    station.stop()
    publisher.stop()
    session.stop()


def sign_in(app, name: str, pin: str):
    client = app.server.test_client()
    response = post_callback(client, *sign_in_body(name, pin))
    assert f"{name} (" in response.get_data(as_text=True)
    return client


def acknowledge_at_central(app, client, rule: str) -> str:
    ident = {"bed": "bed-4", "rule": rule, "type": "central-ack"}
    response = post_callback(
        client,
        callback_outputs(app, "central-message.children"),
        [[{"id": ident, "property": "n_clicks", "value": 1}]],
        [],
        [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_a_specialist_at_the_central_acknowledges_and_the_bed_logs_who_and_from_where(ward):
    session, station, app, _, _ = ward
    answer = acknowledge_at_central(app, sign_in(app, "sam", "2468"), "drainage_pressure_low")
    assert '"data-result":"ok"' in answer.replace(" ", "")
    [alert] = [a for a in session.alerts() if a.rule == "drainage_pressure_low"]
    assert str(alert.state) == "acknowledged"
    [row] = [e for e in session.store.alarm_log() if e.state == "acknowledged"]
    assert (row.user, row.role, row.note) == ("sam", "specialist", "via central ward-a")
    # asked again: the bed says it was done already
    again = acknowledge_at_central(app, sign_in(app, "sam", "2468"), "drainage_pressure_low")
    assert '"data-result":"already"' in again.replace(" ", "")
    # the acknowledgement reaches the central as the bed's own alarm-log row
    wait_until(
        lambda: any(a.state == "acknowledged" for a in station.bed("bed-4").alarms),
        what="the acknowledgement at the central",
    )


def test_a_viewer_at_the_central_is_refused_and_nothing_reaches_the_bed(ward):
    session, _, app, _, _ = ward
    answer = acknowledge_at_central(app, sign_in(app, "val", "1357"), "drainage_pressure_low")
    assert '"data-result":"refused"' in answer.replace(" ", "") and "may not" in answer
    nobody = acknowledge_at_central(app, app.server.test_client(), "drainage_pressure_low")
    assert '"data-result":"refused"' in nobody.replace(" ", "")
    assert not [e for e in session.store.alarm_log() if e.state == "acknowledged"]


async def _ask(url: str, payload: bytes, bed: str = "bed-4") -> dict:
    nc = await nats.connect(url)
    try:
        reply = await nc.request(subject(bed, "action"), payload, timeout=5)
        return json.loads(reply.data)
    finally:
        await nc.close()


def test_forged_replayed_stale_and_misdirected_requests_on_the_bus_are_refused(ward, tmp_path):
    session, _, _, key, server = ward
    args = {"rule": "drainage_pressure_low"}
    forged = sign_request(b"x" * 64, "bed-4", "acknowledge", args, "eve", "specialist", "rogue")
    unsigned = json.dumps({"bed": "bed-4", "action": "acknowledge", "args": args,
                           "user": "eve", "role": "specialist"}).encode()  # fmt: skip
    as_viewer = sign_request(key, "bed-4", "acknowledge", args, "val", "viewer", "ward-a")
    other_bed = sign_request(key, "bed-9", "acknowledge", args, "sam", "specialist", "ward-a")
    stale = json.loads(sign_request(key, "bed-4", "acknowledge", args, "sam", "specialist", "w"))
    stale["issued"] = time.time() - 120  # and signed again so only the age is wrong
    from monitor.bus.actions import _signature

    stale["sig"] = _signature(key, {k: v for k, v in stale.items() if k != "sig"})
    for payload, why in [
        (forged, "signature"),
        (unsigned, "not signed"),
        (b"\xff\x00 not json", "not JSON"),
        (as_viewer, "may not"),
        (other_bed, "another bed"),
        (json.dumps(stale).encode(), "not fresh"),
    ]:
        reply = run_async(_ask(server.url, payload))
        assert reply["result"] == "refused" and why in reply["message"], (why, reply)
    good = sign_request(
        key, "bed-4", "event", {"kind": "note", "note": "x"}, "sam", "specialist", "w"
    )
    assert run_async(_ask(server.url, good))["result"] == "ok"
    replayed = run_async(_ask(server.url, good))
    assert replayed["result"] == "refused" and "already used" in replayed["message"]
    assert not [e for e in session.store.alarm_log() if e.state == "acknowledged"]
    assert [(e.kind, e.user) for e in session.store.events()] == [("note", "sam")]


def test_a_tile_opens_the_beds_full_view_from_the_centrals_own_buffer(ward):
    _, _, app, _, _ = ward
    client = sign_in(app, "val", "1357")  # viewing needs no role beyond being let in
    ident = {"bed": "bed-4", "type": "bed-tile"}
    selected = post_callback(
        client,
        callback_outputs(app, "..central-selected.data"),
        [[{"id": ident, "property": "n_clicks", "value": 1}]],
        [],
        [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
    )
    assert '"central-selected":{"data":"bed-4"}' in selected.get_data(as_text=True).replace(" ", "")
    drawn = post_callback(
        client,
        callback_outputs(app, "..central-detail-title.children"),
        [{"id": "central-selected", "property": "data", "value": "bed-4"},
         {"id": "central-window", "property": "value", "value": "None"},
         {"id": "central-detail-refresh", "property": "n_intervals", "value": 1}],
        [{"id": "central-selected", "property": "data", "value": "bed-4"}],
        ["central-selected.data"],
    )  # fmt: skip
    body = json.loads(drawn.get_data(as_text=True))["response"]
    assert "30 frames in the window" in json.dumps(body["central-detail-title"])
    traces = body["central-trends"]["figure"]["data"]
    drainage = [t for t in traces if "-140" in json.dumps(t.get("y", []))]
    assert drainage, "the drainage pressure trace carries the bed's frames"
    assert "Drainage" in json.dumps(body["central-alarm-log"]["children"])


def test_the_central_sounds_the_worst_unacknowledged_alert_until_it_is_acknowledged(ward):
    from monitor.web.central.overview import sound_priority

    _, station, app, _, _ = ward
    wait_until(lambda: sound_priority(station) == "high", what="the high drainage alert sounding")
    acknowledge_at_central(app, sign_in(app, "sam", "2468"), "drainage_pressure_low")
    wait_until(lambda: sound_priority(station) == "none", what="silence once acknowledged")
