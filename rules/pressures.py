"""The circuit pressure rules, both halves: drainage pressure low, post-oxygenator high.

- ``drainage_pressure_low``: drainage (inlet, P1) pressure (mmHg) at or below -80
  (medium) / -100 (high): suction on the venous cannula.
- ``post_oxy_pressure_high``: post-oxygenator (return, P3) pressure (mmHg) at or above
  300 (medium) / 350 (high): a kinked or obstructed return line.

Each judges one channel's value as sent, so both halves are the shared one-channel
ones (``threshold.ChannelState`` and ``threshold.channel_episodes``).
"""

from __future__ import annotations

from .columns import Columns
from .config import PressureConfig, RulesConfig
from .definition import Findings, Rule, Setup, micros
from .threshold import HIGH, MEDIUM, ChannelState, RuleSpec, channel_episodes, fmt

DRAINAGE, POST_OXY = "p_venous_mmhg", "p_post_oxy_mmhg"


def describe_drainage(threshold: float, pressure: float) -> str:
    return (
        f"drainage pressure {fmt(pressure)} mmHg is at or below the limit of {fmt(threshold)} mmHg"
    )


def describe_post_oxy(threshold: float, pressure: float) -> str:
    return (
        f"post-oxygenator pressure {fmt(pressure)} mmHg is at or above the limit of "
        f"{fmt(threshold)} mmHg"
    )


def _pressure_spec(rule: str, label: str, section: PressureConfig, above: bool, describe):
    sign = -1.0 if above else 1.0
    thresholds = (section.medium_mmhg, section.high_mmhg)
    return RuleSpec(
        rule=rule,
        label=label,
        unit="mmHg",
        digits=0,
        levels=(MEDIUM, HIGH),
        thresholds=thresholds,
        clear_limits=tuple(t + sign * section.hysteresis_mmhg for t in thresholds),
        above=above,
        on_delay_us=micros(section.on_delay_s),
        off_delay_us=micros(section.off_delay_s),
        describe=describe,
    )


def drainage_spec(config: RulesConfig) -> RuleSpec:
    """The drainage pressure rule with the limits in force."""
    return _pressure_spec(
        "drainage_pressure_low",
        "drainage pressure",
        config.drainage_pressure_low,
        False,
        describe_drainage,
    )


def post_oxy_spec(config: RulesConfig) -> RuleSpec:
    """The post-oxygenator pressure rule with the limits in force."""
    return _pressure_spec(
        "post_oxy_pressure_high",
        "post-oxygenator pressure",
        config.post_oxy_pressure_high,
        True,
        describe_post_oxy,
    )


def drainage_state(setup: Setup) -> ChannelState:
    return ChannelState(drainage_spec(setup.config), setup, DRAINAGE)


def drainage_findings(cols: Columns, setup: Setup) -> Findings:
    return channel_episodes(drainage_spec(setup.config), cols, setup, DRAINAGE)


def post_oxy_state(setup: Setup) -> ChannelState:
    return ChannelState(post_oxy_spec(setup.config), setup, POST_OXY)


def post_oxy_findings(cols: Columns, setup: Setup) -> Findings:
    return channel_episodes(post_oxy_spec(setup.config), cols, setup, POST_OXY)


DRAINAGE_PRESSURE_LOW = Rule(
    rule="drainage_pressure_low",
    title="Drainage pressure low",
    channels=(DRAINAGE,),
    incremental=drainage_state,
    batch=drainage_findings,
)
POST_OXY_PRESSURE_HIGH = Rule(
    rule="post_oxy_pressure_high",
    title="Post-oxygenator pressure high",
    channels=(POST_OXY,),
    incremental=post_oxy_state,
    batch=post_oxy_findings,
)
