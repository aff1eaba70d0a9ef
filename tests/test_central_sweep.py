"""The central page bound beyond loopback: nobody sees a bed or acts on one without a role.

Every callback the central app registers is called without a cookie and as a viewer:
none answers 500, none gives away a bed (its label or values) to nobody, and none makes
the bed do anything; ``/api/beds`` answers 401 until someone signs in.
"""

from __future__ import annotations

import pytest

from adapters import FakeSource, Frame
from monitor.bus import ActionResponder, BedPublisher, BrokerSettings, make_action_key
from monitor.central import CentralStation
from monitor.runtime import Session
from monitor.store import AlarmStore, Users
from monitor.web import create_central_app
from tests.bus_helpers import wait_until
from tests.dash_requests import post_callback, sign_in_body

LABEL = "Bed Secret-Name"


@pytest.fixture()
def central(tmp_path, nats_server):
    key = make_action_key(tmp_path / "action.key")
    (tmp_path / "bed").mkdir()
    (tmp_path / "central").mkdir()
    source = FakeSource("console")
    session = Session(
        source, store=AlarmStore(tmp_path / "bed", bed="bed-5"), bed_id="bed-5", bed_label=LABEL
    )
    session.start()
    publisher = BedPublisher(session, BrokerSettings(nats_server.url))
    publisher.responder = ActionResponder(session, key)
    publisher.start()
    for i in range(30):
        source.push(Frame.build(1767254400.0 + i, {"pump_speed_rpm": 3300.0, "blood_flow_lpm": 4.0,
                                                  "p_venous_mmhg": -140.0}))  # fmt: skip
    users = Users(AlarmStore(tmp_path / "central"))
    users.add("val", "viewer", "1357")
    station = CentralStation(BrokerSettings(nats_server.url), action_key=key).start()
    wait_until(lambda: station.bed("bed-5") is not None and station.bed("bed-5").status is not None)
    app = create_central_app(station, users=users, secret=b"k" * 32, public_view=False)
    yield app, session
    station.stop()
    publisher.stop()
    session.stop()


def sweep(app, client) -> list[tuple[str, int, str]]:
    out = []
    for key, spec in app.callback_map.items():
        if "callback" not in spec:  # drawn in the browser (assets/central.js): nothing to ask
            continue
        outputs = [tuple(p.split(".", 1)) for p in key.strip(".").split("...")]

        def entry(dependency):
            ident = dependency["id"]
            if ident.startswith("{"):  # a tile's button: claim bed-5's alert
                return [{"id": {"type": "central-ack", "bed": "bed-5", "rule": "drainage_pressure_low"},
                         "property": dependency["property"], "value": 1}]  # fmt: skip
            return {"id": ident, "property": dependency["property"], "value": "bed-5"}

        inputs = [entry(d) for d in spec["inputs"]]
        trigger = spec["inputs"][0]
        changed = trigger["id"] if not trigger["id"].startswith("{") else (
            '{"bed":"bed-5","rule":"drainage_pressure_low","type":"central-ack"}'
        )  # fmt: skip
        response = post_callback(
            client, outputs, inputs, [entry(d) for d in spec.get("state", [])],
            [f"{changed}.{trigger['property']}"],
        )  # fmt: skip
        out.append((key, response.status_code, response.get_data(as_text=True)))
    return out


def test_every_central_callback_refuses_nobody_and_a_viewer(central):
    app, session = central
    nobody = app.server.test_client()
    viewer = app.server.test_client()
    post_callback(viewer, *sign_in_body("val", "1357"))
    assert nobody.get("/api/beds").status_code == 401
    assert viewer.get("/api/beds").status_code == 200
    for who, client in (("nobody", nobody), ("viewer", viewer)):
        for key, status, text in sweep(app, client):
            assert status in (200, 204), (who, key, status, text[:200])
            if who == "nobody":
                assert LABEL not in text, (key, text[:300])
    assert not [e for e in session.store.alarm_log() if e.state == "acknowledged"]
    assert session.store.events() == [] and session.store.labs() == []
