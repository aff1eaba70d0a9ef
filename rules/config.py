"""Rule thresholds, delays and hysteresis: the shipped defaults merged with a site file.

The shipped ``defaults.toml`` (beside this module, commented) is the single list of
settings; a site file may override any key of it and nothing else. An unknown section or
key, a value of the wrong type or an impossible value (a negative delay) is a
:class:`ConfigError` (a :class:`adapters.errors.TelemetryError`) whose one-sentence
message names the file and the key, so a typo never silently keeps a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from adapters import TelemetryError

PRIORITY_NAMES = ("low", "medium", "high")


class ConfigError(TelemetryError):
    """A rules configuration file that cannot be used, as one sentence."""


@dataclass(frozen=True, slots=True)
class TimingConfig:
    freeze_after_s: float
    hold_fraction: float


@dataclass(frozen=True, slots=True)
class AlarmsConfig:
    latching: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeltaPRiseConfig:
    medium_mmhg: float
    high_mmhg: float
    on_delay_s: float
    off_delay_s: float
    hysteresis_mmhg: float
    baseline_window_min: float
    min_flow_lpm: float


@dataclass(frozen=True, slots=True)
class FlowDropConfig:
    medium_pct: float
    high_pct: float
    window_min: float
    min_reference_min: float
    speed_tolerance_pct: float
    on_delay_s: float
    off_delay_s: float
    hysteresis_pct: float


@dataclass(frozen=True, slots=True)
class FlowLowConfig:
    high_lpm: float
    hysteresis_lpm: float
    minimum_ml_kg_min: float
    hysteresis_ml_kg_min: float
    on_delay_s: float
    off_delay_s: float


@dataclass(frozen=True, slots=True)
class PressureConfig:
    medium_mmhg: float
    high_mmhg: float
    on_delay_s: float
    off_delay_s: float
    hysteresis_mmhg: float


@dataclass(frozen=True, slots=True)
class HemolysisConfig:
    pfhb_medium_mg_dl: float
    pfhb_high_mg_dl: float
    pfhb_trend_factor: float
    pfhb_trend_floor_mg_dl: float
    ldh_factor: float
    ldh_limit_u_l: float
    haptoglobin_low_mg_dl: float
    bilirubin_high_mg_dl: float


@dataclass(frozen=True, slots=True)
class SweepGasLostConfig:
    low_sweep_lpm: float
    min_blood_flow_lpm: float
    hysteresis_lpm: float
    on_delay_s: float
    off_delay_s: float
    trial_min: float


@dataclass(frozen=True, slots=True)
class MembraneLungConfig:
    low_mmhg: float
    medium_mmhg: float
    min_fdo2: float


@dataclass(frozen=True, slots=True)
class RecirculationConfig:
    low_pct: float
    max_age_min: float


@dataclass(frozen=True, slots=True)
class DrainageChatterConfig:
    window_s: float
    speed_steady_pct: float
    pressure_span_mmhg: float
    flow_span_pct: float
    hysteresis_mmhg: float
    on_delay_s: float
    off_delay_s: float


@dataclass(frozen=True, slots=True)
class ResistanceTrendConfig:
    low_per_day: float
    hysteresis_per_day: float
    window_h: float
    min_data_h: float
    bin_min: float
    slope_block_min: float


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    fit_h: float
    min_fit_h: float
    confidence_pct: float
    block_min: float
    horizon_h: float


@dataclass(frozen=True, slots=True)
class DerivedConfig:
    max_age_min: float


@dataclass(frozen=True, slots=True)
class DataStaleConfig:
    live_quiet_s: float
    recording_gap_s: float


_SECTIONS: dict[str, type] = {
    "timing": TimingConfig,
    "alarms": AlarmsConfig,
    "delta_p_rise": DeltaPRiseConfig,
    "flow_drop": FlowDropConfig,
    "flow_low": FlowLowConfig,
    "drainage_pressure_low": PressureConfig,
    "post_oxy_pressure_high": PressureConfig,
    "hemolysis": HemolysisConfig,
    "sweep_gas_lost": SweepGasLostConfig,
    "membrane_lung_po2": MembraneLungConfig,
    "recirculation": RecirculationConfig,
    "drainage_chatter": DrainageChatterConfig,
    "resistance_trend": ResistanceTrendConfig,
    "forecast": ForecastConfig,
    "derived": DerivedConfig,
    "data_stale": DataStaleConfig,
}


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Every rule setting in force, one attribute per TOML section."""

    timing: TimingConfig
    alarms: AlarmsConfig
    delta_p_rise: DeltaPRiseConfig
    flow_drop: FlowDropConfig
    flow_low: FlowLowConfig
    drainage_pressure_low: PressureConfig
    post_oxy_pressure_high: PressureConfig
    hemolysis: HemolysisConfig
    sweep_gas_lost: SweepGasLostConfig
    membrane_lung_po2: MembraneLungConfig
    recirculation: RecirculationConfig
    drainage_chatter: DrainageChatterConfig
    resistance_trend: ResistanceTrendConfig
    forecast: ForecastConfig
    derived: DerivedConfig
    data_stale: DataStaleConfig
    #: Where the settings came from, defaults first (for messages and reports).
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict, TOML sections and keys (lists for tuples)."""
        out: dict[str, dict[str, Any]] = {}
        for section in _SECTIONS:
            part = dataclasses.asdict(getattr(self, section))
            out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in part.items()}
        return out

    def override(
        self, settings: Mapping[str, Mapping[str, Any]], source: str = "override"
    ) -> RulesConfig:
        """A copy with ``settings`` ({section: {key: value}}) merged in, checked like a file."""
        return _build(_merge(self.to_dict(), settings, source), (*self.sources, source))


def _kind(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return "list" if text.startswith("tuple") else text


def _check_value(source: str, section: str, key: str, value: Any, kind: str) -> Any:
    where = f"{source}: [{section}] {key}"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}; write e.g. {key} = 30.")
        value = float(value)
        if value != value:
            raise ConfigError(f"{where} must be a number, not nan.")
        if key.endswith("_s") or key.startswith("hysteresis"):
            if value < 0:
                raise ConfigError(
                    f"{where} is {value:g}, but a delay or hysteresis cannot be negative."
                )
        elif key == "hold_fraction" and not 0 < value <= 1:
            raise ConfigError(f"{where} is {value:g}, but it must be above 0 and at most 1.")
        elif (key.endswith("_min") or key.endswith("factor")) and value <= 0:
            raise ConfigError(f"{where} is {value:g}, but it must be above zero.")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{where} must be a list of priority names, e.g. ["high"].')
        bad = [v for v in value if v not in PRIORITY_NAMES]
        if bad:
            raise ConfigError(
                f"{where} names {bad[0]!r}, which is not a priority; use low, medium or high."
            )
        return tuple(value)
    raise AssertionError(f"unhandled setting type {kind}")  # pragma: no cover


def _merge(
    base: dict[str, dict[str, Any]], site: Mapping[str, Any], source: str
) -> dict[str, dict[str, Any]]:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in site.items():
        if section not in _SECTIONS:
            known = ", ".join(_SECTIONS)
            raise ConfigError(
                f"{source}: unknown section [{section}]; the known sections are {known}."
            )
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: {section} must be a [{section}] table of settings.")
        fields = {f.name: f for f in dataclasses.fields(_SECTIONS[section])}
        for key, value in values.items():
            if key not in fields:
                known = ", ".join(fields)
                raise ConfigError(
                    f"{source}: unknown key {key!r} in [{section}]; the known keys are {known}."
                )
            merged[section][key] = value
    return merged


def _build(settings: dict[str, dict[str, Any]], sources: tuple[str, ...]) -> RulesConfig:
    source = sources[-1] if sources else "settings"
    parts: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        values = settings.get(section, {})
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in values:
                raise ConfigError(f"{source}: [{section}] {f.name} is missing.")
            kwargs[f.name] = _check_value(source, section, f.name, values[f.name], _kind(f.type))
        parts[section] = cls(**kwargs)
    return RulesConfig(**parts, sources=sources)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: the rules configuration file does not exist.") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the rules configuration ({exc.strerror})."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (UTF-8) TOML file.") from None


@cache
def _defaults() -> RulesConfig:
    text = resources.files(__package__).joinpath("defaults.toml").read_text(encoding="utf-8")
    return _build(tomllib.loads(text), ("defaults.toml",))


def default_config() -> RulesConfig:
    """The shipped defaults (``defaults.toml`` beside this module)."""
    return _defaults()


def load_config(path: str | Path | None = None) -> RulesConfig:
    """The shipped defaults with the site file at ``path`` (if any) merged over them."""
    base = _defaults()
    if path is None:
        return base
    path = Path(path)
    site = _read_toml(path)
    return _build(_merge(base.to_dict(), site, str(path)), (*base.sources, str(path)))
