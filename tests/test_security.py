"""Security of the running monitor, checked against the real ``ecmo-monitor`` process.

- the page binds 127.0.0.1 unless told otherwise, and another address prints a warning;
- every state-changing callback, called over HTTP as the browser calls it, refuses a
  viewer and an anonymous caller, logs the refusal and writes nothing;
- five wrong PINs lock a name for five minutes; PINs are kept only as salted PBKDF2 hashes;
- the session cookie is HttpOnly and SameSite=Strict; Dash debug mode and dev tools are off
  without ``--dev``;
- values from the page are checked (type, range, size) before use.

The alarm log being append-only in the database itself (triggers refusing UPDATE and
DELETE on every log table) is tested in ``tests/test_store.py``
(``test_the_database_refuses_to_update_or_delete_log_rows``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from monitor.store import LOCKOUT_SECONDS, AlarmStore, AuthError, Users
from tests.browser import stop
from tests.page_client import (
    PageClient,
    listening,
    outside_address,
    run_monitor,
    signed_in,
    table_counts,
)

ROOT = Path(__file__).resolve().parents[1]
#: The specialist actions of the page: button id -> the permission the server checks.
ACTIONS = {
    "event-submit": "record_event",
    "lab-submit": "enter_lab",
    "baseline-reset": "reset_baseline",
    "weight-submit": "settings",
    "flow-min-submit": "settings",
}


def _monitor(tmp_path: Path):
    users = [("sam", "specialist", "2468"), ("val", "viewer", "1357")]
    process, url, data_dir = run_monitor(tmp_path, users=users)
    try:
        yield url, data_dir, tmp_path / "server.log"
    finally:
        stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.fixture()
def monitor(tmp_path):
    """A monitor of one's own, with a specialist (sam 2468) and a viewer (val 1357)."""
    yield from _monitor(tmp_path)


@pytest.fixture(scope="module")
def shared_monitor(tmp_path_factory):
    """One monitor for tests that change nothing (each checks that it changed nothing)."""
    yield from _monitor(tmp_path_factory.mktemp("shared"))


# -- binding ------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")
def test_the_page_listens_on_loopback_only_by_default(monitor):
    url, _data_dir, log = monitor
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    assert listening(port) == [f"127.0.0.1:{port}"]
    address = outside_address()
    if address is not None:  # from the machine's own network address: nobody answers
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass
    assert "warning" not in log.read_text().lower()


def test_serving_on_all_addresses_prints_a_warning_that_names_the_risk(tmp_path):
    process, _url, _data_dir = run_monitor(tmp_path, "--host", "0.0.0.0")
    try:
        log = (tmp_path / "server.log").read_text()
    finally:
        stop(process)
    warning = next(line for line in log.splitlines() if line.startswith("warning:"))
    assert "0.0.0.0" in warning and "other machines" in warning
    assert "patient data" in warning and "trusted network" in warning


# -- roles on the server ------------------------------------------------------------------
def test_every_state_changing_callback_refuses_a_viewer_and_nobody_and_logs_it(monitor):
    url, data_dir, log = monitor
    specialist = signed_in(url, "sam", "2468")
    # an alert to acknowledge (plasma free Hb over the high limit), entered by a specialist
    assert specialist.act("lab-submit", lab_analyte="plasma_free_hb_mg_dl", lab_value=120)[0] == (
        "done"
    )
    assert any(a["rule"] == "hemolysis" for a in specialist.status()["alerts"])
    before = table_counts(data_dir)
    recording = next((data_dir / "recordings").glob("*.csv"))
    recording_before = recording.read_text()

    anonymous = PageClient(url)
    viewer = signed_in(url, "val", "1357")
    form = {
        "event_kind": "oxygenator_change", "event_note": "swap", "lab_analyte":
        "plasma_free_hb_mg_dl", "lab_value": 300, "weight_value": 70, "flow_min_value": 60,
    }  # fmt: skip
    for client, words in ((anonymous, "Sign in as a specialist"), (viewer, "val (viewer) may not")):
        for button in ACTIONS:
            result, text = client.act(button, **form)
            assert result == "refused" and words in text, (button, text)
        result, text = client.acknowledge("hemolysis", note="not mine to acknowledge")
        assert result == "refused" and words in text, text

    # nothing was written, nothing changed
    assert table_counts(data_dir) == before
    assert recording.read_text() == recording_before
    status = specialist.status()
    hemolysis = next(a for a in status["alerts"] if a["rule"] == "hemolysis")
    assert hemolysis["state"] == "active"
    # each refusal is a line in the server log
    text = log.read_text()
    for action in [*set(ACTIONS.values()), "acknowledge"]:
        assert f"refused {action}: nobody is signed in" in text, action
        assert f"refused {action} for val: role viewer" in text, action
    assert text.count("refused settings: nobody is signed in") == 2

    # the same calls from a specialist do what they say: the refusals were about the role
    assert specialist.acknowledge("hemolysis")[0] == "acknowledged"
    assert table_counts(data_dir)["acknowledgements"] == 1


def test_every_qa_callback_refuses_anyone_but_qa_and_logs_it(tmp_path):
    users = [("quinn", "qa", "9753"), ("sam", "specialist", "2468"), ("val", "viewer", "1357")]
    process, url, _data_dir = run_monitor(tmp_path, users=users)
    key = "samples/stable.csv"
    calls = {
        "open": ("qa-message.children", {"type": "open-recording", "key": key}, {}),
        "analyse a folder": ("batch-progress.children", "batch-run", {"batch-folder.value": "samples"}),
        "what-if": ("whatif-result.children", "whatif-run", {"qa-open.data": key}),
        "export": ("qa-message.children", "export-html", {"qa-open.data": key}),
        "play": ("replay-status.children", "replay-play", {}),
        "speed": ("replay-status.children", "replay-speed", {"replay-speed.value": 600}),
    }  # fmt: skip
    try:
        quinn = signed_in(url, "quinn", "9753")
        opened = quinn.press("qa-message.children", {"type": "open-recording", "key": key})
        assert '"data-result":"opened"' in opened, opened[:500]
        wrong = []
        for client, words in (
            (PageClient(url), "Sign in as a QA user to do this."),
            (signed_in(url, "val", "1357"), "val (viewer) may not"),
            (signed_in(url, "sam", "2468"), "sam (specialist) may not"),
        ):
            for what, (output, button, values) in calls.items():
                if words not in client.press(output, button, **values):
                    wrong.append((what, words))
        replay = quinn.call("replay-status.children", "refresh.n_intervals", {})
    finally:
        stop(process)
    assert wrong == [], "not refused"
    assert '"data-state":"paused"' in replay.text  # nobody but quinn could start it
    log = (tmp_path / "server.log").read_text()
    for action in ("replay", "analyse", "export"):
        assert f"refused {action}: nobody is signed in" in log
        assert f"refused {action} for val: role viewer" in log
        assert f"refused {action} for sam: role specialist" in log
    assert "Traceback" not in log


def test_a_forged_session_cookie_is_treated_as_nobody(monitor):
    url, data_dir, _log = monitor
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    forger = Flask("forger")
    forger.secret_key = b"not the server's secret"
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    client = PageClient(url)
    client.http.cookies.set("ecmo_session", serializer.dumps({"user": "sam"}))
    result, text = client.act("baseline-reset")
    assert result == "refused" and "Sign in" in text
    assert table_counts(data_dir)["baseline_resets"] == 0


# -- PINs ---------------------------------------------------------------------------------
def test_five_wrong_pins_lock_the_name_even_for_the_right_pin(monitor):
    url, _data_dir, log = monitor
    client = PageClient(url)
    for pin in ("0000", "1111", "2222", "3333", "4444"):
        text = json.dumps(client.sign_in("sam", pin).json())
        assert "Unknown user or wrong PIN." in text
    text = json.dumps(client.sign_in("sam", "2468").json())
    assert "Too many wrong PINs for sam" in text and "sam (specialist)" not in text
    seconds = int(re.search(r"try again in (\d+) s", text).group(1))
    assert LOCKOUT_SECONDS - 5 <= seconds <= LOCKOUT_SECONDS + 1
    # another name is not locked by sam's failures
    assert "val (viewer)" in json.dumps(PageClient(url).sign_in("val", "1357").json())
    assert "sign-in for 'sam' locked for 300 s after 5 failures" in log.read_text()


def test_the_lock_lasts_five_minutes_then_the_right_pin_works(tmp_path):
    now = [1000.0]
    with AlarmStore(tmp_path) as store:
        users = Users(store, clock=lambda: now[0])
        users.add("sam", "specialist", "2468")
        for _ in range(5):
            with pytest.raises(AuthError, match="wrong PIN"):
                users.authenticate("sam", "9999")
        now[0] += 299.0
        with pytest.raises(AuthError, match="Too many wrong PINs"):
            users.authenticate("sam", "2468")
        now[0] += 2.0
        assert users.authenticate("sam", "2468").role == "specialist"


def test_pins_are_kept_only_as_salted_pbkdf2_hashes(tmp_path):
    data_dir = tmp_path / "data"
    for name in ("ann", "bo"):  # the same PIN for both, through the real command
        subprocess.run(
            [sys.executable, "-m", "monitor.cli", "users", "add", name, "--role", "specialist",
             "--pin", "482916", "--data-dir", str(data_dir)],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
    raw = (data_dir / "ecmo-monitor.db").read_bytes()
    wal = data_dir / "ecmo-monitor.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"482916" not in raw and "482916".encode("utf-16-le") not in raw
    db = sqlite3.connect(data_dir / "ecmo-monitor.db")
    rows = db.execute("SELECT name, salt, pin_hash, iterations FROM users ORDER BY name").fetchall()
    assert [r[0] for r in rows] == ["ann", "bo"]
    (_, salt_a, hash_a, iterations), (_, salt_b, hash_b, _) = rows
    assert salt_a != salt_b and hash_a != hash_b  # same PIN, different salt, different hash
    assert len(salt_a) >= 16 and iterations >= 100_000
    assert hash_a == hashlib.pbkdf2_hmac("sha256", b"482916", salt_a, iterations)
    assert hash_b == hashlib.pbkdf2_hmac("sha256", b"482916", salt_b, iterations)


# -- cookie and debug mode ------------------------------------------------------------------
def test_the_session_cookie_is_httponly_and_samesite_strict(monitor):
    url, _data_dir, _log = monitor
    response = PageClient(url).sign_in("sam", "2468")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ecmo_session=")
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip() == "SameSite=Strict"
    assert "sam" not in cookie.split(";")[0].split(".")[-1]  # the signature is not the name


def page_config(url: str) -> dict:
    html = requests.get(url, timeout=10).text
    match = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1))


def test_debug_mode_and_dev_tools_are_off_without_dev(tmp_path):
    process, url, _data_dir = run_monitor(tmp_path)
    try:
        config = page_config(url)
        # a broken request is a bare error, not a debugger page with a traceback
        broken = requests.post(url + "_dash-update-component", data=b"{not json", timeout=10)
        unknown = requests.post(
            url + "_dash-update-component", json={"output": "nothing.children"}, timeout=10
        )
    finally:
        stop(process)
    assert config["ui"] is False and config["props_check"] is False
    assert "hot_reload" not in config
    for response in (broken, unknown):
        assert 400 <= response.status_code < 600
        assert "Traceback" not in response.text and "debugger" not in response.text.lower()
    assert "Debug mode: off" in (tmp_path / "server.log").read_text()


def test_dev_turns_the_dev_tools_on(tmp_path):
    process, url, _data_dir = run_monitor(tmp_path, "--dev")
    try:
        config = page_config(url)
    finally:
        stop(process)
    assert config["ui"] is True  # the check above would see the difference


# -- input validation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("button", "form", "words"),
    [
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": "abc"}, "Enter a number"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": "9" * 100_000}, "finite"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": "x" * 100_000}, "Enter a number"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": [120]}, "Enter a number"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": {"v": 1}}, "Enter a number"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": "1e999"}, "finite"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": 1e9}, "plausible range"),
        ("lab-submit", {"lab_analyte": "plasma_free_hb_mg_dl", "lab_value": -5}, "plausible range"),
        ("lab-submit", {"lab_analyte": "'; DROP TABLE lab_entries; --", "lab_value": 10}, "Unknown lab analyte"),
        ("lab-submit", {"lab_analyte": ["ldh_u_l"], "lab_value": 10}, "Unknown lab analyte"),
        ("weight-submit", {"weight_value": "seventy"}, "Enter a number"),
        ("weight-submit", {"weight_value": 5000}, "not plausible"),
        ("weight-submit", {"weight_value": 0.2}, "not plausible"),
        ("weight-submit", {"weight_value": [70]}, "Enter a number"),
        ("flow-min-submit", {"flow_min_value": 1000}, "not plausible"),
        ("flow-min-submit", {"flow_min_value": "lots"}, "Enter a number"),
        ("event-submit", {"event_kind": "format_c", "event_note": ""}, "Unknown event"),
        ("event-submit", {"event_kind": {"k": 1}, "event_note": ""}, "Unknown event"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)  # fmt: skip
def test_out_of_range_or_wrong_typed_values_are_refused_with_a_message(
    shared_monitor, button, form, words
):
    url, data_dir, _log = shared_monitor
    client = signed_in(url, "sam", "2468")
    before = table_counts(data_dir)
    result, text = client.act(button, **form)
    assert result == "refused" and words in text, text
    assert len(text) < 300  # a sentence, not the input echoed back
    assert table_counts(data_dir) == before
    status = client.status()
    assert status["good_frames"] == 0 and not any(
        a["rule"] == "hemolysis" for a in status["alerts"]
    )


def test_oversized_notes_and_names_are_cut_to_size(monitor):
    url, data_dir, _log = monitor
    client = signed_in(url, "sam", "2468")
    assert client.act("event-submit", event_kind="note", event_note="n" * 100_000)[0] == "done"
    (event,) = AlarmStore(data_dir).events()
    assert event.note == "n" * 200
    text = json.dumps(PageClient(url).sign_in("s" * 100_000, "2" * 100_000).json())
    assert "Unknown user or wrong PIN." in text


def test_a_boolean_is_not_a_number(shared_monitor):
    url, data_dir, _log = shared_monitor
    client = signed_in(url, "sam", "2468")
    before = table_counts(data_dir)
    for button, form in (("weight-submit", {"weight_value": True}),
                         ("lab-submit", {"lab_analyte": "ldh_u_l", "lab_value": True})):  # fmt: skip
        result, text = client.act(button, **form)
        assert result == "refused" and "number" in text, text
    assert table_counts(data_dir) == before


def test_a_huge_request_body_is_refused_before_it_is_read(tmp_path):
    process, url, _data_dir = run_monitor(tmp_path)
    try:
        response = requests.post(
            url + "_dash-update-component",
            data=b"{" + b" " * (20 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    finally:
        stop(process)
    assert response.status_code == 413
