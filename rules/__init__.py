"""The rules engine: every clinical fact, the alarm lifecycle, two engines.

No I/O here (no files but the shipped defaults, no SQLite, no threads, no Dash): frames
or a DataFrame in, alarm transitions and episodes out (DESIGN.md sections 1 and 4).

- One module per rule family, each with its frame-at-a-time and its whole-array half:
  ``delta_p``, ``flow`` (flow_drop, flow_low), ``pressures``, ``hemolysis``, ``sweep``
  (sweep_gas_lost), ``gases`` (membrane_lung_po2, recirculation), ``chatter``
  (drainage_chatter), ``resistance_trend`` (with the bins the forecast uses;
  ``trendfit`` the Theil-Sen fit, ``forecast`` the forecast itself), ``data_stale``;
  :data:`RULES` lists them with their titles and channels. ``derived`` holds the
  formulas of the derived values (O2 transfer, CO2 removal, recirculation, effective
  flow, resistance).
- :class:`IncrementalEngine`: a frame at a time, for live monitoring and replay.
- :func:`analyze`: a whole recording at once, vectorised, for QA; an :class:`Analysis`.
- :func:`load_config`: the shipped ``defaults.toml`` with a site file merged over it.
- What the page, the report and the central station ask for instead of restating it:
  :func:`delta_p_reference_lines`, :func:`lab_limits`, :func:`resistance_in_force`,
  :func:`match_acknowledgements`, :func:`alert_sort_key`, :func:`rule_title`, and
  the delta P forecast (``IncrementalEngine.forecasts``, ``Analysis.forecasts``,
  :func:`shown_forecast`).

Both engines give the same episodes on the same data (tested on every simulator
scenario and on messy random recordings).
"""

from .acknowledgements import ACK_GRACE_S, match_acknowledgements
from .baseline import Baseline, resistance_in_force
from .batch import analyze
from .catalog import RULE_CHANNELS, RULE_IDS, RULE_TITLES, RULES, TECHNICAL_RULES, rule_title
from .config import ConfigError, RulesConfig, default_config, load_config
from .definition import Rule
from .delta_p import ReferenceLine, delta_p_reference_lines, delta_p_rise
from .derived import (
    DERIVED_KINDS,
    DerivedKind,
    DerivedReport,
    DerivedRow,
    DerivedValue,
    derived_report,
    derived_values,
    resistance,
)
from .episodes import Episode, Gap
from .forecast import Forecast, shown_forecast
from .hemolysis import LabLimit, lab_limits
from .incremental import IncrementalEngine
from .lifecycle import (
    Acknowledgement,
    AlertState,
    AlertStatus,
    NothingToAcknowledge,
    Priority,
    Transition,
    alert_sort_key,
)
from .recorded import analyze_incremental, frames_from
from .result import Analysis

__all__ = [
    "ACK_GRACE_S",
    "DERIVED_KINDS",
    "RULES",
    "RULE_CHANNELS",
    "RULE_IDS",
    "RULE_TITLES",
    "TECHNICAL_RULES",
    "Acknowledgement",
    "AlertState",
    "AlertStatus",
    "Analysis",
    "Baseline",
    "ConfigError",
    "DerivedKind",
    "DerivedReport",
    "DerivedRow",
    "DerivedValue",
    "Episode",
    "Forecast",
    "Gap",
    "IncrementalEngine",
    "LabLimit",
    "NothingToAcknowledge",
    "Priority",
    "ReferenceLine",
    "Rule",
    "RulesConfig",
    "Transition",
    "alert_sort_key",
    "analyze",
    "analyze_incremental",
    "default_config",
    "delta_p_reference_lines",
    "delta_p_rise",
    "derived_report",
    "derived_values",
    "frames_from",
    "lab_limits",
    "load_config",
    "match_acknowledgements",
    "resistance",
    "resistance_in_force",
    "rule_title",
    "shown_forecast",
]
