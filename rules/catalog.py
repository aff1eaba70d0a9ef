"""Every rule, in the order the reports list them, with what the page needs to name them.

The engines loop over :data:`RULES`; the page, the report and the central station take
titles and channels from here instead of restating them.
"""

from __future__ import annotations

from .chatter import DRAINAGE_CHATTER
from .data_stale import DATA_STALE
from .definition import Rule
from .delta_p import DELTA_P_RISE
from .episodes import Episode
from .flow import FLOW_DROP, FLOW_LOW
from .gases import MEMBRANE_LUNG_PO2, RECIRCULATION
from .hemolysis import HEMOLYSIS
from .pressures import DRAINAGE_PRESSURE_LOW, POST_OXY_PRESSURE_HIGH
from .resistance_trend import RESISTANCE_TREND
from .sweep import SWEEP_GAS_LOST

RULES: tuple[Rule, ...] = (
    DELTA_P_RISE,
    RESISTANCE_TREND,
    FLOW_DROP,
    FLOW_LOW,
    DRAINAGE_PRESSURE_LOW,
    DRAINAGE_CHATTER,
    POST_OXY_PRESSURE_HIGH,
    HEMOLYSIS,
    SWEEP_GAS_LOST,
    MEMBRANE_LUNG_PO2,
    RECIRCULATION,
    DATA_STALE,
)
#: Stable rule ids, in report order.
RULE_IDS: tuple[str, ...] = tuple(r.rule for r in RULES)
#: Rule id -> its human title ("Oxygenator delta P rise").
RULE_TITLES: dict[str, str] = {r.rule: r.title for r in RULES}
#: Rule id -> the value channels its alert is about (the tiles it colours).
RULE_CHANNELS: dict[str, tuple[str, ...]] = {r.rule: r.channels for r in RULES}
#: Alarms about the equipment rather than the patient.
TECHNICAL_RULES = frozenset(r.rule for r in RULES if r.technical)
_RANK = {rule: i for i, rule in enumerate(RULE_IDS)}


def rule_title(rule: str) -> str:
    """The human title of a rule id; an id that is not a rule of rules/ as it is."""
    return RULE_TITLES.get(rule, rule)


def episode_sort_key(episode: Episode) -> tuple[float, int, int]:
    """Episodes in time order; at one time in rule order, then lowest priority first."""
    return (episode.start, _RANK[episode.rule], episode.priority.level)
