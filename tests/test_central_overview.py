"""The central overview sends what changed, and draws an hour of flow and delta P rise.

A central station fed literal bus messages in process (no broker needed for what it
shows): the sparklines are the minute means of the hour before each bed's newest frame,
the rise only over an established baseline and above the rule's minimum flow; a
refresh with nothing new sends no tile and no sparkline, an alert that changes redraws
that one tile, a new minute sends each bed only its newest point; and in Chromium the
tiles show their sparklines, stay worst first, and keep them when one is redrawn.
"""

from __future__ import annotations

import json
import threading

import pytest
from dash import Patch, no_update
from dash._utils import to_json
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from adapters import Frame
from monitor.bus import AlertSummary, BrokerSettings, FrameMessage, StatusMessage
from monitor.central import CentralStation
from monitor.central.sparkline import MINUTES, sparkline
from monitor.runtime import TelemetryBuffer
from monitor.web import create_central_app
from monitor.web.central.overview import refresh
from rules import load_config
from tests.browser import free_port

CONFIG = load_config(None)
T0 = 1767254400.0  # 2026-01-01 08:00 UTC, a whole minute
RESISTANCE = 5.0  # mmHg per L/min


def frame(bed: str, seq: int, t: float, flow: float = 4.0, delta_p: float = 20.0) -> bytes:
    values = {"blood_flow_lpm": flow, "delta_p_mmhg": delta_p, "pump_speed_rpm": 3200.0}
    return FrameMessage(bed, seq, t, values).encode()


def status(bed: str, alerts=(), label: str | None = None) -> bytes:
    return StatusMessage(
        bed, T0, label or bed.title(), "receiving", 1, 60.0, 70.0, T0, 0.5, 0.0,
        tuple(alerts), RESISTANCE, T0,
    ).encode()  # fmt: skip


def ward(beds: int, minutes: int = 61) -> CentralStation:
    """``beds`` beds with ``minutes`` minutes of one frame each 10 s, and a heartbeat."""
    station = CentralStation(BrokerSettings("nats://127.0.0.1:1"))
    for b in range(beds):
        bed = f"bed-{b:03d}"
        for i in range(minutes * 6):
            station.take_frame(frame(bed, i + 1, T0 + 10 * i), f"ecmo.{bed}.frame")
        station.take_status(status(bed), f"ecmo.{bed}.status")
    return station


def json_size(value) -> int:
    return len(to_json(value))


def test_the_sparkline_is_the_minute_means_of_the_hour_before_the_newest_frame():
    buffer = TelemetryBuffer(10_000)
    start = T0 - 3600
    for i in range(3600 // 15):  # a frame each 15 s over the hour
        t = start + 15 * i
        flow = 2.0 if i % 4 == 0 else 4.0  # each minute: 2, 4, 4, 4 -> mean 3.5
        delta_p = RESISTANCE * flow + 12.0  # 12 mmHg over the baseline
        if 600 <= t - start < 720:  # minutes 10 and 11: no frame at all
            continue
        if 1200 <= t - start < 1260:  # minute 20: flow too low for the rule to judge
            flow, delta_p = 0.5, 30.0
        buffer.append(Frame.build(t, {"blood_flow_lpm": flow, "delta_p_mmhg": delta_p}))
    buffer.append(Frame.build(T0 + 5, {"blood_flow_lpm": 9.0, "delta_p_mmhg": 99.0}))
    since = start + 30 * 60  # the baseline was established half-way through the hour
    spark = sparkline(buffer, int(T0 // 60), RESISTANCE, since, CONFIG)
    assert len(spark.flow) == len(spark.rise) == MINUTES
    assert spark.flow[0] == 3.5 and spark.flow[-1] == 3.5  # the newest, partial minute is out
    assert spark.flow[10] is None and spark.flow[11] is None  # a gap where no frame came
    assert spark.flow[20] == 0.5
    assert all(r is None for r in spark.rise[:30])  # before the baseline: no rise
    assert all(r == 12.0 for r in spark.rise[30:])
    without = sparkline(buffer, int(T0 // 60), None, None, CONFIG)
    assert all(r is None for r in without.rise)
    # low flow: the rule does not judge, so neither does the sparkline
    late = sparkline(buffer, int(T0 // 60), RESISTANCE, start, CONFIG)
    assert late.rise[20] is None and late.rise[19] == 12.0


def test_a_new_minute_follows_the_last_only_when_the_older_points_stayed():
    buffer = TelemetryBuffer(10_000)
    for i in range(62 * 4):
        buffer.append(Frame.build(T0 + 15 * i, {"blood_flow_lpm": 4.0, "delta_p_mmhg": 20.0}))
    minute = int(T0 // 60) + 61
    earlier = sparkline(buffer, minute - 1, RESISTANCE, T0, CONFIG)
    newest = sparkline(buffer, minute, RESISTANCE, T0, CONFIG)
    assert newest.follows(earlier) and not earlier.follows(newest)
    changed = sparkline(buffer, minute, RESISTANCE * 2, T0, CONFIG)  # a new baseline
    assert not changed.follows(earlier)


def test_a_refresh_with_nothing_new_sends_no_tile_no_sparkline_and_under_30_kb():
    station = ward(100)
    tiles, values, spark, have = refresh(station, None, CONFIG)
    assert isinstance(tiles, list) and len(tiles) == 100
    assert set(spark["beds"]) == {r.bed for r in station.beds()} and not spark["add"]
    again = refresh(station, have, CONFIG)
    assert again[0] is no_update and again[2] is no_update and again[3] is no_update
    assert set(again[1]["v"]) == set(values["v"])  # the live numbers, every time
    first, steady = sum(map(json_size, (tiles, values, spark, have))), sum(map(json_size, again))
    assert steady < 30_000 < first, (first, steady)


def test_an_alert_that_changes_redraws_only_its_own_tile_and_moves_it_first():
    station = ward(5, minutes=2)
    _tiles, values, _spark, have = refresh(station, None, CONFIG)
    assert [values["v"][f"bed-{b:03d}"][3] for b in range(5)] == [0, 1, 2, 3, 4]
    alert = AlertSummary("delta_p_rise", "high", "active", T0)
    station.take_status(status("bed-003", [alert]), "ecmo.bed-003.status")
    patched, values, _spark, have = refresh(station, have, CONFIG)
    assert isinstance(patched, Patch)
    operations = json.loads(to_json(patched))["operations"]
    assert [op["location"] for op in operations] == [[3]]  # bed-003's place, the only one
    assert "priority-high" in operations[0]["params"]["value"]["props"]["className"]
    assert values["v"]["bed-003"][3] == 0  # shown first (CSS order), moved nowhere
    # a bed that comes sends every tile again: the page's tiles are a new set
    station.take_status(status("bed-777"), "ecmo.bed-777.status")
    assert isinstance(refresh(station, have, CONFIG)[0], list)


def test_a_new_minute_sends_each_bed_its_newest_point_only():
    station = ward(3)
    _tiles, _values, spark, have = refresh(station, None, CONFIG)
    held = {bed: entry[0] for bed, entry in spark["beds"].items()}
    for b in range(3):  # frames of the next minute: the one before is whole now
        bed = f"bed-{b:03d}"
        for i in range(6):
            station.take_frame(frame(bed, 367 + i, T0 + 3660 + 10 * i, 5.0), f"ecmo.{bed}.frame")
    _tiles, _values, spark, have = refresh(station, have, CONFIG)
    assert spark["beds"] == {}
    assert {bed: entry[0] for bed, entry in spark["add"].items()} == {
        bed: minute + 1 for bed, minute in held.items()
    }
    assert all(entry[1] == 4.0 for entry in spark["add"].values())  # the minute just ended
    assert have["m"] == {bed: minute + 1 for bed, minute in held.items()}


@pytest.fixture()
def served():
    station = ward(3)
    app = create_central_app(station)
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield station, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(5)


@pytest.mark.browser
def test_in_chromium_each_tile_draws_its_sparklines_and_keeps_them_when_redrawn(served, page):
    station, url = served
    page.goto(url)
    drawn = ".bed-tile img.spark[src^='data:image/svg+xml']"
    page.wait_for_function(f'document.querySelectorAll("{drawn}").length === 6', timeout=15000)
    flows = page.eval_on_selector_all("[data-live=flow]", "els => els.map(e => e.textContent)")
    assert flows == ["Flow 4.00 L/min (57 mL/kg/min)"] * 3
    alert = AlertSummary("drainage_pressure_low", "medium", "active", T0)
    station.take_status(status("bed-002", [alert]), "ecmo.bed-002.status")
    page.wait_for_selector(".bed-tile[data-bed='bed-002'].priority-medium", timeout=5000)
    page.wait_for_function(
        "getComputedStyle(document.querySelector(\".bed-tile[data-bed='bed-002']\")).order === '0'",
        timeout=5000,
    )
    page.wait_for_function(f'document.querySelectorAll("{drawn}").length === 6', timeout=5000)
    first = page.evaluate(
        "() => [...document.querySelectorAll('.bed-tile')]"
        ".sort((a, b) => getComputedStyle(a).order - getComputedStyle(b).order)[0].dataset.bed"
    )
    assert first == "bed-002"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    have=JSON
    | st.fixed_dictionaries(
        {"beds": st.just(["bed-000", "bed-001"]) | JSON, "sig": JSON, "m": JSON}
    )
)
def test_whatever_a_page_says_it_holds_the_refresh_answers_and_sends_every_tile_if_unsure(have):
    station = TWO_BEDS
    tiles, values, _spark, new_have = refresh(station, have, CONFIG)
    assert set(values["v"]) == {"bed-000", "bed-001"}
    assert new_have is no_update or new_have["beds"] == ["bed-000", "bed-001"]
    if not (isinstance(have, dict) and have.get("beds") == ["bed-000", "bed-001"]):
        assert isinstance(tiles, list) and len(tiles) == 2


TWO_BEDS = ward(2, minutes=2)
