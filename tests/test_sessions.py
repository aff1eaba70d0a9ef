"""Sign-ins live on the server and end: on sign-out (for every copy of the cookie), after
30 idle minutes, after a 12-hour shift, and when the user is removed or gets a new PIN."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import AlarmStore, User, Users
from tests.browser import stop
from tests.page_client import PageClient, run_monitor, signed_in, table_counts

ROOT = Path(__file__).resolve().parents[1]


class Wall:
    def __init__(self) -> None:
        self.now = 1_767_254_400.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def users(tmp_path):
    wall = Wall()
    with AlarmStore(tmp_path) as store:
        accounts = Users(store, wall=wall)
        accounts.add("sam", "specialist", "2468")
        accounts.wall = wall
        yield accounts


def test_a_sign_in_ends_after_thirty_idle_minutes(users):
    token = users.start_session(User("sam", "specialist"), "10.0.0.5")
    users.wall.now += 29 * 60
    assert users.session_user(token) == User("sam", "specialist")
    users.wall.now += 29 * 60  # seen 29 min ago: still in
    assert users.session_user(token) is not None
    users.wall.now += 31 * 60
    assert users.session_user(token) is None
    users.wall.now += 1  # and it stays ended
    assert users.session_user(token) is None


def test_a_sign_in_ends_after_a_twelve_hour_shift_however_busy(users):
    token = users.start_session(User("sam", "specialist"), "10.0.0.5")
    for _ in range(12 * 6 - 1):
        users.wall.now += 10 * 60
        assert users.session_user(token) is not None
    users.wall.now += 10 * 60 + 1
    assert users.session_user(token) is None


def test_removing_a_user_or_giving_a_new_pin_ends_their_sign_ins(users):
    users.add("val", "specialist", "1357")
    sam = users.start_session(User("sam", "specialist"), "10.0.0.5")
    val = users.start_session(User("val", "specialist"), "10.0.0.6")
    users.set_pin("sam", "8642")
    assert users.session_user(sam) is None and users.session_user(val) is not None
    assert users.authenticate("sam", "8642", "10.0.0.5").name == "sam"
    users.remove("val")
    assert users.session_user(val) is None


# -- the running monitor ------------------------------------------------------------------
@pytest.fixture()
def monitor(tmp_path):
    process, url, data_dir = run_monitor(tmp_path, users=[("sam", "specialist", "2468")])
    yield url, data_dir, tmp_path / "server.log"
    stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_signing_out_ends_the_sign_in_for_a_copied_cookie_too(monitor):
    url, data_dir, _log = monitor
    sam = signed_in(url, "sam", "2468")
    thief = PageClient(url)
    thief.http.cookies.update(sam.http.cookies)  # a copy of the cookie
    assert thief.act("event-submit", event_kind="note", event_note="copied")[0] == "done"
    sam.call("user-area.children", "logout.n_clicks", {"logout.n_clicks": 1})
    result, text = thief.act("event-submit", event_kind="note", event_note="after sign-out")
    assert result == "refused" and "Sign in" in text
    assert table_counts(data_dir)["events"] == 1


def test_a_new_pin_from_the_command_line_ends_a_running_sign_in(monitor):
    url, data_dir, log = monitor
    sam = signed_in(url, "sam", "2468")
    subprocess.run(
        [sys.executable, "-m", "monitor.cli", "users", "set-pin", "sam", "--pin", "8642",
         "--data-dir", str(data_dir)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    result, _text = sam.act("baseline-reset")
    assert result == "refused"
    assert "the sign-in of sam ended" in log.read_text() or "has ended" in log.read_text()
    listed = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "users", "list", "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "sam\tspecialist\tlast signed in 20" in listed


def test_a_tampered_cookie_is_logged_as_such_once(monitor):
    url, _data_dir, log = monitor
    client = PageClient(url)
    client.http.cookies.set("ecmo_session", "eyJ0b2tlbiI6ImZha2UifQ.forged.signature")
    for _ in range(3):
        assert client.act("baseline-reset")[0] == "refused"
    lines = [line for line in log.read_text().splitlines() if "did not verify" in line]
    assert len(lines) == 1, json.dumps(lines)
