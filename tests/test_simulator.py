"""The simulator: circuit physics, the scenarios' signatures at their story times,
determinism, the sample streams, and streaming to a serial port."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters import _circuit
from adapters.contract import CANONICAL_COLUMNS, CHANNELS, HEMOLYSIS_COLUMNS, epoch_seconds
from adapters.errors import TelemetryError
from adapters.simulator import DEFAULT_START, SCENARIOS, simulate, stream_to_port, write_csv

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
FOUR_HOURS = 4 * 3600


@cache
def run(name: str, duration_s: float = FOUR_HOURS, seed: int = 0) -> pd.DataFrame:
    return simulate(name, duration_s, seed=seed)


def seconds(frame: pd.DataFrame) -> np.ndarray:
    stamps = epoch_seconds(frame["timestamp"])
    return stamps - DEFAULT_START.timestamp()


def between(frame: pd.DataFrame, first_s: float, last_s: float) -> pd.DataFrame:
    t = seconds(frame)
    return frame[(t >= first_s) & (t < last_s)]


def baseline_resistance(frame: pd.DataFrame) -> float:
    """delta P / flow, median over the first 30 minutes (CLINICAL.md)."""
    early = between(frame, 0, 1800)
    return float((early.delta_p_mmhg / early.blood_flow_lpm).median())


def held_min(series: pd.Series, seconds_held: int) -> pd.Series:
    """The least value over the last ``seconds_held`` rows (1 Hz): what a held rule sees."""
    return series.rolling(seconds_held).min()


def longest_run(condition: pd.Series) -> int:
    values = condition.to_numpy(dtype=bool)
    best = run_length = 0
    for v in values:
        run_length = run_length + 1 if v else 0
        best = max(best, run_length)
    return best


def healthy_settings(speeds_rpm: list[float]) -> _circuit.Settings:
    t = np.zeros(len(speeds_rpm))
    s = _circuit.healthy(t)
    return _circuit.Settings(
        speed_rpm=np.asarray(speeds_rpm, dtype="float64"),
        cvp_mmhg=s.cvp_mmhg,
        filling_deficit_mmhg=s.filling_deficit_mmhg,
        drain_resistance=s.drain_resistance,
        oxy_resistance=s.oxy_resistance,
        kink_resistance=s.kink_resistance,
        pump_efficiency=s.pump_efficiency,
    )


# -- physics -------------------------------------------------------------------------


def test_flow_rises_with_pump_speed_and_matches_an_adult_vv_circuit():
    op = _circuit.operating_point(healthy_settings([2600, 3000, 3200, 3400, 3800]))
    assert np.all(np.diff(op.flow_lpm) > 0.1)
    assert 3.8 <= op.flow_lpm[1] <= 4.1
    assert 4.0 <= op.flow_lpm[2] <= 4.4
    assert 4.3 <= op.flow_lpm[3] <= 4.7


def test_delta_p_is_proportional_to_flow_on_a_healthy_oxygenator():
    op = _circuit.operating_point(healthy_settings([2600, 3000, 3200, 3400, 3800]))
    resistance = op.delta_p_mmhg / op.flow_lpm
    assert np.allclose(resistance, _circuit.OXY_R)
    assert 15 <= op.delta_p_mmhg[2] <= 35


def test_venous_pressure_falls_as_flow_rises():
    op = _circuit.operating_point(healthy_settings([2600, 3000, 3200, 3400, 3800]))
    assert np.all(np.diff(op.p_venous_mmhg) < 0)
    assert -60 <= op.p_venous_mmhg[2] <= -30
    assert 150 <= op.p_pre_oxy_mmhg[2] <= 250
    assert 130 <= op.p_post_oxy_mmhg[2] <= 220


def test_healthy_simulated_values_sit_in_the_typical_ranges():
    early = between(run("stable"), 0, 1800).median(numeric_only=True)
    assert pytest.approx(early.pump_speed_rpm, abs=3) == 3200
    assert 4.0 <= early.blood_flow_lpm <= 4.5
    assert -60 <= early.p_venous_mmhg <= -30
    assert 150 <= early.p_pre_oxy_mmhg <= 250
    assert 130 <= early.p_post_oxy_mmhg <= 220
    assert 15 <= early.delta_p_mmhg <= 35


# -- stable: no alert for a day ------------------------------------------------------


def test_stable_day_stays_clear_of_every_alert_threshold():
    day = run("stable", 24 * 3600)
    flow, speed = day.blood_flow_lpm, day.pump_speed_rpm
    rise = day.delta_p_mmhg - baseline_resistance(day) * flow
    assert held_min(rise, 15).max() < 15  # the medium limit is +30
    prior = flow.rolling(300).median().shift(1)
    steady_speed = (speed / speed.shift(300) - 1).abs() < 0.05
    assert longest_run((flow < 0.8 * prior) & steady_speed) < 10
    assert (flow / prior).min() > 0.85
    assert -day.p_venous_mmhg.rolling(5).max().max() < 80  # never below -80 for 5 s
    assert held_min(day.p_post_oxy_mmhg, 5).max() < 300
    assert flow.min() > 3.0
    labs = day[list(HEMOLYSIS_COLUMNS)].dropna()
    assert len(labs) == 4  # 20 min, then every 6 h
    assert labs.plasma_free_hb_mg_dl.max() < 20
    assert labs.ldh_u_l.max() < 1000 and labs.ldh_u_l.max() < 2.5 * labs.ldh_u_l.iloc[0]
    assert labs.haptoglobin_mg_dl.min() > 30
    assert labs.bilirubin_mg_dl.max() < 2


def test_deliberate_speed_changes_move_flow_without_a_drop_at_unchanged_speed():
    frame = run("stable")
    when = SCENARIOS["stable"].milestones(FOUR_HOURS)["speed_change_1"]
    before = between(frame, when - 300, when).median(numeric_only=True)
    after = between(frame, when + 60, when + 360).median(numeric_only=True)
    assert after.pump_speed_rpm - before.pump_speed_rpm == pytest.approx(200, abs=5)
    assert after.blood_flow_lpm > before.blood_flow_lpm + 0.2
    assert frame.event[frame.event != ""].tolist() == [
        "pump speed set to 3400 rpm",
        "pump speed set to 3200 rpm",
    ]


def test_flush_spikes_last_under_five_seconds_and_match_the_story():
    day = run("stable", 24 * 3600)
    spikes = (day.p_pre_oxy_mmhg > 280) | (day.p_venous_mmhg > 20)
    starts = spikes & ~spikes.shift(1, fill_value=False)
    flushes = [e for e in SCENARIOS["stable"].story(24 * 3600, seed=0) if "flush" in e[1]]
    assert starts.sum() == len(flushes) >= 12  # every 1-2 hours
    assert 1 <= longest_run(spikes) <= 4
    spike_times = seconds(day)[starts.to_numpy()]
    assert np.allclose(spike_times, [np.ceil(w) for w, _ in flushes])


# -- fault scenarios at their story times --------------------------------------------


def test_every_fault_scenario_starts_with_45_healthy_minutes():
    for name in SCENARIOS:
        early = between(run(name), 0, 45 * 60)
        milestones = SCENARIOS[name].milestones(FOUR_HOURS)
        assert min(t for k, t in milestones.items() if k not in ("start", "baseline_end")) >= 2700
        assert early.blood_flow_lpm.median() == pytest.approx(4.2, abs=0.1), name
        assert early.delta_p_mmhg.median() == pytest.approx(25, abs=3), name


def test_gradual_thrombosis_rises_past_baseline_plus_40_after_its_onset():
    frame, m = (
        run("gradual_oxygenator_thrombosis"),
        SCENARIOS["gradual_oxygenator_thrombosis"].milestones(FOUR_HOURS),
    )
    assert m["onset"] < m["delta_p_rise_30"] < m["delta_p_rise_40"] < FOUR_HOURS
    assert m["delta_p_rise_40"] - m["onset"] > 3600  # slowly, over hours
    rise = held_min(frame.delta_p_mmhg - baseline_resistance(frame) * frame.blood_flow_lpm, 15)
    t = seconds(frame)
    assert rise[t < m["delta_p_rise_30"] - 300].max() < 30
    assert rise[t > m["delta_p_rise_40"] + 600].min() > 40  # noise: a few minutes late
    first, last = between(frame, 0, 1800), between(frame, FOUR_HOURS - 600, FOUR_HOURS)
    assert last.p_pre_oxy_mmhg.median() > first.p_pre_oxy_mmhg.median() + 15
    assert last.p_post_oxy_mmhg.median() < first.p_post_oxy_mmhg.median() - 10


def test_acute_clot_climbs_steeply_then_flow_falls():
    frame, m = run("acute_oxygenator_clot"), SCENARIOS["acute_oxygenator_clot"].milestones()
    assert m["delta_p_rise_40"] - m["onset"] < 15 * 60
    assert m["delta_p_rise_40"] < m["flow_fall"] < m["flow_drop_20"] < m["flow_drop_35"]
    rise = frame.delta_p_mmhg - baseline_resistance(frame) * frame.blood_flow_lpm
    t = seconds(frame)
    assert held_min(rise, 15)[(t > m["delta_p_rise_40"] + 30) & (t < m["flow_fall"])].min() > 40
    before = between(frame, m["onset"] - 300, m["onset"]).blood_flow_lpm.median()
    after = between(frame, m["flow_drop_35"] + 30, m["flow_drop_35"] + 300)
    assert after.blood_flow_lpm.median() < 0.65 * before
    assert after.pump_speed_rpm.median() == pytest.approx(3200, abs=5)


def test_pump_head_thrombosis_shows_in_the_labs_with_speed_and_flow_unchanged():
    frame, m = run("pump_head_thrombosis"), SCENARIOS["pump_head_thrombosis"].milestones()
    labs = frame.dropna(subset=["plasma_free_hb_mg_dl"])
    assert len(labs) == 8
    pfhb = labs.plasma_free_hb_mg_dl.to_numpy()
    assert np.all(np.diff(pfhb) > 0) and pfhb[0] < 10 and pfhb[-1] > 100
    assert np.all(np.diff(labs.ldh_u_l) > 0) and labs.ldh_u_l.iloc[-1] > 1000
    assert np.all(np.diff(labs.haptoglobin_mg_dl) < 0) and labs.haptoglobin_mg_dl.iloc[-1] < 30
    assert labs.bilirubin_mg_dl.iloc[-1] > 2
    lab_times = seconds(labs)
    assert lab_times[np.argmax(pfhb > 50)] == m["pfhb_50"]
    assert lab_times[np.argmax(pfhb > 100)] == m["pfhb_100"]
    assert m["onset"] < m["pfhb_50"] < m["pfhb_100"]
    first, last = between(frame, 0, 1800), between(frame, FOUR_HOURS - 1800, FOUR_HOURS)
    assert last.pump_speed_rpm.median() == pytest.approx(first.pump_speed_rpm.median(), abs=5)
    assert last.blood_flow_lpm.median() > 0.95 * first.blood_flow_lpm.median()


def test_drainage_insufficiency_sags_below_minus_100_and_flow_chatters():
    frame, m = run("drainage_insufficiency"), SCENARIOS["drainage_insufficiency"].milestones()
    assert m["onset"] < m["p_venous_80"] < m["p_venous_100"]
    t = seconds(frame)
    p1 = frame.p_venous_mmhg
    assert longest_run((p1 < -100) & (t > m["p_venous_100"])) > 10
    assert -p1.rolling(5).max()[t < m["p_venous_80"] - 120].max() < 80
    assert -p1.rolling(5).max()[t > m["p_venous_100"] + 60].min() > 100
    late = between(frame, FOUR_HOURS - 600, FOUR_HOURS)
    assert late.pump_speed_rpm.std() < 3
    swing = late.blood_flow_lpm - late.blood_flow_lpm.rolling(31, center=True).median()
    assert swing.std() > 0.08  # chatter, well above the 0.03 L/min sensor noise
    crossings = np.count_nonzero(np.diff(np.sign(swing.dropna().to_numpy())) != 0)
    assert crossings > 120  # oscillates every few seconds over 10 minutes
    assert late.p_venous_mmhg.max() - late.p_venous_mmhg.min() > 25


def test_return_line_kink_holds_post_oxygenator_pressure_above_350_then_clears():
    frame, m = run("return_line_kink"), SCENARIOS["return_line_kink"].milestones()
    assert m["onset"] < m["p_post_300"] < m["p_post_350"] < m["relieved"]
    t = seconds(frame)
    p3 = frame.p_post_oxy_mmhg
    assert longest_run((p3 > 350) & (t > m["p_post_350"])) > 10
    assert held_min(p3, 5)[t < m["onset"]].max() < 300
    kinked = between(frame, m["p_post_350"] + 60, m["relieved"])
    assert kinked.blood_flow_lpm.median() < 0.6 * 4.2
    after = between(frame, m["relieved"] + 60, m["relieved"] + 600)
    assert after.p_post_oxy_mmhg.max() < 220 and after.blood_flow_lpm.median() > 4.0


def test_sensor_dropout_has_gaps_missing_values_and_artifacts_at_its_story_times():
    frame, m = run("sensor_dropout"), SCENARIOS["sensor_dropout"].milestones()
    t = seconds(frame)
    steps = np.diff(t)
    gap_starts = t[:-1][steps > 30] + 1
    assert np.allclose(gap_starts, [m["gap_1_start"], m["gap_2_start"]])
    assert sorted(steps[steps > 1]) == [46, 91]
    no_flow = frame.blood_flow_lpm.isna()
    assert no_flow.sum() == 300
    assert t[no_flow.to_numpy()].min() == m["flow_missing_start"]
    artifact = frame.p_venous_mmhg == -999
    assert artifact.sum() == 120
    assert t[artifact.to_numpy()].min() == m["p_venous_artifact_start"]


def test_oxygenator_exchange_resets_delta_p_to_a_new_lower_baseline():
    frame, m = run("oxygenator_exchange"), SCENARIOS["oxygenator_exchange"].milestones()
    assert m["delta_p_rise_40"] < m["pump_stop"] < m["oxygenator_change"]
    events = frame[frame.event != ""]
    assert events.event.tolist() == ["oxygenator_change"]
    assert seconds(events)[0] == m["oxygenator_change"]
    stopped = between(frame, m["pump_stop"] + 10, m["oxygenator_change"] - 10)
    assert stopped.pump_speed_rpm.max() == 0 and stopped.blood_flow_lpm.max() == 0
    old = (between(frame, 0, 1800).delta_p_mmhg / between(frame, 0, 1800).blood_flow_lpm).median()
    new_window = between(frame, m["oxygenator_change"] + 60, m["oxygenator_change"] + 1800)
    new = (new_window.delta_p_mmhg / new_window.blood_flow_lpm).median()
    assert new < old
    assert 15 <= new_window.delta_p_mmhg.median() <= 25


# -- contract, determinism, files ----------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_columns_and_values_are_inside_the_contract(name):
    frame = run(name)
    assert tuple(frame.columns) == CANONICAL_COLUMNS
    assert str(frame.timestamp.dt.tz) == "UTC"
    known = ["", "oxygenator_change", "sweep_off_trial"]
    assert (frame.event.isin(known) | frame.event.str.startswith("pump")).all()
    for channel in CHANNELS:
        values = frame[channel.name].dropna()
        if name == "sensor_dropout" and channel.name == "p_venous_mmhg":
            values = values[values != -999]  # the deliberate artifact
        assert values.between(channel.low, channel.high).all(), (name, channel.name)
        # every telemetry channel at every row, but the optional exhaust capnometer
        if not channel.lab and channel.name not in ("blood_flow_lpm", "exhaust_co2_mmhg"):
            assert len(values) == len(frame) - (frame[channel.name] == -999).sum()


def test_same_seed_gives_the_same_data_and_another_seed_other_noise():
    a = simulate("drainage_insufficiency", 5400, seed=7)
    pd.testing.assert_frame_equal(a, simulate("drainage_insufficiency", 5400, seed=7))
    b = simulate("drainage_insufficiency", 5400, seed=8)
    assert not a.blood_flow_lpm.equals(b.blood_flow_lpm)
    assert (a.timestamp == b.timestamp).all()


def test_story_is_the_same_for_every_seed_and_in_time_order():
    for scenario in SCENARIOS.values():
        story = scenario.story(FOUR_HOURS)
        assert [w for w, _ in story] == sorted(w for w, _ in story)
        assert story[0][0] == 0 and all(text for _, text in story)
        assert scenario.description.endswith(".")
    kink = SCENARIOS["return_line_kink"]
    assert kink.milestones(8 * 3600)["onset"] == 4 * 3600  # proportional to duration
    assert kink.milestones(5400)["onset"] == 2700  # never before 45 minutes


def test_start_and_rate_set_the_timestamps():
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fast = simulate("stable", 120, start=when, rate_hz=10)
    assert len(fast) == 1200 and fast.timestamp.iloc[0] == pd.Timestamp(when)
    assert np.allclose(np.diff(epoch_seconds(fast.timestamp)), 0.1)
    slow = simulate("stable", 120, start=when.timestamp(), rate_hz=0.2)
    assert len(slow) == 24 and slow.timestamp.iloc[1] - slow.timestamp.iloc[0] == pd.Timedelta(
        5, "s"
    )


def test_unknown_scenario_and_too_short_runs_are_refused_with_a_sentence():
    with pytest.raises(
        TelemetryError, match="choose one of: stable, gradual_oxygenator_thrombosis"
    ):
        simulate("meltdown")
    with pytest.raises(TelemetryError, match="at least 5400 s"):
        simulate("return_line_kink", 600)


def test_a_week_at_one_hertz_is_fast():
    began = time.perf_counter()
    week = simulate("stable", 7 * 86400)
    assert len(week) == 604_800
    assert time.perf_counter() - began < 6


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sample_stream_equals_what_the_simulator_regenerates(name):
    path = SAMPLES / f"{name}.csv"
    stored = pd.read_csv(path)
    stored["timestamp"] = pd.to_datetime(stored["timestamp"], utc=True)
    stored["event"] = stored["event"].astype("str").where(stored["event"].notna(), "")
    fresh = run(name)
    assert path.stat().st_size < 3_000_000
    pd.testing.assert_frame_equal(stored, fresh, check_dtype=False)


def test_write_csv_writes_a_canonical_recording(tmp_path):
    path = write_csv("stable", tmp_path / "s.csv", 120, seed=3)
    assert path.read_text().splitlines()[0] == ",".join(CANONICAL_COLUMNS)
    assert len(path.read_text().splitlines()) == 121


# -- serial streaming ----------------------------------------------------------------


def _pty_pair():
    master, slave = os.openpty()
    return master, slave, os.ttyname(slave)


def _read_all(master: int, into: bytearray, done: threading.Event) -> None:
    import select

    while not done.is_set():
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                into += os.read(master, 65536)
            except OSError:
                return


@pytest.mark.parametrize("protocol", ["delimited", "keyvalue", "framed"])
def test_stream_to_port_sends_every_row_in_the_protocol(protocol):
    from adapters.protocols import ParsedFrame, make_parser

    whole = simulate("sensor_dropout", 5400)
    gap = SCENARIOS["sensor_dropout"].milestones(5400)["gap_1_start"]
    frame = whole[seconds(whole) >= gap - 3].iloc[:8]  # across the 90 s gap
    master, slave, name = _pty_pair()
    received, done = bytearray(), threading.Event()
    reader = threading.Thread(target=_read_all, args=(master, received, done))
    reader.start()
    try:
        began = time.monotonic()
        sent = stream_to_port(frame, name, protocol, speed=100, rebase=False)
        elapsed = time.monotonic() - began
        time.sleep(0.2)
    finally:
        done.set()
        reader.join()
        os.close(master)
        os.close(slave)
    assert sent == len(frame) == 8
    assert 0.9 <= elapsed < 3  # 98 s of data (a 90 s gap) at 100x
    parsed = [r for r in make_parser(protocol).feed(bytes(received)) if isinstance(r, ParsedFrame)]
    assert len(parsed) == 8
    for got, (_, row) in zip(parsed, frame.iterrows(), strict=True):
        assert got.device_timestamp == pytest.approx(row.timestamp.timestamp(), abs=1e-6)
        assert got.values["blood_flow_lpm"] == row.blood_flow_lpm
        assert got.values["p_venous_mmhg"] == row.p_venous_mmhg


def test_stream_to_port_stops_when_asked_and_rebases_to_now():
    from adapters.protocols import ParsedFrame, make_parser

    frame = run("stable").iloc[:5]
    master, slave, name = _pty_pair()
    received, done = bytearray(), threading.Event()
    reader = threading.Thread(target=_read_all, args=(master, received, done))
    reader.start()
    stop = threading.Event()
    threading.Timer(0.25, stop.set).start()
    try:
        now = time.time()
        sent = stream_to_port(frame, name, "keyvalue", speed=2, stop=stop)
        time.sleep(0.1)
    finally:
        done.set()
        reader.join()
        os.close(master)
        os.close(slave)
    assert sent == 1  # the next row was due 0.5 s in
    parsed = [
        r for r in make_parser("keyvalue").feed(bytes(received)) if isinstance(r, ParsedFrame)
    ]
    assert len(parsed) == 1 and parsed[0].device_timestamp == pytest.approx(now, abs=1)


def test_stream_to_a_missing_port_says_so():
    from adapters.errors import SourceError

    with pytest.raises(SourceError, match="Cannot open serial port"):
        stream_to_port(run("stable").iloc[:2], "/dev/does-not-exist", "keyvalue")
