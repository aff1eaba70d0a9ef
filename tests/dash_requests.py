"""Driving the page's refresh callbacks over HTTP, as the browser does (tests, benchmarks)."""

from __future__ import annotations

import json

import numpy as np

from adapters import FakeSource, Frame
from monitor.runtime import Session, SessionRegistry, TelemetryBuffer
from monitor.web.app import create_app

TREND_OUTPUTS = [("trends", "extendData"), ("trends", "figure"), ("cursor", "data")]
STATUS_OUTPUTS = [
    ("header", "children"),
    ("tiles", "children"),
    ("derived", "children"),
    ("alerts", "children"),
    ("alert-history", "children"),
    ("sound-holder", "children"),
    ("panel-signature", "data"),
]


def filled_session(hours: float, rate_hz: float = 1.0) -> Session:
    """A session whose buffer holds ``hours`` of plausible frames (72 h capacity)."""
    buffer = TelemetryBuffer()
    rng = np.random.default_rng(0)
    n = int(hours * 3600 * rate_hz)
    t0 = 1_767_254_400.0
    for i in range(n):
        buffer.append(
            Frame.build(
                t0 + i / rate_hz,
                {
                    "pump_speed_rpm": 3200.0 + rng.normal(0, 2),
                    "blood_flow_lpm": 4.2 + rng.normal(0, 0.02),
                    "p_venous_mmhg": -45.0 + rng.normal(0, 1),
                    "p_pre_oxy_mmhg": 200.0 + rng.normal(0, 1),
                    "p_post_oxy_mmhg": 175.0 + rng.normal(0, 1),
                },
            )
        )
    return Session(FakeSource("test source"), buffer=buffer)


def client_for(session: Session):
    registry = SessionRegistry()
    registry.add(session)
    app = create_app(registry)
    return app.server.test_client()


def post_callback(client, outputs, inputs, state, changed):
    """POST one callback as the page does: one output bare, several in the ``..a...b..`` form."""
    if len(outputs) != 1:
        return client.post("/_dash-update-component", json=_body(outputs, inputs, state, changed))
    (ident, prop) = outputs[0]
    body = {
        "output": f"{ident}.{prop}",
        "outputs": {"id": ident, "property": prop},
        "inputs": inputs,
        "changedPropIds": changed,
        "state": state,
    }
    return client.post("/_dash-update-component", json=body)


def sign_in_body(name: str, pin: str) -> tuple:
    """The sign-in callback's outputs, inputs, state and trigger, for :func:`post_callback`."""
    return (
        [("user-area", "children")],
        [{"id": "login-submit", "property": "n_clicks", "value": 1},
         {"id": "logout", "property": "n_clicks", "value": None}],
        [{"id": "login-user", "property": "value", "value": name},
         {"id": "login-pin", "property": "value", "value": pin}],
        ["login-submit.n_clicks"],
    )  # fmt: skip


def callback_outputs(app, prefix: str) -> list[tuple[str, str]]:
    """The (id, property) outputs of the registered callback whose key starts with ``prefix``."""
    key = next(k for k in app.callback_map if k.startswith(prefix))
    return [tuple(part.split(".", 1)) for part in key.strip(".").split("...")]


def _body(outputs, inputs, state, changed):
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": inputs,
        "changedPropIds": changed,
        "state": state,
    }


def trend_refresh(client, cursor: dict, window_seconds: float | None):
    """POST one trend refresh; (response bytes, decoded response).

    A cursor without a ``window`` is taken as drawn for ``window_seconds`` (a steady page).
    """
    cursor = {"window": window_seconds, **cursor}
    body = _body(
        TREND_OUTPUTS,
        [
            {"id": "refresh", "property": "n_intervals", "value": 5},
            {"id": "window", "property": "data", "value": {"seconds": window_seconds}},
        ],
        [
            {"id": "cursor", "property": "data", "value": cursor},
            {"id": "bed", "property": "data", "value": "bed-1"},
        ],
        ["refresh.n_intervals"],
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code in (200, 204), response.data[:500]
    return len(response.data), (json.loads(response.data) if response.status_code == 200 else {})


def status_refresh(client, signature: str = ""):
    body = _body(
        STATUS_OUTPUTS,
        [{"id": "refresh", "property": "n_intervals", "value": 5}],
        [
            {"id": "panel-signature", "property": "data", "value": signature},
            {"id": "bed", "property": "data", "value": "bed-1"},
        ],
        ["refresh.n_intervals"],
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    return len(response.data), json.loads(response.data)
