"""Every callback the app registers, called without a cookie and as a viewer, gives away
nothing of QA: no replay, no recording, no folder analysis, whatever the request says."""

from __future__ import annotations

import json

import pytest

from tests.browser import stop
from tests.page_client import PageClient, run_monitor, signed_in

#: What a request may claim, to reach for QA's data.
CLAIMS = {
    "bed.data": "qa-replay",
    "tabs.value": "qa",
    "qa-open.data": "samples/acute_oxygenator_clot.csv",
    "batch-folder.value": "samples",
    "refresh.n_intervals": 1,
}
#: Text only a QA output holds.
QA_MARKS = ("QA replay", "acute_oxygenator_clot", "pump_head_thrombosis", "batch-table",
            "qa-recording-table", "stable.csv")  # fmt: skip


@pytest.fixture()
def monitor(tmp_path):
    users = [("quinn", "qa", "9999"), ("val", "viewer", "1357")]
    process, url, _data = run_monitor(tmp_path, users=users)
    yield url
    stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def sweep(client: PageClient) -> list[tuple[str, int, str]]:
    """Call every callback once, each triggered by its first input; (key, status, text)."""
    out = []
    for key, spec in client.callbacks.items():
        if spec.get("clientside_function") or '"MATCH"' in key:
            continue  # run in the browser / one field's own class: no data either way

        def entry(dependency):
            ident, prop = dependency["id"], dependency["property"]
            if ident.startswith("{"):
                return []  # no pattern-matching instances: the page has none of QA's
            return {"id": ident, "property": prop, "value": CLAIMS.get(f"{ident}.{prop}", 1)}

        trigger = spec["inputs"][0]
        body = {
            "output": key,
            "outputs": _outputs(key),
            "inputs": [entry(d) for d in spec["inputs"]],
            "state": [entry(d) for d in spec["state"]],
            "changedPropIds": [f"{trigger['id']}.{trigger['property']}"],
        }
        response = client.http.post(client.url + "_dash-update-component", json=body, timeout=30)
        out.append((key, response.status_code, response.text))
    return out


def _outputs(key: str):
    def one(part: str):
        ident, prop = part.rsplit(".", 1) if part.startswith("{") else part.split(".", 1)
        if ident.startswith("{"):
            return []  # a pattern-matching output with no instances
        return {"id": ident, "property": prop.split("@")[0]}

    if not key.startswith(".."):
        return one(key)
    return [one(part) for part in key.strip(".").split("...")]


def test_no_callback_gives_qa_data_to_nobody_or_a_viewer(monitor):
    quinn = signed_in(monitor, "quinn", "9999")  # a QA replay is open on this server
    ident = {"key": "samples/acute_oxygenator_clot.csv", "type": "open-recording"}
    assert "opened" in quinn.press("qa-open.data", ident)
    for client in (PageClient(monitor), signed_in(monitor, "val", "1357")):
        for key, status, text in sweep(client):
            assert status in (200, 204, 400), (key, status, text[:200])
            leaked = [mark for mark in QA_MARKS if mark in text]
            assert leaked == [], (key, leaked, json.dumps(text[:300]))
