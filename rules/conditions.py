"""The rules themselves: what each one measures, its levels, limits and message.

One definition serves both engines. The condition functions here are written with
operators that mean the same on a float and on a numpy array (``>=``, ``&``, ``|``,
``abs``; never ``and``/``not``), so the incremental engine calls them with one sample's
floats and the batch engine with whole columns, and both get the same answer bit for
bit. The stateful inputs (baseline, rolling medians) are computed by each engine in its
own way; see ``windows.py`` and the engines.

Rules (stable ids) and the value each judges:

- ``delta_p_rise``: rise = delta P - baseline resistance x flow (mmHg), so a higher flow
  on a healthy oxygenator is no rise. Judged only once the baseline exists and while
  flow is above ``min_flow_lpm``.
- ``flow_drop``: drop = (1 - flow / reference flow) x 100 (%), only while pump speed is
  within the tolerance of its reference speed: a deliberate speed change moves flow and
  speed together and is not a drop. The references are the medians of flow and speed
  over the previous 30 min, rolling while the rule is quiet and *held* (frozen at their
  values at the first sample that met an alert condition) while the rule is pending or
  active, so a fall that persists stays alerted until flow recovers instead of being
  absorbed into its own reference. They roll again from the sample after the rule is
  neither active nor pending. A speed away from its reference is a clear condition:
  a speed change during a flow drop clears the alert after the off-delay (the flow is
  no longer comparable with the reference), and the rule is judged again against the
  rolling medians once the speed median has settled at the new speed.
- ``flow_low``: flow (L/min) below 1.0 (high) or, with a weight set, below the
  prescribed minimum in mL/kg/min (medium).
- ``drainage_pressure_low``: drainage pressure (mmHg) at or below -80 / -100.
- ``post_oxy_pressure_high``: post-oxygenator pressure (mmHg) at or above 300 / 350.
- ``hemolysis``: laboratory results (``hemolysis.py``).
- ``data_stale``: a technical alarm about the feed itself (see the engines).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.contract import format_timestamp

from .config import RulesConfig

RULE_IDS: tuple[str, ...] = (
    "delta_p_rise",
    "flow_drop",
    "flow_low",
    "drainage_pressure_low",
    "post_oxy_pressure_high",
    "hemolysis",
    "data_stale",
)
#: Rules judged on every telemetry sample (the others come from labs or the feed).
TELEMETRY_RULES: tuple[str, ...] = RULE_IDS[:5]
TECHNICAL_RULES = frozenset({"data_stale"})
MEDIUM, HIGH, LOW = 2, 3, 1


def micros(seconds: float) -> int:
    """Integer microseconds, the time unit of every window and timer comparison."""
    return round(seconds * 1e6)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One telemetry rule with its limits in force: levels, thresholds, delays, message.

    ``levels`` are priority levels (2 medium, 3 high) with one threshold and one clear
    limit (threshold minus or plus the hysteresis) each. ``above``: a value past the
    threshold upwards is bad (peak = maximum), else downwards (peak = minimum).
    ``strict``: the limit itself does not alert ("below 1.0 L/min").
    """

    rule: str
    label: str
    unit: str
    digits: int
    levels: tuple[int, ...]
    thresholds: tuple[float, ...]
    clear_limits: tuple[float, ...]
    above: bool
    strict: bool
    on_delay_us: int
    off_delay_us: int
    describe: Callable[..., str]

    def conditions(self, value):
        """Alert and clear condition per level, for a float or an array of values."""
        ons, offs = [], []
        for threshold, clear in zip(self.thresholds, self.clear_limits, strict=True):
            if self.above:
                ons.append(value > threshold if self.strict else value >= threshold)
                offs.append(value < clear)
            else:
                ons.append(value < threshold if self.strict else value <= threshold)
                offs.append(value > clear)
        return ons, offs

    def threshold_of(self, level: int) -> float:
        return self.thresholds[self.levels.index(level)]

    def cleared_message(self, value: float) -> str:
        return f"{self.label} back within limits: {value:.{self.digits}f} {self.unit}"


def fmt(value: float, digits: int = 0) -> str:
    text = f"{value:.{digits}f}"
    return "0" if text in ("-0", "-0.0") and digits == 0 else text


def describe_delta_p(threshold: float, delta_p: float, flow: float, resistance: float) -> str:
    scaled = resistance * flow
    rise = delta_p - scaled
    return (
        f"delta P {fmt(delta_p)} mmHg is {fmt(rise)} mmHg above its flow-scaled baseline of "
        f"{fmt(scaled)} mmHg (limit +{fmt(threshold)} mmHg); resistance "
        f"{delta_p / flow:.1f} mmHg per L/min (baseline {resistance:.1f})"
    )


def _describe_flow_drop(window_min: float):
    def describe(
        threshold: float, flow: float, flow_ref: float, speed: float, speed_ref: float
    ) -> str:
        drop = (1.0 - flow / flow_ref) * 100.0
        return (
            f"blood flow {flow:.2f} L/min is {fmt(drop)} % below the median of the "
            f"{window_min:g} minutes before the drop began ({flow_ref:.2f} L/min) at "
            f"unchanged pump speed {fmt(speed)} rpm (limit -{fmt(threshold)} %)"
        )

    return describe


def _describe_flow_low(weight_kg: float | None, minimum: float, high_lpm: float):
    def describe(threshold: float, flow: float) -> str:
        if weight_kg is not None and threshold != high_lpm:
            per_kg = flow * 1000.0 / weight_kg
            return (
                f"blood flow {flow:.2f} L/min is {fmt(per_kg)} mL/kg/min, below the limit of "
                f"{fmt(minimum)} mL/kg/min, the prescribed minimum ({fmt(weight_kg, 1)} kg)"
            )
        return f"blood flow {flow:.2f} L/min is below the limit of {threshold:.1f} L/min"

    return describe


def describe_drainage(threshold: float, pressure: float) -> str:
    return (
        f"drainage pressure {fmt(pressure)} mmHg is at or below the limit of {fmt(threshold)} mmHg"
    )


def describe_post_oxy(threshold: float, pressure: float) -> str:
    return (
        f"post-oxygenator pressure {fmt(pressure)} mmHg is at or above the limit of "
        f"{fmt(threshold)} mmHg"
    )


def _pressure_spec(rule, label, section, above, describe) -> RuleSpec:
    sign = -1.0 if above else 1.0
    thresholds = (section.medium_mmhg, section.high_mmhg)
    return RuleSpec(
        rule, label, "mmHg", 0, (MEDIUM, HIGH), thresholds,
        tuple(t + sign * section.hysteresis_mmhg for t in thresholds), above, False,
        micros(section.on_delay_s), micros(section.off_delay_s), describe,
    )  # fmt: skip


def build_specs(
    config: RulesConfig, weight_kg: float | None = None, flow_minimum_ml_kg_min: float | None = None
) -> dict[str, RuleSpec]:
    """The telemetry rules with the limits in force for this config and patient."""
    dp, drop, low = config.delta_p_rise, config.flow_drop, config.flow_low
    thresholds_dp = (dp.medium_mmhg, dp.high_mmhg)
    thresholds_drop = (drop.medium_pct, drop.high_pct)
    minimum = low.minimum_ml_kg_min if flow_minimum_ml_kg_min is None else flow_minimum_ml_kg_min
    if weight_kg is not None:
        flow_levels = (MEDIUM, HIGH)
        flow_thresholds = (minimum * weight_kg / 1000.0, low.high_lpm)
        flow_clear = (
            flow_thresholds[0] + low.hysteresis_ml_kg_min * weight_kg / 1000.0,
            low.high_lpm + low.hysteresis_lpm,
        )
    else:
        flow_levels, flow_thresholds = (HIGH,), (low.high_lpm,)
        flow_clear = (low.high_lpm + low.hysteresis_lpm,)
    specs = [
        RuleSpec(
            "delta_p_rise", "delta P rise", "mmHg", 0, (MEDIUM, HIGH), thresholds_dp,
            tuple(t - dp.hysteresis_mmhg for t in thresholds_dp), True, False,
            micros(dp.on_delay_s), micros(dp.off_delay_s), describe_delta_p,
        ),
        RuleSpec(
            "flow_drop", "flow drop", "%", 0, (MEDIUM, HIGH), thresholds_drop,
            tuple(t - drop.hysteresis_pct for t in thresholds_drop), True, False,
            micros(drop.on_delay_s), micros(drop.off_delay_s), _describe_flow_drop(drop.window_min),
        ),
        RuleSpec(
            "flow_low", "blood flow", "L/min", 2, flow_levels, flow_thresholds, flow_clear, False, True,
            micros(low.on_delay_s), micros(low.off_delay_s),
            _describe_flow_low(weight_kg, minimum, low.high_lpm),
        ),
        _pressure_spec(
            "drainage_pressure_low", "drainage pressure", config.drainage_pressure_low, False,
            describe_drainage,
        ),
        _pressure_spec(
            "post_oxy_pressure_high", "post-oxygenator pressure", config.post_oxy_pressure_high,
            True, describe_post_oxy,
        ),
    ]  # fmt: skip
    return {spec.rule: spec for spec in specs}


def delta_p_rise(delta_p, flow, resistance):
    """Rise of delta P over the baseline resistance scaled to the current flow (mmHg)."""
    return delta_p - resistance * flow


def flow_drop_conditions(spec: RuleSpec, tolerance: float, flow, flow_ref, speed, speed_ref):
    """Drop (%) and per-level alert/clear conditions; speed off its median clears."""
    drop = (1.0 - flow / flow_ref) * 100.0
    deviation = abs(speed - speed_ref)
    limit = tolerance * speed_ref
    steady = deviation <= limit
    moved = deviation > limit
    ons, offs = spec.conditions(drop)
    return drop, [on & steady for on in ons], [off | moved for off in offs]


def gap_message(last: float, now: float, limit: float) -> str:
    """Message of a stretch without valid data, from the last valid sample to ``now``."""
    return (
        f"no valid data from the device for {now - last:.0f} s (limit {limit:g} s), "
        f"from {format_timestamp(last)} to {format_timestamp(now)}"
    )


def stale_message(seconds: float, limit: float) -> str:
    return f"no data from the device for {seconds:.0f} s (limit {limit:g} s)"
