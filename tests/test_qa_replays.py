"""Each signed-in QA user gets a replay of their own; nobody else lands on it.

Checked on the replay registry itself (bounded, the one idle longest closed first) and
against the real ``ecmo-monitor`` process over HTTP and in two Chromium browsers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from adapters import read_recording
from monitor.runtime import QA_BED, QaReplays
from rules import default_config
from tests.browser import stop
from tests.page_client import PageClient, run_monitor, signed_in

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_streams"
QA_USERS = [("quinn", "qa", "9999"), ("rita", "qa", "8888"), ("val", "viewer", "1357")]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture(scope="module")
def recording():
    return read_recording(SAMPLES / "stable.csv")


def test_two_users_have_two_replays(recording):
    replays = QaReplays(limit=4, clock=Clock())
    try:
        a = replays.open("quinn", recording, default_config(), "QA replay: a")
        b = replays.open("rita", recording, default_config(), "QA replay: b")
        assert replays.get("quinn") is a and replays.get("rita") is b and a is not b
        assert replays.get("val") is None
    finally:
        replays.close_all()


def test_opening_one_replay_too_many_closes_the_one_idle_longest(recording):
    replays = QaReplays(limit=2, clock=Clock())
    try:
        first = replays.open("ann", recording, default_config(), "a")
        replays.open("bob", recording, default_config(), "b")
        replays.get("ann")  # ann is back: bob is now the one idle longest
        replays.open("cat", recording, default_config(), "c")
        assert replays.users() == ["ann", "cat"]
        assert replays.get("bob") is None and replays.get("ann") is first
    finally:
        replays.close_all()


def test_reopening_replaces_the_users_own_replay_and_stops_the_old_one(recording):
    replays = QaReplays(limit=4, clock=Clock())
    try:
        old = replays.open("quinn", recording, default_config(), "old")
        new = replays.open("quinn", recording, default_config(), "new")
        assert replays.users() == ["quinn"] and replays.get("quinn") is new
        assert old.source.status().state in ("stopped", "finished")
    finally:
        replays.close_all()


def test_seeking_rebuilds_only_the_users_own_replay(recording):
    replays = QaReplays(limit=4, clock=Clock())
    try:
        replays.open("quinn", recording, default_config(), "q")
        other = replays.open("rita", recording, default_config(), "r")
        start = float(recording.seconds[0])
        moved = replays.seek("quinn", start + 600)
        assert moved is replays.get("quinn")
        assert moved.buffer.last_seq >= 590  # the frames before the target were replayed
        assert replays.get("rita") is other and other.buffer.last_seq < 10
    finally:
        replays.close_all()


# -- the running monitor ------------------------------------------------------------------
def open_recording(client: PageClient, key: str) -> str:
    ident = {"key": key, "type": "open-recording"}
    return client.press("qa-open.data", ident)


def header_of(client: PageClient) -> str:
    response = client.call(
        "header.children",
        "refresh.n_intervals",
        {"refresh.n_intervals": 1, "bed.data": QA_BED, "panel-signature.data": ""},
    )
    assert response.status_code == 200, response.text[:300]
    return json.dumps(response.json()["response"]["header"]["children"])


@pytest.fixture()
def monitor(tmp_path):
    process, url, _data = run_monitor(tmp_path, users=QA_USERS)
    yield url
    stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_two_qa_users_each_see_their_own_replay_and_a_viewer_sees_the_live_bed(monitor):
    quinn, rita = signed_in(monitor, "quinn", "9999"), signed_in(monitor, "rita", "8888")
    assert "opened" in open_recording(quinn, "samples/return_line_kink.csv")
    assert "opened" in open_recording(rita, "samples/pump_head_thrombosis.csv")
    assert "QA replay: return_line_kink.csv" in header_of(quinn)
    assert "QA replay: pump_head_thrombosis.csv" in header_of(rita)
    # a viewer, and somebody not signed in, holding the replay's bed id see the live bed
    for client in (signed_in(monitor, "val", "1357"), PageClient(monitor)):
        header = header_of(client)
        assert "QA replay" not in header and "loop://" in header


def poll_batch(client: PageClient) -> str:
    response = client.call(
        "batch-result.children",
        "refresh.n_intervals",
        {"refresh.n_intervals": 1, "tabs.value": "qa"},
    )
    assert response.status_code in (200, 204), response.text[:300]
    return response.text if response.status_code == 200 else ""


def test_a_folder_analysis_is_shown_only_to_qa(monitor):
    quinn = signed_in(monitor, "quinn", "9999")
    started = quinn.call(
        "batch-progress.children",
        "batch-run.n_clicks",
        {"batch-run.n_clicks": 1, "batch-folder.value": "samples"},
    )
    assert "started" in started.text
    deadline = time.monotonic() + 60
    while "batch-table" not in poll_batch(quinn):
        assert time.monotonic() < deadline, "the folder analysis did not finish"
        time.sleep(0.5)
    assert "stable.csv" in poll_batch(quinn)
    for client in (signed_in(monitor, "val", "1357"), PageClient(monitor)):
        answer = poll_batch(client)
        assert answer in ("", '{"multi":true,"response":{}}'), answer[:300]  # nothing at all
