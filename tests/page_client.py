"""Driving a running monitor's page over HTTP as a browser does, for the security tests.

:class:`PageClient` is one browser's worth of HTTP (its own cookie jar), calling the
page's callbacks with request bodies built from the server's own ``/_dash-dependencies``.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import requests

from monitor.store import AlarmStore, Users
from tests.browser import free_port, start_monitor, stop, wait_for_http

#: Short timers so an alert comes and goes in a fraction of a second (site settings file).
FAST_RULES = """
[data_stale]
live_quiet_s = 1.0
[drainage_pressure_low]
on_delay_s = 0.2
off_delay_s = 0.2
"""


# -- driving the page's callbacks over HTTP --------------------------------------------
def _prop_id(component_id: str | dict, prop: str) -> str:
    if isinstance(component_id, dict):
        component_id = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return f"{component_id}.{prop}"


def _output_spec(output: str) -> dict | list[dict]:
    def one(text: str) -> dict:
        component_id, _, prop = text.rpartition(".")
        return {"id": component_id, "property": prop.split("@")[0]}

    if output.startswith(".."):
        return [one(part) for part in output[2:-2].split("...")]
    return one(output)


def results_in(node) -> list[tuple[str, str]]:
    """(data-result, text) of every component in a callback response that carries one."""
    found = []

    def text_of(value) -> str:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):
            return "".join(text_of(v) for v in value)
        if isinstance(value, dict):
            return text_of(value.get("props", {}).get("children"))
        return ""

    def walk(value) -> None:
        if isinstance(value, dict):
            props = value.get("props")
            if isinstance(props, dict) and "data-result" in props:
                found.append((props["data-result"], text_of(props.get("children"))))
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(node)
    return found


class PageClient:
    """One browser's worth of HTTP: its own cookie jar, the page's callbacks by output.

    The request bodies are built from the server's own ``/_dash-dependencies``, exactly
    as dash-renderer builds them, so a test calls a callback the way a page (or an
    attacker with curl) would, with no browser in between.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.get(url, timeout=10).raise_for_status()
        deps = self.http.get(url + "_dash-dependencies", timeout=10).json()
        self.callbacks = {d["output"]: d for d in deps}

    def output_key(self, output: str, trigger: str) -> str:
        """The key of the callback that writes ``output`` (``id.property``) when ``trigger``
        (``id.property`` of an input) changes."""
        trigger_id = trigger.rpartition(".")[0]

        def fires(dependency: dict) -> bool:
            component_id = dependency["id"]
            if component_id.startswith("{") and trigger_id.startswith("{"):
                pattern, concrete = json.loads(component_id), json.loads(trigger_id)
                return pattern.keys() == concrete.keys() and pattern["type"] == concrete["type"]
            return component_id == trigger_id

        for key, spec in self.callbacks.items():
            if output in key and any(fires(d) for d in spec["inputs"]):
                return key
        raise KeyError(f"no callback writes {output} on {trigger}")

    def call(
        self,
        output: str,
        trigger: str,
        values: dict | None = None,
        instances: dict[str, list[dict]] | None = None,
    ) -> requests.Response:
        """POST one callback. ``values`` maps ``id.property`` to a value; ``instances`` the
        concrete ids of a pattern-matching (ALL) input, by its pattern."""
        key = self.output_key(output, trigger)
        spec = self.callbacks[key]
        values = values or {}

        def entry(dependency: dict):
            component_id, prop = dependency["id"], dependency["property"]
            if component_id.startswith("{"):
                concrete = (instances or {}).get(component_id, [])
                return [
                    {"id": c, "property": prop, "value": values.get(_prop_id(c, prop))}
                    for c in concrete
                ]
            return {
                "id": component_id,
                "property": prop,
                "value": values.get(_prop_id(component_id, prop)),
            }

        body = {
            "output": key,
            "outputs": _output_spec(key),
            "inputs": [entry(d) for d in spec["inputs"]],
            "state": [entry(d) for d in spec["state"]],
            "changedPropIds": [trigger],
        }
        return self.http.post(self.url + "_dash-update-component", json=body, timeout=30)

    def sign_in(self, name: str, pin: str) -> requests.Response:
        return self.call(
            "user-area.children",
            "login-submit.n_clicks",
            {"login-submit.n_clicks": 1, "login-user.value": name, "login-pin.value": pin},
        )

    def acknowledge(self, rule: str, note: str = "") -> tuple[str, str]:
        ack_id = {"rule": rule, "type": "ack"}
        response = self.call(
            "ack-message.children",
            _prop_id(ack_id, "n_clicks"),
            {_prop_id(ack_id, "n_clicks"): 1, "ack-note.value": note},
            instances={'{"rule":["ALL"],"type":"ack"}': [ack_id]},
        )
        assert response.status_code == 200, response.text[:500]
        (result,) = results_in(response.json())
        return result

    def act(self, button: str, **state) -> tuple[str, str]:
        """Press a specialist action button with the given form values (``lab_value=..``)."""
        values = {f"{button}.n_clicks": 1}
        values.update({f"{k.replace('_', '-')}.value": v for k, v in state.items()})
        response = self.call("action-message.children", f"{button}.n_clicks", values)
        assert response.status_code == 200, response.text[:500]
        (result,) = results_in(response.json())
        return result

    def press(self, output: str, button: str | dict, **values) -> str:
        """Click ``button`` (an id, or a concrete pattern id as a dict) with the given form
        values (``id.property``: value); the reply as JSON text ("" when nothing changed)."""
        trigger = _prop_id(button, "n_clicks")
        instances = {}
        if isinstance(button, dict):
            pattern = {k: (v if k == "type" else ["ALL"]) for k, v in button.items()}
            instances[json.dumps(pattern, sort_keys=True, separators=(",", ":"))] = [button]
        response = self.call(output, trigger, {trigger: 1, **values}, instances)
        assert response.status_code in (200, 204), response.text[:500]
        return response.text if response.status_code == 200 else ""

    def status(self) -> dict:
        return self.http.get(self.url + "api/status", timeout=10).json()


def signed_in(url: str, name: str, pin: str) -> PageClient:
    client = PageClient(url)
    response = client.sign_in(name, pin)
    assert response.status_code == 200
    assert f"{name} (" in json.dumps(response.json()), response.text[:500]
    return client


# -- a running monitor --------------------------------------------------------------------
def add_users(data_dir: Path, *users: tuple[str, str, str]) -> None:
    """Add (name, role, PIN) users to the data directory's store, as ``users add`` does."""
    with AlarmStore(data_dir) as store:
        accounts = Users(store)
        for name, role, pin in users:
            accounts.add(name, role, pin)


def run_monitor(tmp_path: Path, *extra: str, users=()) -> tuple[subprocess.Popen, str, Path]:
    """``ecmo-monitor run`` on a serial URL that never sends (nothing here needs frames)."""
    data_dir = tmp_path / "data"
    add_users(data_dir, *users)
    config = tmp_path / "site.toml"
    config.write_text(FAST_RULES)
    port = free_port()
    process = start_monitor(
        ["run", "--serial", "loop://", "--profile", "keyvalue", "--data-dir", str(data_dir),
         "--port", str(port), "--config", str(config), *extra],
        tmp_path / "server.log",
    )  # fmt: skip
    host = "127.0.0.1"
    try:
        wait_for_http(f"http://{host}:{port}/", process=process)
    except BaseException:
        stop(process)
        raise
    return process, f"http://{host}:{port}/", data_dir


def table_counts(data_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(data_dir / "ecmo-monitor.db")
    try:
        tables = ["alarm_log", "acknowledgements", "events", "lab_entries", "baseline_resets"]
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


def listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from ``ss -ltn``)."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    return [cols[3] for cols in map(str.split, out.splitlines()) if cols[3].endswith(f":{port}")]


def outside_address() -> str | None:
    """This machine's address on its first non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent for a UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address
