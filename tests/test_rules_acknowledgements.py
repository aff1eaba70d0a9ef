"""Which acknowledgement belongs to which episode: one answer for the report, analyze and
the QA views (rules.match_acknowledgements)."""

from __future__ import annotations

from rules import ACK_GRACE_S, Acknowledgement, Episode, Priority, match_acknowledgements


def ack(time: float, rule: str, priority: Priority) -> Acknowledgement:
    return Acknowledgement(time, rule, priority, "ana", "specialist")


MEDIUM = Episode("delta_p_rise", Priority.MEDIUM, 100.0, 500.0, 60.0, "m", 30.0, "mmHg")
HIGH = Episode("delta_p_rise", Priority.HIGH, 200.0, 300.0, 80.0, "h", 40.0, "mmHg")
LATER = Episode("delta_p_rise", Priority.MEDIUM, 900.0, 950.0, 40.0, "m", 30.0, "mmHg")
FLOW = Episode("flow_low", Priority.HIGH, 1000.0, 1010.0, 0.5, "f", 1.0, "L/min")
EPISODES = [MEDIUM, HIGH, LATER, FLOW]


def test_an_acknowledgement_at_medium_does_not_cover_the_escalation_to_high():
    early = ack(150.0, "delta_p_rise", Priority.MEDIUM)
    assert match_acknowledgements(EPISODES, [early], 2000.0) == [early, None, None, None]


def test_an_acknowledgement_at_high_covers_both_levels_of_that_alert_only():
    both = ack(250.0, "delta_p_rise", Priority.HIGH)
    assert match_acknowledgements(EPISODES, [both], 2000.0) == [both, both, None, None]


def test_an_acknowledgement_after_the_rule_alerted_again_belongs_to_the_new_alert():
    # within an hour of the first alert's end (the QA table's old test), but the rule had
    # alerted again: it is the second alert's acknowledgement, not the first's
    second = ack(920.0, "delta_p_rise", Priority.MEDIUM)
    assert match_acknowledgements(EPISODES, [second], 2000.0) == [None, None, second, None]


def test_a_latched_alert_acknowledged_long_after_it_cleared_is_still_acknowledged():
    # more than an hour after the end (the QA table's old limit), before the rule alerted
    # again and within the data
    latched = ack(1010.0 + 2 * 3600.0, "flow_low", Priority.HIGH)
    assert match_acknowledgements(EPISODES, [latched], 1010.0 + 3 * 3600.0)[3] is latched


def test_an_acknowledgement_after_the_data_ended_belongs_to_another_session():
    within = ack(2000.0 + ACK_GRACE_S, "flow_low", Priority.HIGH)
    assert match_acknowledgements(EPISODES, [within], 2000.0)[3] is within
    late = ack(2000.0 + ACK_GRACE_S + 1.0, "flow_low", Priority.HIGH)
    assert match_acknowledgements(EPISODES, [late], 2000.0)[3] is None
    assert match_acknowledgements(EPISODES, [late], None)[3] is late  # no known end


def test_the_first_matching_acknowledgement_counts_and_other_rules_do_not():
    other = ack(260.0, "flow_low", Priority.HIGH)
    first = ack(270.0, "delta_p_rise", Priority.HIGH)
    again = ack(280.0, "delta_p_rise", Priority.HIGH)
    found = match_acknowledgements(EPISODES, [again, other, first], 2000.0)
    assert found == [first, first, None, None]
