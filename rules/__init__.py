"""The rules engine: alert rules, their thresholds, the alarm lifecycle, two engines.

No I/O here (no files but the shipped defaults, no SQLite, no threads, no Dash): frames
or a DataFrame in, alarm transitions and episodes out (DESIGN.md sections 1 and 4).

- :class:`IncrementalEngine`: a frame at a time, for live monitoring and replay.
- :func:`analyze`: a whole recording at once, vectorised, for QA.
- :func:`load_config`: the shipped ``defaults.toml`` with a site file merged over it.

Both engines give the same episodes on the same data (tested on every simulator
scenario).
"""

from .baseline import Baseline
from .batch import Analysis, analyze
from .conditions import RULE_IDS, TECHNICAL_RULES
from .config import ConfigError, RulesConfig, default_config, load_config
from .episodes import Episode, Gap
from .incremental import IncrementalEngine
from .lifecycle import (
    Acknowledgement,
    AlertState,
    NothingToAcknowledge,
    Priority,
    Transition,
)
from .recorded import analyze_incremental, frames_from

__all__ = [
    "RULE_IDS",
    "TECHNICAL_RULES",
    "Acknowledgement",
    "AlertState",
    "Analysis",
    "Baseline",
    "ConfigError",
    "Episode",
    "Gap",
    "IncrementalEngine",
    "NothingToAcknowledge",
    "Priority",
    "RulesConfig",
    "Transition",
    "analyze",
    "analyze_incremental",
    "default_config",
    "frames_from",
    "load_config",
]
