"""The blood gas rules, both halves: membrane lung PO2 and recirculation (CLINICAL.md,
Blood gases), judged a result at a time.

Blood gas results are few (entered at the bedside, imported from a lab file, or in a
recording's sparse columns), so, as for hemolysis, both halves are one object per rule
fed the results in time order, with what the continuous telemetry said at the time: the
FdO2, and the console's venous saturation (``svo2_pct``, the blood entering the
oxygenator). The incremental engine's state keeps the latest of those from its frames;
the batch half looks them up in the recording's columns (the latest valid value at or
before the result; a result of a lab table comes after every frame at or before its
time, as ``analyze_incremental`` passes it on).

- ``membrane_lung_po2``: a post-oxygenator PO2 below 200 mmHg is low, below 150 mmHg
  medium, judged only when FdO2 at the time of the sample is 0.9 or more (a result at a
  lower FdO2 judges nothing and leaves the level as it was); each judged result holds
  until the next.
- ``recirculation``: R = (S pre - S venous) / (S post - S venous) x 100 %, from the
  latest pre-oxygenator saturation (the console's ``svo2_pct`` or a ``pre_oxy_so2_pct``
  sample, whichever is newer), ``post_oxy_so2_pct`` and ``central_venous_so2_pct``,
  each no older than ``max_age_min``; low above 35 %. Judged at each saturation result;
  the level holds until the next judgement.
"""

from __future__ import annotations

import numpy as np

from .columns import Columns
from .definition import Findings, Rule, RuleState, Setup
from .derived import recirculation_pct
from .episodes import EpisodeTracker
from .hemolysis import lab_table
from .lifecycle import AlertLifecycle, AlertState, Transition
from .threshold import LOW, MEDIUM, fmt

FDO2, SVO2 = "fdo2", "svo2_pct"
PO2_POST = "post_oxy_po2_mmhg"
SO2_PRE, SO2_POST, SO2_VENOUS = "pre_oxy_so2_pct", "post_oxy_so2_pct", "central_venous_so2_pct"
SATURATIONS = (SO2_PRE, SO2_POST, SO2_VENOUS)


class _ResultRule(RuleState):
    """A rule judged at results: its level holds until the next judgement."""

    __slots__ = ("life", "rule", "track", "value")

    def __init__(self, rule: str, unit: str, levels, above: bool, setup: Setup) -> None:
        self.rule = rule
        self.life = AlertLifecycle(rule, setup.latching)
        self.track = EpisodeTracker(rule, unit, levels, above)
        self.value: float | None = None

    def judge(self, time, level, value, threshold_of, message) -> list[Transition]:
        life, track = self.life, self.track
        old = life.level
        out: list[Transition] = []
        self.value = value
        if level != old:
            out = life.set_level(time, level, value, threshold_of(level or old), None, message)
            track.change(time, old, level, lambda lv: message, threshold_of)
        if track.open:
            track.observe(value)
        return out

    def alert(self, include_pending: bool, now: float) -> AlertState | None:
        return self.life.snapshot(self.value, self.life.message)


class MembraneLungState(_ResultRule):
    """membrane_lung_po2, fed post-oxygenator PO2 results with the FdO2 at the time."""

    __slots__ = ("cfg", "fdo2")
    reads = (FDO2, PO2_POST)

    def __init__(self, setup: Setup) -> None:
        super().__init__("membrane_lung_po2", "mmHg", (LOW, MEDIUM), False, setup)
        self.cfg = setup.config.membrane_lung_po2
        self.fdo2: float | None = None

    def threshold_of(self, level: int) -> float | None:
        return {LOW: self.cfg.low_mmhg, MEDIUM: self.cfg.medium_mmhg}.get(level)

    def result(self, time: float, po2: float, fdo2: float | None) -> list[Transition]:
        c = self.cfg
        if fdo2 is None or fdo2 < c.min_fdo2:
            return []  # not a test of the membrane lung: judges nothing
        level = MEDIUM if po2 < c.medium_mmhg else LOW if po2 < c.low_mmhg else 0
        if level:
            limit = self.threshold_of(level)
            message = (
                f"post-oxygenator PO2 {fmt(po2)} mmHg at FdO2 {fdo2:.2f} is below the limit "
                f"of {fmt(limit)} mmHg (judged at FdO2 {c.min_fdo2:.2f} or more)"
            )
        else:
            message = f"post-oxygenator PO2 {fmt(po2)} mmHg at FdO2 {fdo2:.2f}: within limits"
        return self.judge(time, level, po2, self.threshold_of, message)

    def step(self, t, t_us, values, clean, out) -> None:
        fdo2 = clean[FDO2]
        if fdo2 is not None:
            self.fdo2 = fdo2
        po2 = clean[PO2_POST]
        if po2 is not None:
            out += self.result(t, po2, self.fdo2)

    def lab(self, analyte: str, value: float, time: float) -> list[Transition]:
        return self.result(time, value, self.fdo2) if analyte == PO2_POST else []


class RecirculationState(_ResultRule):
    """recirculation, fed saturation results with the console's SvO2 at the time."""

    __slots__ = ("cfg", "latest", "max_age", "svo2")
    reads = (SVO2, *SATURATIONS)

    def __init__(self, setup: Setup) -> None:
        super().__init__("recirculation", "%", (LOW,), True, setup)
        self.cfg = setup.config.recirculation
        self.max_age = self.cfg.max_age_min * 60.0
        #: saturation -> (time, value) of its latest result
        self.latest: dict[str, tuple[float, float]] = {}
        self.svo2: tuple[float, float] | None = None

    def threshold_of(self, level: int) -> float | None:
        return self.cfg.low_pct if level else None

    def result(self, analyte: str, value: float, time: float, svo2) -> list[Transition]:
        """One saturation result; ``svo2`` the latest console SvO2 as (time, value)."""
        self.latest[analyte] = (time, value)
        fresh = {n: got for n, got in self.latest.items() if time - got[0] <= self.max_age}
        pre, source = fresh.get(SO2_PRE), "sample"
        fresh_svo2 = svo2 is not None and time - svo2[0] <= self.max_age
        if fresh_svo2 and (pre is None or svo2[0] > pre[0]):
            pre, source = svo2, "console SvO2"
        post, venous = fresh.get(SO2_POST), fresh.get(SO2_VENOUS)
        if pre is None or post is None or venous is None:
            return []
        r = recirculation_pct(pre[1], post[1], venous[1])
        if r is None:
            return []
        limit = self.cfg.low_pct
        level = LOW if r > limit else 0
        inputs = (
            f"pre-oxygenator SO2 {fmt(pre[1])} % ({source}), post-oxygenator "
            f"{fmt(post[1])} %, central venous {fmt(venous[1])} %"
        )
        if level:
            message = f"recirculation {fmt(r)} % is above the limit of {fmt(limit)} % ({inputs})"
        else:
            message = f"recirculation {fmt(r)} % within limits ({inputs})"
        return self.judge(time, level, r, self.threshold_of, message)

    def step(self, t, t_us, values, clean, out) -> None:
        svo2 = clean[SVO2]
        if svo2 is not None:
            self.svo2 = (t, svo2)
        for name in SATURATIONS:
            value = clean[name]
            if value is not None:
                out += self.result(name, value, t, self.svo2)

    def lab(self, analyte: str, value: float, time: float) -> list[Transition]:
        return self.result(analyte, value, time, self.svo2) if analyte in SATURATIONS else []


# -- a whole recording -------------------------------------------------------------------


def _latest_rows(cols: Columns, name: str) -> np.ndarray:
    """Per row, the latest row at or before it with a valid value of ``name`` (-1: none)."""
    rows = np.where(cols.valid(name), np.arange(cols.n), -1)
    return np.maximum.accumulate(rows) if cols.n else rows


def gas_results(cols: Columns, names: tuple[str, ...]) -> list[tuple[float, int, str, float]]:
    """(time, row of the telemetry at the time, analyte, value) of the recording's
    results of ``names`` and its lab table's, in the order the incremental engine sees
    them: by time, a recording's row in contract order, a table result after the frames
    at or before its time (row -1: before every frame)."""
    found = []
    for rank, name in enumerate(names):
        for row in np.flatnonzero(cols.valid(name)).tolist():
            found.append((row, rank, name, float(cols.clean[name][row])))
    found.sort()
    events = [(float(cols.seconds[row]), row, name, value) for row, _, name, value in found]
    if cols.labs is not None and len(cols.labs):
        table = [(t, name, v) for t, name, v in lab_table(cols.labs) if name in names]
        last = np.searchsorted(cols.seconds, [t for t, _, _ in table], side="right") - 1
        events += [
            (t, int(row), name, v) for (t, name, v), row in zip(table, last.tolist(), strict=True)
        ]
        events.sort(key=lambda e: e[0])
    return events


def membrane_findings(cols: Columns, setup: Setup) -> Findings:
    state = MembraneLungState(setup)
    events = gas_results(cols, (PO2_POST,))
    if events:
        latest = _latest_rows(cols, FDO2)
        for t, row, _, value in events:
            at = int(latest[row]) if row >= 0 else -1
            state.result(t, value, float(cols.clean[FDO2][at]) if at >= 0 else None)
    return Findings(state.track.episodes())


def recirculation_findings(cols: Columns, setup: Setup) -> Findings:
    state = RecirculationState(setup)
    events = gas_results(cols, SATURATIONS)
    if events:
        latest = _latest_rows(cols, SVO2)
        for t, row, name, value in events:
            at = int(latest[row]) if row >= 0 else -1
            svo2 = (float(cols.seconds[at]), float(cols.clean[SVO2][at])) if at >= 0 else None
            state.result(name, value, t, svo2)
    return Findings(state.track.episodes())


MEMBRANE_LUNG_PO2 = Rule(
    rule="membrane_lung_po2",
    title="Membrane lung PO2 low",
    channels=(PO2_POST,),
    incremental=MembraneLungState,
    batch=membrane_findings,
)
RECIRCULATION = Rule(
    rule="recirculation",
    title="Recirculation high",
    channels=(SO2_POST, SO2_VENOUS),
    incremental=RecirculationState,
    batch=recirculation_findings,
)
