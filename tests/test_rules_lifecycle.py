"""The alarm lifecycle in the incremental engine: acknowledgement, latching, escalation,
live data loss, events and labs entered by hand."""

from __future__ import annotations

import pytest

from adapters.contract import Frame
from rules import IncrementalEngine, NothingToAcknowledge, Priority, Transition
from tests.test_rules_support import HEALTHY, START, at


def frame(second: float, **values: float) -> Frame:
    return Frame.build(at(second), {**HEALTHY, **values})


def feed(engine: IncrementalEngine, first: int, last: int, **values: float) -> list[Transition]:
    out: list[Transition] = []
    for second in range(first, last):
        out += engine.process(frame(second, **values))
    return out


def states(transitions: list[Transition]) -> list[tuple[str, str, float]]:
    return [(t.state, str(t.priority), t.time - START) for t in transitions]


def kinked(second: float, post: float) -> dict[str, float]:
    return {"p_post_oxy_mmhg": post, "p_pre_oxy_mmhg": post + 25}


def test_high_alert_latches_until_acknowledged():
    engine = IncrementalEngine()
    out = feed(engine, 0, 60)
    out += feed(engine, 60, 120, **kinked(0, 360))
    out += feed(engine, 120, 200)
    assert states(out) == [("active", "high", 65.0), ("cleared", "high", 130.0)]
    active = out[0]
    assert (active.value, active.threshold) == (360.0, 350.0)
    assert "post-oxygenator pressure 360 mmHg" in active.message
    (shown,) = engine.alerts()
    assert (shown.rule, shown.priority, shown.state, shown.latched) == (
        "post_oxy_pressure_high",
        Priority.HIGH,
        "cleared",
        True,
    )
    ack = engine.acknowledge("post_oxy_pressure_high", "ann", "specialist", at(300), "line freed")
    assert (ack.user, ack.role, ack.time, ack.note, ack.priority) == (
        "ann",
        "specialist",
        at(300),
        "line freed",
        Priority.HIGH,
    )
    assert ack.transition().state == "acknowledged"
    assert engine.alerts() == []


def test_medium_alert_does_not_latch():
    engine = IncrementalEngine()
    feed(engine, 0, 60)
    feed(engine, 60, 120, **kinked(0, 320))
    assert [a.state for a in engine.alerts()] == ["active"]
    feed(engine, 120, 200)
    assert engine.alerts() == []


def test_escalation_makes_an_acknowledged_alert_unacknowledged_again():
    engine = IncrementalEngine()
    feed(engine, 0, 60)
    feed(engine, 60, 120, **kinked(0, 320))
    engine.acknowledge("post_oxy_pressure_high", "bo", "specialist", at(121))
    (shown,) = engine.alerts()
    assert (shown.state, shown.acknowledgement.user) == ("acknowledged", "bo")
    out = feed(engine, 121, 180, **kinked(0, 360))
    assert states(out) == [("active", "high", 126.0)]
    (shown,) = engine.alerts()
    assert (shown.priority, shown.state, shown.acknowledgement) == (Priority.HIGH, "active", None)
    engine.acknowledge("post_oxy_pressure_high", "bo", "specialist", at(181))
    assert engine.alerts()[0].state == "acknowledged"


def test_acknowledging_with_nothing_to_acknowledge_is_a_clear_error():
    engine = IncrementalEngine()
    feed(engine, 0, 30)
    with pytest.raises(NothingToAcknowledge, match="no flow_low alert to acknowledge"):
        engine.acknowledge("flow_low", "ann", "specialist", at(31))
    feed(engine, 30, 60, blood_flow_lpm=0.5)
    engine.acknowledge("flow_low", "ann", "specialist", at(61))
    with pytest.raises(NothingToAcknowledge, match="already acknowledged by ann"):
        engine.acknowledge("flow_low", "cy", "specialist", at(62))
    with pytest.raises(ValueError, match="Unknown rule 'flow'"):
        engine.acknowledge("flow", "ann", "specialist", at(63))


def test_an_acknowledged_high_alert_does_not_latch_after_it_clears():
    engine = IncrementalEngine()
    feed(engine, 0, 60)
    feed(engine, 60, 90, **kinked(0, 360))
    engine.acknowledge("post_oxy_pressure_high", "ann", "specialist", at(90))
    feed(engine, 90, 150)
    assert engine.alerts() == []


def test_live_data_loss_is_a_technical_alarm_that_never_clears_a_clinical_one():
    engine = IncrementalEngine()
    feed(engine, 0, 60)
    feed(engine, 60, 100, **kinked(0, 320))
    assert engine.tick(at(103)) == []
    raised = engine.tick(at(104))
    assert states(raised) == [("active", "high", 104.0)]
    assert raised[0].message == "no data from the device for 5 s (limit 5 s)"
    assert engine.tick(at(400)) == []
    shown = {a.rule: a for a in engine.alerts()}
    assert shown["data_stale"].priority == Priority.HIGH and shown["data_stale"].technical
    assert shown["post_oxy_pressure_high"].state == "active"
    back = engine.process(frame(500, **kinked(0, 320)))
    assert states(back) == [("cleared", "high", 500.0)]
    stale = [e for e in engine.episodes() if e.rule == "data_stale"]
    assert [(e.start - START, e.end - START) for e in stale] == [(104.0, 500.0)]
    assert [e.end for e in engine.episodes() if e.rule == "post_oxy_pressure_high"] == [None]


def test_tick_before_any_frame_raises_no_data_after_the_quiet_time():
    engine = IncrementalEngine()
    assert engine.tick(at(0)) == []
    assert states(engine.tick(at(5))) == [("active", "high", 5.0)]


def entered(second: float, event: str) -> Frame:
    """A circuit event entered at the bedside: the session sends it as a frame of its own."""
    return Frame(timestamp=at(second), values={}, event=event, received_at=at(second))


def test_reset_baseline_by_hand_ends_the_delta_p_alert_and_starts_a_new_window():
    engine = IncrementalEngine()
    feed(engine, 0, 1800)
    assert engine.baseline().state == "collecting"
    feed(engine, 1800, 1801)
    base = engine.baseline()
    assert (base.state, base.delta_p_mmhg, base.rise_mmhg) == ("established", 25.0, 0.0)
    out = feed(engine, 1801, 1900, p_pre_oxy_mmhg=250)
    assert states(out) == [("active", "high", 1816.0)]
    assert out[0].baseline == pytest.approx(25.0)
    assert engine.baseline().rise_mmhg == pytest.approx(50.0)
    ended = engine.process(entered(1900, "baseline_reset"))
    assert states(ended) == [("cleared", "high", 1900.0)]
    assert "baseline is re-established after baseline_reset" in ended[0].message
    assert engine.alerts() == []  # the reset ends the latch too
    base = engine.baseline()
    assert (base.state, base.reason, base.reason_time) == ("waiting", "baseline_reset", at(1900))
    feed(engine, 1900, 3701, p_pre_oxy_mmhg=250)
    base = engine.baseline()
    assert (base.state, base.delta_p_mmhg, base.window_start) == ("established", 75.0, at(1900))
    assert [b.reason for b in engine.baselines()] == ["start", "baseline_reset"]


def test_an_event_entered_live_restarts_the_baseline():
    engine = IncrementalEngine()
    feed(engine, 0, 1801)
    assert engine.process(entered(1801, "pump_head_change")) == []
    assert engine.baseline().state == "established"
    engine.process(entered(1802, "Oxygenator_Change "))
    assert (engine.baseline().state, engine.baseline().reason) == ("waiting", "oxygenator_change")


def test_labs_entered_by_hand():
    engine = IncrementalEngine()
    feed(engine, 0, 10)
    assert engine.add_lab("pfhb", 7.0, at(10)) == []
    out = engine.add_lab("plasma_free_hb_mg_dl", 64.0, at(20))
    assert states(out) == [("active", "medium", 20.0)]
    assert out[0].message == "plasma free Hb 64 mg/dL (limit 50 mg/dL)"
    with pytest.raises(ValueError, match="Unknown lab analyte 'sodium'"):
        engine.add_lab("sodium", 140.0, at(30))
    with pytest.raises(ValueError, match="outside the plausible range"):
        engine.add_lab("ldh", -5.0, at(30))


def test_weight_and_flow_minimum_can_be_set_live():
    engine = IncrementalEngine()
    feed(engine, 0, 30, blood_flow_lpm=3.2)
    assert engine.alerts() == []
    engine.set_weight(70.0)
    out = feed(engine, 30, 60, blood_flow_lpm=3.2)
    assert states(out) == [("active", "medium", 40.0)]
    engine.set_flow_minimum(40.0)
    out = feed(engine, 60, 90, blood_flow_lpm=3.2)
    assert states(out) == [("cleared", "medium", 75.0)]


def test_pending_alerts_are_shown_on_request_and_logged_only_when_asked():
    engine = IncrementalEngine(log_pending=True)
    feed(engine, 0, 60)
    out = feed(engine, 60, 63, **kinked(0, 320))
    assert states(out) == [("pending", "medium", 60.0)]
    (pending,) = engine.alerts(include_pending=True)
    assert pending.state == "pending" and engine.alerts() == []
    out = feed(engine, 63, 70)
    assert [t.state for t in out] == ["normal"]


def test_frames_out_of_time_order_are_ignored():
    engine = IncrementalEngine()
    feed(engine, 0, 10)
    assert engine.process(frame(5, blood_flow_lpm=0.1)) == []
    assert engine.frames == 10
