"""``ecmo-monitor central --demo``: a local nats-server, simulated beds and the central page,
from one command; stopping it stops them all."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest

from tests.browser import free_port, start_monitor, wait_for_http
from tests.bus_helpers import wait_until

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def beds(port: int) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/beds", timeout=5) as response:
        return json.loads(response.read())["beds"]


def test_the_demo_runs_a_ward_and_stopping_it_stops_every_part(tmp_path):
    port, parts = free_port(), []
    demo = start_monitor(
        ["central", "--demo", "--beds", "2", "--port", str(port)], tmp_path / "demo.log"
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/central", timeout=60, process=demo)
        wait_until(
            lambda: [b["state"] for b in beds(port)] == ["receiving", "receiving"],
            timeout=45,
            what="two demo beds receiving",
            step=0.5,
        )
        parts = children(demo.pid)
        assert len(parts) == 3  # the nats-server and two beds
        log = (tmp_path / "demo.log").read_text()
        assert "sign in at the central as 'specialist' with PIN" in log
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(20)
    wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in parts), timeout=15,
               what="the demo's server and beds to stop")  # fmt: skip
