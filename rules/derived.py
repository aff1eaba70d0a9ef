"""Derived values of gas exchange and flow, from CLINICAL.md (Blood gases), one formula
each, for the page, the report and the central station to ask for instead of restating.

- O2 content C = 1.34 x Hb x SO2 + 0.0031 x PO2 (mL/dL; Hb g/dL, SO2 as a fraction, PO2
  mmHg); membrane lung O2 transfer = blood flow (L/min) x (C post - C pre) x 10 (mL/min)
  (Epis and Belliato, J Thorac Dis 2018).
- CO2 removal = sweep (L/min) x the exhaust CO2 fraction (exhaust PCO2 / barometric
  pressure) x 1000 (mL/min).
- Recirculation R = (S pre - S venous) / (S post - S venous) (the Messai equation,
  PMC2943384); effective flow = (1 - R) x pump flow, and per kg.
- Resistance = delta P / flow (mmHg per L/min; Zakhary et al., Crit Care 2020).

Each returns None when an input is missing or the value is undefined.

What the page and the report show is asked here too: :func:`derived_values` turns the
latest samples at hand into :class:`DerivedValue` records (label, value, unit, digits and
the inputs they came from), and :func:`derived_report` does so at each blood gas draw of
a whole recording, with the oxygenator resistance hour by hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters import BLOOD_GAS_COLUMNS, CHANNEL_BY_NAME, clean_value

from .columns import Columns
from .config import RulesConfig
from .hemolysis import lab_table

#: Barometric pressure at sea level (mmHg), for the exhaust CO2 fraction.
BAROMETRIC_MMHG = 760.0


def _have(*values) -> bool:
    return all(v is not None and v == v for v in values)


def o2_content_ml_dl(hb_g_dl, so2_pct, po2_mmhg) -> float | None:
    """Blood O2 content (mL/dL)."""
    if not _have(hb_g_dl, so2_pct, po2_mmhg):
        return None
    return 1.34 * hb_g_dl * so2_pct / 100.0 + 0.0031 * po2_mmhg


def o2_transfer_ml_min(flow_lpm, hb_g_dl, pre_so2, pre_po2, post_so2, post_po2) -> float | None:
    """Membrane lung O2 transfer (mL/min) from pre- and post-oxygenator gases."""
    pre = o2_content_ml_dl(hb_g_dl, pre_so2, pre_po2)
    post = o2_content_ml_dl(hb_g_dl, post_so2, post_po2)
    if pre is None or post is None or not _have(flow_lpm):
        return None
    return flow_lpm * (post - pre) * 10.0


def co2_removal_ml_min(sweep_lpm, exhaust_co2_mmhg, barometric_mmhg=BAROMETRIC_MMHG):
    """CO2 removed by the membrane lung (mL/min) from sweep and exhaust CO2."""
    if not _have(sweep_lpm, exhaust_co2_mmhg) or barometric_mmhg <= 0:
        return None
    return sweep_lpm * exhaust_co2_mmhg / barometric_mmhg * 1000.0


def recirculation_pct(pre_so2, post_so2, venous_so2) -> float | None:
    """Recirculation (%), or None when post is not above venous."""
    if not _have(pre_so2, post_so2, venous_so2) or post_so2 <= venous_so2:
        return None
    return (pre_so2 - venous_so2) / (post_so2 - venous_so2) * 100.0


def effective_flow_lpm(flow_lpm, recirculation) -> float | None:
    """The flow that reaches the patient (L/min): (1 - R) x pump flow."""
    if not _have(flow_lpm, recirculation):
        return None
    return (1.0 - recirculation / 100.0) * flow_lpm


def per_kg_ml_min(flow_lpm, weight_kg) -> float | None:
    """A flow in mL/kg/min."""
    if not _have(flow_lpm, weight_kg) or weight_kg <= 0:
        return None
    return flow_lpm * 1000.0 / weight_kg


def resistance(delta_p_mmhg, flow_lpm, min_flow_lpm: float = 0.5) -> float | None:
    """Oxygenator resistance (mmHg per L/min); None at flows too low to mean anything."""
    if not _have(delta_p_mmhg, flow_lpm) or flow_lpm <= min_flow_lpm:
        return None
    return delta_p_mmhg / flow_lpm


def resistance_column(delta_p_mmhg: np.ndarray, flow_lpm: np.ndarray, min_flow_lpm: float = 0.5):
    """The array form of :func:`resistance`: NaN where an input is missing or the flow
    too low."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flow_lpm > min_flow_lpm, delta_p_mmhg / flow_lpm, np.nan)


# -- the values to show: the page's panel and the report's table --------------------------

FLOW, DELTA_P, SWEEP, EXHAUST_CO2 = (
    "blood_flow_lpm",
    "delta_p_mmhg",
    "sweep_gas_lpm",
    "exhaust_co2_mmhg",
)
HB, SVO2 = "hb_g_dl", "svo2_pct"
PRE_PO2, PRE_SO2 = "pre_oxy_po2_mmhg", "pre_oxy_so2_pct"
POST_PO2, POST_SO2 = "post_oxy_po2_mmhg", "post_oxy_so2_pct"
VENOUS_SO2 = "central_venous_so2_pct"
#: The channels the derived values are computed from.
INPUTS: tuple[str, ...] = (
    FLOW, DELTA_P, SWEEP, EXHAUST_CO2, HB, SVO2,
    PRE_PO2, PRE_SO2, POST_PO2, POST_SO2, VENOUS_SO2,
)  # fmt: skip
#: Results of samples (blood gases, Hb) and the console SvO2 standing in for a
#: pre-oxygenator sample: combined only when no older than ``derived.max_age_min``.
AGED: frozenset[str] = frozenset({HB, SVO2, PRE_PO2, PRE_SO2, POST_PO2, POST_SO2, VENOUS_SO2})
_INPUT_DIGITS = {FLOW: 2, SWEEP: 1, HB: 1}


@dataclass(frozen=True, slots=True)
class DerivedKind:
    """What one derived value is: its stable key, its label, unit and shown digits."""

    key: str
    label: str
    unit: str
    digits: int


#: Every derived value, in the order the page and the report show them.
DERIVED_KINDS: tuple[DerivedKind, ...] = (
    DerivedKind("o2_transfer", "Membrane lung O2 transfer", "mL/min", 0),
    DerivedKind("co2_removal", "CO2 removal", "mL/min", 0),
    DerivedKind("recirculation", "Recirculation", "%", 0),
    DerivedKind("effective_flow", "Effective flow", "L/min", 2),
    DerivedKind("effective_flow_per_kg", "Effective flow per kg", "mL/kg/min", 0),
    DerivedKind("resistance", "Oxygenator resistance", "mmHg/(L/min)", 1),
)
_KINDS = {kind.key: kind for kind in DERIVED_KINDS}


@dataclass(frozen=True, slots=True)
class DerivedValue:
    """One derived value as shown, with the inputs it came from ("from ...")."""

    key: str
    label: str
    value: float
    unit: str
    digits: int
    inputs: str

    @property
    def text(self) -> str:
        """The value with its digits (no unit)."""
        text = f"{self.value:.{self.digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text


def _value(key: str, value: float, inputs: list[str]) -> DerivedValue:
    kind = _KINDS[key]
    return DerivedValue(key, kind.label, value, kind.unit, kind.digits, "from " + _words(inputs))


def _words(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _name(channel: str) -> str:
    """A channel's label inside a sentence ("pre-oxygenator SO2", "SvO2")."""
    label = CHANNEL_BY_NAME[channel].label
    first = label.split(" ", 1)[0]
    return label[0].lower() + label[1:] if first[1:] == first[1:].lower() else label


class _AtHand:
    """The inputs that may be combined now: present, plausible and, for samples, fresh."""

    def __init__(self, latest: Mapping[str, tuple[float, float] | None], now: float, max_age_s):
        self.now = now
        self.got: dict[str, tuple[float, float]] = {}
        for name in INPUTS:
            sample = latest.get(name)
            if sample is None:
                continue
            time, value = sample
            if not _have(time, value) or clean_value({name: value}, 0, name) is None:
                continue
            if name in AGED and now - time > max_age_s:
                continue  # a sample too old to combine with what is measured now
            self.got[name] = (float(time), float(value))

    def values(self, *names: str) -> list[float] | None:
        if not all(n in self.got for n in names):
            return None
        return [self.got[n][1] for n in names]

    def text(self, name: str, label: str | None = None) -> str:
        time, value = self.got[name]
        channel = CHANNEL_BY_NAME[name]
        shown = f"{label or _name(name)} {value:.{_INPUT_DIGITS.get(name, 0)}f} {channel.unit}"
        age_min = (self.now - time) / 60.0
        return shown + (f" ({age_min:.0f} min ago)" if name in AGED and age_min >= 1 else "")


def derived_values(
    latest: Mapping[str, tuple[float, float] | None],
    now: float,
    weight_kg: float | None,
    config: RulesConfig,
) -> list[DerivedValue]:
    """The derived values whose inputs are at hand, in :data:`DERIVED_KINDS` order.

    ``latest`` maps contract channel names (:data:`INPUTS`) to the (POSIX time, value)
    of their newest sample, or None. Blood gases, Hb and the console SvO2 older than
    ``config.derived.max_age_min`` at ``now`` are not combined; an implausible value is
    not used; a value whose inputs are not all at hand is left out, never shown as zero.
    The pre-oxygenator saturation for recirculation is the newer of the console's SvO2
    and a pre-oxygenator sample, as the recirculation rule takes it.
    """
    at = _AtHand(latest, now, config.derived.max_age_min * 60.0)
    found: dict[str, DerivedValue] = {}
    got = at.values(FLOW, HB, PRE_SO2, PRE_PO2, POST_SO2, POST_PO2)
    if got is not None:
        transfer = o2_transfer_ml_min(*got)
        if transfer is not None:
            names = (HB, PRE_SO2, PRE_PO2, POST_SO2, POST_PO2, FLOW)
            found["o2_transfer"] = _value("o2_transfer", transfer, [at.text(n) for n in names])
    got = at.values(SWEEP, EXHAUST_CO2)
    if got is not None:
        removal = co2_removal_ml_min(*got)
        if removal is not None:
            names = (SWEEP, EXHAUST_CO2)
            found["co2_removal"] = _value("co2_removal", removal, [at.text(n) for n in names])
    pre = max((n for n in (SVO2, PRE_SO2) if n in at.got), key=lambda n: at.got[n][0], default=None)
    got = at.values(POST_SO2, VENOUS_SO2)
    r = None if pre is None or got is None else recirculation_pct(at.got[pre][1], *got)
    if r is not None:
        pre_text = at.text(pre, "console SvO2" if pre == SVO2 else None)
        inputs = [pre_text, at.text(POST_SO2), at.text(VENOUS_SO2)]
        found["recirculation"] = _value("recirculation", r, inputs)
        flow = at.values(FLOW)
        effective = None if flow is None else effective_flow_lpm(flow[0], r)
        if effective is not None:
            inputs = [at.text(FLOW), f"recirculation {r:.0f} %"]
            found["effective_flow"] = _value("effective_flow", effective, inputs)
            per_kg = per_kg_ml_min(effective, weight_kg)
            if per_kg is not None:
                inputs = [f"effective flow {effective:.2f} L/min", f"weight {weight_kg:g} kg"]
                found["effective_flow_per_kg"] = _value("effective_flow_per_kg", per_kg, inputs)
    got = at.values(DELTA_P, FLOW)
    if got is not None:
        value = resistance(*got, config.delta_p_rise.min_flow_lpm)
        if value is not None:
            inputs = [at.text(DELTA_P), at.text(FLOW)]
            found["resistance"] = _value("resistance", value, inputs)
    return [found[kind.key] for kind in DERIVED_KINDS if kind.key in found]


# -- a whole recording: the report's table ------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerivedRow:
    """The derived values at one moment of a recording."""

    time: float
    values: tuple[DerivedValue, ...]

    def get(self, key: str) -> DerivedValue | None:
        return next((v for v in self.values if v.key == key), None)


@dataclass(frozen=True, slots=True)
class DerivedReport:
    """A recording's derived values: at each blood gas draw (from the latest value of
    every input at or before it; a draw whose values cannot be computed has none) and
    the oxygenator resistance hour by hour (the median over each clock hour of valid
    samples)."""

    draws: tuple[DerivedRow, ...]
    hourly_resistance: tuple[DerivedRow, ...]


def _latest_rows(valid: np.ndarray) -> np.ndarray:
    """Per row, the latest row at or before it with a valid value (-1: none)."""
    rows = np.where(valid, np.arange(valid.size), -1)
    return np.maximum.accumulate(rows) if valid.size else rows


def derived_report(
    data: pd.DataFrame,
    config: RulesConfig,
    weight_kg: float | None = None,
    labs: pd.DataFrame | None = None,
) -> DerivedReport:
    """The derived values of a canonical recording (and its lab table, if any), for the
    report: :func:`derived_values` at each blood gas draw, and the hourly resistance."""
    cols = Columns(data, labs)
    table = []
    if labs is not None and len(labs):
        table = sorted((t, n, v) for t, n, v in lab_table(labs) if n in INPUTS)
    gas_rows = np.zeros(cols.n, dtype=bool)
    for name in BLOOD_GAS_COLUMNS:
        gas_rows |= cols.valid(name)
    times = set(cols.seconds[gas_rows].tolist())
    times.update(t for t, name, _ in table if name in BLOOD_GAS_COLUMNS)
    latest_rows = {name: _latest_rows(cols.valid(name)) for name in INPUTS}
    draws = []
    for time in sorted(times):
        row = int(np.searchsorted(cols.seconds, time, side="right")) - 1
        latest: dict[str, tuple[float, float] | None] = {}
        for name in INPUTS:
            at = int(latest_rows[name][row]) if row >= 0 else -1
            latest[name] = (
                (float(cols.seconds[at]), float(cols.clean[name][at])) if at >= 0 else None
            )
        for t, name, value in table:  # a table result comes after the frames at its time
            if t > time:
                break
            held = latest[name]
            if held is None or t >= held[0]:
                latest[name] = (t, value)
        draws.append(DerivedRow(time, tuple(derived_values(latest, time, weight_kg, config))))
    return DerivedReport(tuple(draws), _hourly_resistance(cols, config))


def _hourly_resistance(cols: Columns, config: RulesConfig) -> tuple[DerivedRow, ...]:
    if not cols.n:
        return ()
    each = resistance_column(
        cols.clean[DELTA_P], cols.clean[FLOW], config.delta_p_rise.min_flow_lpm
    )
    hour = np.floor(cols.seconds / 3600.0) * 3600.0
    by_hour = pd.Series(each).groupby(hour).agg(["median", "count"])
    kind = _KINDS["resistance"]
    rows = []
    for start, median, count in zip(
        by_hour.index.tolist(), by_hour["median"].tolist(), by_hour["count"].tolist(), strict=True
    ):
        if count:
            inputs = f"median of {count:,} samples of delta P / blood flow over the hour"
            value = DerivedValue(kind.key, kind.label, median, kind.unit, kind.digits, inputs)
            rows.append(DerivedRow(float(start), (value,)))
    return tuple(rows)
