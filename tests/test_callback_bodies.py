"""A crafted callback request gets a clear 400 (or is read safely), never an HTTP 500."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import FakeSource
from monitor.runtime import Session, SessionRegistry
from monitor.web import create_app
from tests.dash_requests import TREND_OUTPUTS, _body

PATH = "/_dash-update-component"


@pytest.fixture(scope="module")
def client():
    registry = SessionRegistry()
    registry.add(Session(FakeSource("idle")))
    return create_app(registry).server.test_client()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "raw",
    ["null", "[]", "{}", '"text"', "12", deep(100_000), "{not json", '{"output": 5}',
     '{"output": "x", "outputs": {}, "inputs": "no", "changedPropIds": []}'],
    ids=["null", "list", "empty", "string", "number", "deep", "broken", "output-int", "inputs-str"],
)  # fmt: skip
def test_a_malformed_callback_body_is_refused_with_400_and_one_log_line(client, raw, caplog):
    with caplog.at_level(logging.WARNING, logger="ecmo_monitor.web"):
        response = client.post(PATH, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("Malformed callback request")
    lines = [r for r in caplog.records if r.name == "ecmo_monitor.web"]
    assert len(lines) == 1 and "malformed callback" in lines[0].getMessage()


@pytest.mark.parametrize(
    ("cursor", "window"),
    [("x", {"seconds": 3600}), ([1, 2], None), ({"seq": "a", "t": "b", "appended": []}, "w"),
     ({"seq": -5, "bed": {"x": 1}}, {"seconds": "all"}), (None, {"seconds": True}),
     ({"seq": 1e308}, {"seconds": -1})],
)  # fmt: skip
def test_wrong_types_in_the_cursor_or_window_are_read_safely(client, cursor, window):
    body = _body(
        TREND_OUTPUTS,
        [
            {"id": "refresh", "property": "n_intervals", "value": 1},
            {"id": "window", "property": "data", "value": window},
        ],
        [
            {"id": "cursor", "property": "data", "value": cursor},
            {"id": "bed", "property": "data", "value": "bed-1"},
        ],
        ["refresh.n_intervals"],
    )
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["multi"] is True  # an answer (nothing new, or a fresh figure)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
BODY = st.fixed_dictionaries(
    {},
    optional={
        "output": st.sampled_from(["trends.extendData", "..x.y...z.w..", "header.children"]) | JSON,
        "outputs": JSON,
        "inputs": st.lists(JSON, max_size=4) | JSON,
        "state": st.lists(JSON, max_size=4) | JSON,
        "changedPropIds": st.lists(st.text(max_size=20), max_size=3) | JSON,
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODY | JSON)
def test_any_json_body_is_answered_without_a_server_error(client, body):
    response = client.post(PATH, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 204, 400), response.get_data(as_text=True)[:300]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_answered_without_a_server_error(client, raw):
    response = client.post(PATH, data=raw, content_type="application/json")
    assert response.status_code in (200, 204, 400)
