"""The bedside page's "Derived values" panel shows what rules.derived_values finds at hand."""

from __future__ import annotations

import pytest

from adapters import FakeSource, Frame
from monitor.runtime import Session
from tests.dash_requests import client_for, status_refresh

T0 = 1_767_254_400.0


def texts(node) -> list[str]:
    """Every text in a rendered component tree, in order."""
    if isinstance(node, str | int | float):
        return [str(node)]
    if isinstance(node, list):
        return [t for child in node for t in texts(child)]
    if isinstance(node, dict):
        return texts(node.get("props", {}).get("children"))
    return []


def rows_of(panel: list) -> dict[str, dict]:
    return {row["props"]["data-key"]: row["props"] for row in panel if "data-key" in row["props"]}


def fed_session(weight_kg: float | None = 70.0) -> Session:
    """Ten minutes of a steady circuit (console SvO2 80 %), then two gas results entered."""
    s = Session(FakeSource("test source"), live=False, weight_kg=weight_kg)
    for i in range(600):
        values = {
            "pump_speed_rpm": 3200.0,
            "blood_flow_lpm": 4.2,
            "p_pre_oxy_mmhg": 200.0,
            "p_post_oxy_mmhg": 175.0,
            "sweep_gas_lpm": 4.0,
            "exhaust_co2_mmhg": 30.0,
            "svo2_pct": 80.0,
        }
        s.on_frame(Frame.build(T0 + i, values))
    s.enter_lab("post_oxy_so2_pct", 100.0, "nurse")
    s.enter_lab("central_venous_so2_pct", 65.0, "nurse")
    return s


def derived_panel(session: Session) -> list:
    _, answer = status_refresh(client_for(session))
    return answer["response"]["derived"]["children"]


def test_the_panel_shows_each_value_with_its_unit_and_inputs():
    panel = derived_panel(fed_session())
    rows = rows_of(panel)
    assert list(rows) == [
        "co2_removal", "recirculation", "effective_flow", "effective_flow_per_kg", "resistance",
    ]  # fmt: skip
    assert float(rows["recirculation"]["data-value"]) == pytest.approx(15 / 35 * 100)
    assert texts(rows["recirculation"]["children"]) == [
        "Recirculation",
        "43",
        "%",
        "from console SvO2 80 %, post-oxygenator SO2 100 % and central venous SO2 65 %",
    ]
    assert texts(rows["effective_flow"]["children"])[1:3] == ["2.40", "L/min"]
    assert texts(rows["effective_flow_per_kg"]["children"])[1:3] == ["34", "mL/kg/min"]
    assert texts(rows["resistance"]["children"])[1:3] == ["6.0", "mmHg/(L/min)"]
    assert texts(rows["co2_removal"]["children"])[1:3] == ["158", "mL/min"]
    assert "o2_transfer" not in rows  # no pre-oxygenator gas, no Hb


def test_without_a_weight_the_per_kg_flow_is_left_out():
    rows = rows_of(derived_panel(fed_session(weight_kg=None)))
    assert "effective_flow" in rows and "effective_flow_per_kg" not in rows


def test_gases_past_the_age_limit_drop_out_of_the_panel():
    s = fed_session()
    later = T0 + 600 + 121 * 60  # the session's clock is its newest frame's time
    s.on_frame(Frame.build(later, {"blood_flow_lpm": 4.2, "svo2_pct": 80.0}))
    rows = rows_of(derived_panel(s))
    assert "recirculation" not in rows and "effective_flow" not in rows
    assert "resistance" in rows


def test_an_empty_session_says_no_value_is_at_hand():
    panel = derived_panel(Session(FakeSource("idle"), live=False))
    assert rows_of(panel) == {}
    (text,) = texts(panel)
    assert text.startswith("No derived values at hand")
    assert "120 min" in text
