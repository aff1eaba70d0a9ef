"""The hemolysis rule: laboratory markers, judged a result at a time (CLINICAL.md).

Lab results are few (a handful a day), so both engines feed the same
:class:`HemolysisRule` object, in time order: the batch engine loops over the
recording's results, the incremental engine passes each one on as it arrives. No
on-delay (a result is a single fact); a marker's level holds until a later result of
the same marker changes it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from adapters.contract import CHANNEL_BY_NAME, LAB_COLUMNS, TIMESTAMP, epoch_seconds
from adapters.errors import TelemetryError

from .conditions import HIGH, LOW, MEDIUM, fmt
from .config import RulesConfig
from .episodes import EpisodeTracker
from .lifecycle import AlertLifecycle, Transition

#: Lab analytes: canonical column -> (short label, unit).
LAB_ANALYTES: dict[str, tuple[str, str]] = {
    "plasma_free_hb_mg_dl": ("plasma free Hb", "mg/dL"),
    "ldh_u_l": ("LDH", "U/L"),
    "haptoglobin_mg_dl": ("haptoglobin", "mg/dL"),
    "bilirubin_mg_dl": ("bilirubin", "mg/dL"),
}
#: Names a person or a lab file may use for an analyte.
ANALYTE_ALIASES: dict[str, str] = {
    **{name: name for name in LAB_ANALYTES},
    "pfhb": "plasma_free_hb_mg_dl",
    "plasma_free_hb": "plasma_free_hb_mg_dl",
    "plasma free hb": "plasma_free_hb_mg_dl",
    "ldh": "ldh_u_l",
    "haptoglobin": "haptoglobin_mg_dl",
    "bilirubin": "bilirubin_mg_dl",
    "total_bilirubin": "bilirubin_mg_dl",
}


def canonical_analyte(name: str) -> str | None:
    return ANALYTE_ALIASES.get(name.strip().lower())


def check_lab(analyte: str, value: float) -> str:
    """The canonical name of a result entered by hand; ValueError if it cannot be used."""
    name = canonical_analyte(analyte)
    if name is None:
        raise ValueError(
            f"Unknown lab analyte {analyte!r}; use plasma_free_hb_mg_dl (pfhb), ldh_u_l, "
            "haptoglobin_mg_dl or bilirubin_mg_dl."
        )
    channel = CHANNEL_BY_NAME[name]
    if not channel.low <= value <= channel.high:
        raise ValueError(
            f"A {channel.label} of {value:g} {channel.unit} is outside the plausible "
            f"range {channel.low:g} to {channel.high:g} {channel.unit}; check the value."
        )
    return name


class HemolysisMarkers:
    """Hemolysis level from the latest result of each marker (CLINICAL.md).

    Plasma free Hb: medium at 50, high at 100 mg/dL; low when a result is at least twice
    the previous one and above 20 mg/dL, and it stays at least low while later results
    remain above 20 mg/dL. LDH above 2.5 x the session's first result or above 1000 U/L,
    haptoglobin below 30 mg/dL, bilirubin above 2 mg/dL: low each, never more. Each
    marker's level holds until a later result of the same marker changes it. The value
    reported is the latest plasma free Hb (the episode peak is its highest).
    """

    def __init__(self, config: RulesConfig) -> None:
        self.cfg = config.hemolysis
        self.latest: dict[str, float] = {}
        self.levels: dict[str, int] = dict.fromkeys(LAB_ANALYTES, 0)
        self.limits: dict[str, str] = {}
        self.first_ldh: float | None = None

    def add(self, analyte: str, value: float) -> None:
        """Take one result (canonical analyte name, value in its canonical unit)."""
        c = self.cfg
        level, limit = 0, ""
        if analyte == "plasma_free_hb_mg_dl":
            previous = self.latest.get(analyte)
            if value >= c.pfhb_high_mg_dl:
                level, limit = HIGH, f"limit {fmt(c.pfhb_high_mg_dl)} mg/dL"
            elif value >= c.pfhb_medium_mg_dl:
                level, limit = MEDIUM, f"limit {fmt(c.pfhb_medium_mg_dl)} mg/dL"
            elif value > c.pfhb_trend_floor_mg_dl and (
                self.levels[analyte] > 0
                or (previous is not None and value >= c.pfhb_trend_factor * previous)
            ):
                level = LOW
                floor = f"limit {fmt(c.pfhb_trend_floor_mg_dl)} mg/dL"
                if previous is not None and value >= c.pfhb_trend_factor * previous:
                    limit = (
                        f"{floor} while rising: at least {c.pfhb_trend_factor:g} x the "
                        f"previous result of {previous:g} mg/dL"
                    )
                else:  # still above the floor after an alerting result: not "rising"
                    limit = f"{floor}, still above it after an alerting result"
                    if previous is not None:
                        limit += f" of {previous:g} mg/dL"
        elif analyte == "ldh_u_l":
            if self.first_ldh is None:
                self.first_ldh = value
            relative = c.ldh_factor * self.first_ldh
            if value > c.ldh_limit_u_l:
                level, limit = LOW, f"limit {fmt(c.ldh_limit_u_l)} U/L"
            elif value > relative:
                level, limit = (
                    LOW,
                    f"limit {fmt(relative)} U/L, {c.ldh_factor:g} x the first result of "
                    f"{fmt(self.first_ldh)} U/L",
                )
        elif analyte == "haptoglobin_mg_dl":
            if value < c.haptoglobin_low_mg_dl:
                level, limit = LOW, f"limit below {fmt(c.haptoglobin_low_mg_dl)} mg/dL"
        elif analyte == "bilirubin_mg_dl" and value > c.bilirubin_high_mg_dl:
            level, limit = LOW, f"limit {c.bilirubin_high_mg_dl:g} mg/dL"
        self.latest[analyte] = value
        self.levels[analyte] = level
        self.limits[analyte] = limit

    @property
    def level(self) -> int:
        return max(self.levels.values())

    @property
    def value(self) -> float:
        return self.latest.get("plasma_free_hb_mg_dl", math.nan)

    def threshold_of(self, level: int) -> float | None:
        c = self.cfg
        if level == HIGH:
            return c.pfhb_high_mg_dl
        if level == MEDIUM:
            return c.pfhb_medium_mg_dl
        return c.pfhb_trend_floor_mg_dl if self.levels["plasma_free_hb_mg_dl"] else None

    def message(self) -> str:
        parts = []
        for analyte, (label, unit) in LAB_ANALYTES.items():
            if self.levels[analyte]:
                parts.append(f"{label} {self.latest[analyte]:g} {unit} ({self.limits[analyte]})")
        return "; ".join(parts) if parts else "hemolysis markers within limits"


class HemolysisRule:
    """The hemolysis alert, fed one result at a time.

    Lab results are few (a handful a day), so both engines use this same object: the
    batch engine simply feeds it the recording's results in time order.
    """

    def __init__(self, config: RulesConfig, latching: frozenset[int]) -> None:
        self.markers = HemolysisMarkers(config)
        self.life = AlertLifecycle("hemolysis", latching)
        self.track = EpisodeTracker("hemolysis", "mg/dL", (LOW, MEDIUM, HIGH))

    def add(self, analyte: str, value: float, time: float) -> list[Transition]:
        """One result (canonical analyte, plausible value); the transitions it caused."""
        markers, life, track = self.markers, self.life, self.track
        markers.add(analyte, value)
        old, level = life.level, markers.level
        out: list[Transition] = []
        if level != old:
            message = markers.message()
            threshold = markers.threshold_of(level or old)
            out = life.set_level(time, level, markers.value, threshold, None, message)
            track.change(time, old, level, lambda lv: message, markers.threshold_of)
        if track.open and analyte == "plasma_free_hb_mg_dl":
            track.observe(value)
        return out


def lab_results(cols, labs: pd.DataFrame | None) -> list[tuple[float, str, float]]:
    """Lab results in the batch engine's clean columns and in ``labs``, in time order."""
    results = []
    for rank, name in enumerate(LAB_COLUMNS):
        rows = np.flatnonzero(cols.valid(name))
        for row in rows.tolist():
            results.append(
                (row, rank, float(cols.seconds[row]), name, float(cols.clean[name][row]))
            )
    out = [(t, name, value) for _, _, t, name, value in sorted(results)]
    if labs is not None and len(labs):
        out = sorted(out + lab_table(labs), key=lambda r: r[0])
    return out


def lab_table(labs: pd.DataFrame) -> list[tuple[float, str, float]]:
    """(time, canonical analyte, value) of a long lab table; implausible values dropped."""
    missing = {TIMESTAMP, "analyte", "value"} - set(labs.columns)
    if missing:
        raise TelemetryError(
            f"The lab results need the columns timestamp, analyte and value; "
            f"{', '.join(sorted(missing))} is missing."
        )
    seconds = epoch_seconds(labs[TIMESTAMP])
    values = pd.to_numeric(labs["value"], errors="coerce").to_numpy(dtype="float64")
    units = labs["unit"].fillna("").astype(str).tolist() if "unit" in labs else [""] * len(labs)
    out = []
    for t, analyte, value, unit in zip(
        seconds.tolist(), labs["analyte"].astype(str).tolist(), values.tolist(), units, strict=True
    ):
        name = canonical_analyte(analyte)
        if name is None:
            raise TelemetryError(
                f"Unknown lab analyte {analyte!r}; use plasma_free_hb_mg_dl (pfhb), ldh_u_l, "
                "haptoglobin_mg_dl or bilirubin_mg_dl."
            )
        channel = CHANNEL_BY_NAME[name]
        if unit.strip() and unit.strip().lower() != channel.unit.lower():
            raise TelemetryError(
                f"A {channel.label} result is in {unit!r}, not {channel.unit}; convert it first."
            )
        if channel.low <= value <= channel.high:  # an implausible result is an artifact
            out.append((t, name, value))
    return out
