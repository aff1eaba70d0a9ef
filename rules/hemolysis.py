"""The hemolysis rule, both halves: laboratory markers, judged a result at a time.

Lab results are few (a handful a day), so both halves are one object fed results in
time order (:class:`HemolysisState`): the incremental engine passes each result on as
it arrives (a lab channel in a frame, or :meth:`IncrementalEngine.add_lab`), the batch
half feeds it the recording's results. No on-delay (a result is a single fact); a
marker's level holds until a later result of the same marker changes it. The limits
are CLINICAL.md's (``[hemolysis]`` in ``defaults.toml``); a result is validated where
every lab result is, ``adapters.labs.lab_value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters import (
    HEMOLYSIS_COLUMNS,
    TIMESTAMP,
    LabError,
    TelemetryError,
    epoch_seconds,
    lab_value,
)

from .columns import Columns
from .config import RulesConfig
from .definition import Findings, Rule, RuleState, Setup
from .episodes import EpisodeTracker
from .lifecycle import AlertLifecycle, AlertState, Transition
from .threshold import HIGH, LOW, MEDIUM, fmt

PFHB = "plasma_free_hb_mg_dl"
#: Lab analytes: canonical column -> (short label, unit), as the messages name them.
LAB_ANALYTES: dict[str, tuple[str, str]] = {
    PFHB: ("plasma free Hb", "mg/dL"),
    "ldh_u_l": ("LDH", "U/L"),
    "haptoglobin_mg_dl": ("haptoglobin", "mg/dL"),
    "bilirubin_mg_dl": ("bilirubin", "mg/dL"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LabLimit:
    """A lab limit line for a trend: the analyte, the value, and its text."""

    analyte: str
    value: float
    text: str


def lab_limits(config: RulesConfig) -> tuple[LabLimit, ...]:
    """The hemolysis limits in force, as lines on the lab trend."""
    c = config.hemolysis
    return (
        LabLimit(
            analyte=PFHB, value=c.pfhb_medium_mg_dl, text=f"PfHb {c.pfhb_medium_mg_dl:g} mg/dL"
        ),
        LabLimit(analyte=PFHB, value=c.pfhb_high_mg_dl, text=f"PfHb {c.pfhb_high_mg_dl:g} mg/dL"),
        LabLimit(analyte="ldh_u_l", value=c.ldh_limit_u_l, text=f"LDH {c.ldh_limit_u_l:g} U/L"),
        LabLimit(
            analyte="haptoglobin_mg_dl",
            value=c.haptoglobin_low_mg_dl,
            text=f"haptoglobin {c.haptoglobin_low_mg_dl:g} mg/dL",
        ),
        LabLimit(
            analyte="bilirubin_mg_dl",
            value=c.bilirubin_high_mg_dl,
            text=f"bilirubin {c.bilirubin_high_mg_dl:g} mg/dL",
        ),
    )


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
        if analyte == PFHB:
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
        return self.latest.get(PFHB, math.nan)

    def threshold_of(self, level: int) -> float | None:
        c = self.cfg
        if level == HIGH:
            return c.pfhb_high_mg_dl
        if level == MEDIUM:
            return c.pfhb_medium_mg_dl
        return c.pfhb_trend_floor_mg_dl if self.levels[PFHB] else None

    def message(self) -> str:
        parts = []
        for analyte, (label, unit) in LAB_ANALYTES.items():
            if self.levels[analyte]:
                parts.append(f"{label} {self.latest[analyte]:g} {unit} ({self.limits[analyte]})")
        return "; ".join(parts) if parts else "hemolysis markers within limits"


class HemolysisState(RuleState):
    """The hemolysis alert, fed one result at a time (both engines use it)."""

    __slots__ = ("life", "markers", "rule", "track")
    reads = HEMOLYSIS_COLUMNS

    def __init__(self, setup: Setup) -> None:
        self.rule = "hemolysis"
        self.markers = HemolysisMarkers(setup.config)
        self.life = AlertLifecycle("hemolysis", setup.latching)
        self.track = EpisodeTracker("hemolysis", "mg/dL", (LOW, MEDIUM, HIGH))

    def add(self, analyte: str, value: float, time: float) -> list[Transition]:
        """One result (canonical analyte, plausible value); the transitions it caused.

        A result that is no hemolysis marker (a blood gas) is not this rule's."""
        if analyte not in LAB_ANALYTES:
            return []
        markers, life, track = self.markers, self.life, self.track
        markers.add(analyte, value)
        old, level = life.level, markers.level
        out: list[Transition] = []
        if level != old:
            message = markers.message()
            threshold = markers.threshold_of(level or old)
            out = life.set_level(time, level, markers.value, threshold, None, message)
            track.change(time, old, level, lambda lv: message, markers.threshold_of)
        if track.open and analyte == PFHB:
            track.observe(value)
        return out

    def lab(self, analyte: str, value: float, time: float) -> list[Transition]:
        return self.add(analyte, value, time)

    def step(self, t, t_us, values, clean, out) -> None:
        for name in HEMOLYSIS_COLUMNS:
            value = clean[name]
            if value is not None:
                out += self.add(name, value, t)

    def alert(self, include_pending: bool, now: float) -> AlertState | None:
        return self.life.snapshot(self.markers.value, self.life.message)


def lab_results(cols: Columns) -> list[tuple[float, str, float]]:
    """(time, analyte, value) of the recording's lab columns and its lab table, in time
    order (at one time, the recording's results first, in contract order)."""
    results = []
    for rank, name in enumerate(HEMOLYSIS_COLUMNS):
        for row in np.flatnonzero(cols.valid(name)).tolist():
            results.append(
                (row, rank, float(cols.seconds[row]), name, float(cols.clean[name][row]))
            )
    out = [(t, name, value) for _, _, t, name, value in sorted(results)]
    if cols.labs is not None and len(cols.labs):
        out = sorted(out + lab_table(cols.labs), key=lambda r: r[0])
    return out


def lab_table(labs: pd.DataFrame) -> list[tuple[float, str, float]]:
    """(time, canonical analyte, value in its unit) of a long lab table
    (``timestamp, analyte, value[, unit]``); results with an unusable value are dropped
    (an artifact), an unknown analyte or unit is a TelemetryError."""
    missing = {TIMESTAMP, "analyte", "value"} - set(labs.columns)
    if missing:
        raise TelemetryError(
            f"The lab results need the columns timestamp, analyte and value; "
            f"{', '.join(sorted(missing))} is missing."
        )
    seconds = epoch_seconds(labs[TIMESTAMP])
    values = pd.to_numeric(labs["value"], errors="coerce").to_numpy(dtype="float64")
    units = labs["unit"].fillna("").astype(str).tolist() if "unit" in labs else [""] * len(labs)
    analytes = labs["analyte"].astype(str).tolist()
    out = []
    for t, analyte, value, unit in zip(
        seconds.tolist(), analytes, values.tolist(), units, strict=True
    ):
        try:
            name, value = lab_value(analyte, value, unit)
        except LabError as exc:
            if exc.column == "value":
                continue
            raise
        out.append((t, name, value))
    return out


def hemolysis_findings(cols: Columns, setup: Setup) -> Findings:
    """The hemolysis episodes of a recording's lab results and its lab table."""
    state = HemolysisState(setup)
    for t, name, value in lab_results(cols):
        state.add(name, value, t)
    return Findings(state.track.episodes())


HEMOLYSIS = Rule(
    rule="hemolysis",
    title="Hemolysis",
    channels=(PFHB,),
    incremental=HemolysisState,
    batch=hemolysis_findings,
)
