"""The batch engine: a whole recording at once, vectorised, for QA.

:func:`analyze` takes the canonical DataFrame (``adapters.contract`` columns; an
``artifact_mask`` column is honoured when present, plausible ranges are always checked)
and returns an :class:`Analysis` with the same episodes the incremental engine gives on
the same rows, to the sample. It uses the same rule definitions (``conditions.py``),
evaluated on whole columns, and the same timing semantics (``lifecycle.debounce``,
``lifecycle.rule_clock``); the rolling medians come from pandas (``windows.py`` says why
they equal the incremental ones). Only the few things that are few are looped over:
baseline segments (one per baseline event), stretches where flow_drop holds its
reference (one per fall), lab results and episodes.

Rows are taken in time order (a stable sort if they are not). The incremental engine
ignores a frame older than the one before, so feed it the same sorted rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters.contract import (
    CHANNEL_BIT,
    CHANNEL_BY_NAME,
    EVENT,
    NUMERIC_COLUMNS,
    TIMESTAMP,
    epoch_seconds,
)
from adapters.errors import TelemetryError

from .baseline import Baseline, baseline_segments
from .conditions import (
    HIGH,
    RuleSpec,
    build_specs,
    delta_p_rise,
    flow_drop_conditions,
    gap_message,
    micros,
)
from .config import RulesConfig, default_config
from .episodes import Episode, Gap, level_runs, sort_key
from .hemolysis import HemolysisRule, lab_results
from .lifecycle import Priority
from .timing import debounce, engaged, rule_clock
from .windows import (
    medians_at,
    oldest_before,
    rolling_max_before,
    rolling_median_before,
    window_bounds,
)

ARTIFACT_MASK = "artifact_mask"


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a whole-session analysis found; times are POSIX seconds."""

    episodes: tuple[Episode, ...]
    baselines: tuple[Baseline, ...]
    samples: int
    start: float | None
    end: float | None
    artifacts: int
    gaps: tuple[Gap, ...]
    config: RulesConfig

    def alerts(self) -> list[dict]:
        """The ``alerts`` list of the JSON report (DESIGN.md section 6)."""
        return [episode.to_dict() for episode in self.episodes]

    def episodes_frame(self) -> pd.DataFrame:
        """One row per episode, with tz-aware UTC start and end."""
        rows = [
            {
                "rule": e.rule,
                "priority": str(e.priority),
                "start": pd.Timestamp(e.start, unit="s", tz="UTC"),
                "end": pd.NaT if e.end is None else pd.Timestamp(e.end, unit="s", tz="UTC"),
                "peak": np.nan if e.peak is None else e.peak,
                "threshold": np.nan if e.threshold is None else e.threshold,
                "unit": e.unit,
                "message": e.message,
            }
            for e in self.episodes
        ]
        columns = ["rule", "priority", "start", "end", "peak", "threshold", "unit", "message"]
        return pd.DataFrame(rows, columns=columns)


class _Columns:
    """The recording's clean channels: artifacts and missing values are NaN."""

    def __init__(self, data: pd.DataFrame, hold_fraction: float) -> None:
        self.hold_fraction = hold_fraction
        if TIMESTAMP not in data.columns:
            raise TelemetryError("The data to analyse has no timestamp column.")
        seconds = epoch_seconds(data[TIMESTAMP]) if len(data) else np.empty(0)
        order = None
        if seconds.size > 1 and (np.diff(seconds) < 0).any():
            order = np.argsort(seconds, kind="stable")
            seconds = seconds[order]
        self.n = seconds.size
        self.seconds = seconds
        self.times_us = np.round(seconds * 1e6).astype(np.int64)

        def column(name: str, dtype: str, fill):
            if name not in data.columns:
                return np.full(self.n, fill, dtype=dtype)
            values = data[name].to_numpy(dtype=dtype, na_value=fill)
            return values if order is None else values[order]

        self.mask = column(ARTIFACT_MASK, "int64", 0)
        self.raw = raw = {name: column(name, "float64", np.nan) for name in NUMERIC_COLUMNS}
        sent = raw["delta_p_mmhg"]  # derived when absent, as Frame.build does
        raw["delta_p_mmhg"] = np.where(
            np.isnan(sent), raw["p_pre_oxy_mmhg"] - raw["p_post_oxy_mmhg"], sent
        )
        # events are sparse: keep the rows that have one, and their normalised text
        self.event_rows = np.empty(0, dtype=np.int64)
        self.event_kinds: list[str] = []
        if EVENT in data.columns:
            text = data[EVENT].fillna("").astype("str")
            if order is not None:
                text = text.iloc[order]
            rows = np.flatnonzero(text.str.len().to_numpy(dtype="int64", na_value=0) > 0)
            kinds = [str(k).strip().lower() for k in text.iloc[rows].tolist()]
            keep = [i for i, k in enumerate(kinds) if k]
            self.event_rows = rows[keep]
            self.event_kinds = [kinds[i] for i in keep]
        self.artifacts = 0
        self.clean: dict[str, np.ndarray] = {}
        any_marked = bool(self.mask.any())
        for name, raw in self.raw.items():
            channel = CHANNEL_BY_NAME[name]
            good = (raw >= channel.low) & (raw <= channel.high)
            if any_marked:
                good &= (self.mask >> CHANNEL_BIT[name]) & 1 == 0
            present = np.count_nonzero(~np.isnan(raw))
            bad = present - np.count_nonzero(good)
            self.artifacts += bad
            self.clean[name] = (
                raw if bad == 0 and present == self.n else np.where(good, raw, np.nan)
            )
        self.clean["delta_p_mmhg"] = self._delta_p()

    def _delta_p(self) -> np.ndarray:
        raw, clean = self.raw, self.clean
        good = ~np.isnan(clean["delta_p_mmhg"])
        # an artifact on either side makes delta P suspect, even if the device sent it
        for side in ("p_pre_oxy_mmhg", "p_post_oxy_mmhg"):
            good &= ~(~np.isnan(raw[side]) & np.isnan(clean[side]))
        return np.where(good, clean["delta_p_mmhg"], np.nan)

    def valid(self, name: str) -> np.ndarray:
        return ~np.isnan(self.clean[name])


def _judge(
    spec: RuleSpec,
    cols: _Columns,
    rows: np.ndarray,
    values: np.ndarray,
    ons,
    offs,
    inputs: tuple[np.ndarray, ...],
    clock: np.ndarray,
    end_time: float | None,
) -> list[Episode]:
    """Episodes of one rule over its valid rows (one baseline segment at most)."""
    if rows.size == 0:
        return []
    fraction = cols.hold_fraction
    level = np.zeros(rows.size, dtype=np.int8)
    for i, lv in enumerate(spec.levels):
        if not ons[i].any():
            continue  # never past the threshold: never active
        active = debounce(clock, ons[i], offs[i], spec.on_delay_us, spec.off_delay_us, fraction)
        level = np.where(active, np.maximum(level, lv), level)
    out = []
    for lv in spec.levels:
        starts, ends = level_runs(level, lv)
        threshold = spec.threshold_of(lv)
        for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
            end = float(cols.seconds[rows[stop]]) if stop < rows.size else end_time
            stretch = values[first:stop]
            peak = float(stretch.max() if spec.above else stretch.min())
            message = spec.describe(threshold, *(float(a[first]) for a in inputs))
            start = float(cols.seconds[rows[first]])
            out.append(
                Episode(
                    spec.rule,
                    Priority.of_level(lv),
                    start,
                    end,
                    peak,
                    message,
                    threshold,
                    spec.unit,
                )
            )
    return out


def _simple_rule(spec: RuleSpec, cols: _Columns, name: str, freeze_us: int) -> list[Episode]:
    # a level becomes active only after samples past its threshold: none, no episode
    # (NaN, a missing value or an artifact, is past no threshold)
    if not any(on.any() for on in spec.conditions(cols.clean[name])[0]):
        return []
    rows = np.flatnonzero(cols.valid(name))
    values = cols.clean[name][rows]
    ons, offs = spec.conditions(values)
    clock = rule_clock(cols.times_us[rows], freeze_us)
    return _judge(spec, cols, rows, values, ons, offs, (values,), clock, None)


def _loop_beats_pandas(starts: np.ndarray, ends: np.ndarray, rows: np.ndarray) -> bool:
    """Whether :func:`medians_at` on ``rows`` is cheaper than a pandas rolling median.

    The loop pays per row, and per value it slides in and out of its window (or for a
    rebuild, whichever is cheaper); pandas pays per sample of the whole recording.
    Weights measured on a 7-day 1 Hz recording (pandas about 0.35 µs per sample, an
    insertion about 0.35 µs, a rebuild about a quarter of that per value).
    """
    if rows.size < 2:
        return True
    picked_starts, picked_ends = starts[rows], ends[rows]
    slide = np.diff(picked_starts) + np.diff(picked_ends)
    rebuild = (picked_ends - picked_starts)[1:] / 4.0
    values = float(np.minimum(slide, rebuild).sum())
    return values + 15.0 * rows.size < starts.size


def _flow_drop(spec: RuleSpec, cols: _Columns, config: RulesConfig, freeze_us: int):
    """flow_drop over the recording, with the 30-minute medians only where they matter.

    A median never exceeds the maximum of its window, so a sample whose flow is within
    the lowest clear limit of the window maximum is clear whatever the median: only the
    others (few, on a healthy circuit) need their medians. Whether a median is above
    zero (the reference is usable) is a count: flows and speeds are never negative.
    Then the stretches where the rule is pending or active are judged again against the
    references held at their start (:func:`_hold_references`).
    """
    drop_cfg = config.flow_drop
    window = micros(drop_cfg.window_min * 60.0)
    times = cols.times_us
    # + 0.0: no negative zero in the window (the incremental engine does the same)
    flow, speed = cols.clean["blood_flow_lpm"] + 0.0, cols.clean["pump_speed_rpm"] + 0.0
    starts, ends = window_bounds(times, window)

    def positive_median(values: np.ndarray) -> np.ndarray:
        valid = np.concatenate(([0], np.cumsum(~np.isnan(values), dtype=np.int64)))
        above = np.concatenate(([0], np.cumsum(values > 0, dtype=np.int64)))
        count = valid[ends] - valid[starts]
        return (count >= 1) & (2 * (above[ends] - above[starts]) >= count)

    oldest = oldest_before(times, ~np.isnan(flow), window)
    usable = (
        ~np.isnan(flow)
        & ~np.isnan(speed)
        & positive_median(flow)
        & positive_median(speed)
        & (oldest >= 0)
        & (times - oldest >= micros(drop_cfg.min_reference_min * 60.0))
    )
    rows = np.flatnonzero(usable)
    clear = min(spec.clear_limits)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (1.0 - flow[rows] / rolling_max_before(times, flow, window)[rows]) * 100.0
    near = np.flatnonzero(bound >= clear - 1e-6)
    if _loop_beats_pandas(starts, ends, rows[near]):
        flow_ref = medians_at(flow, starts, ends, rows[near])
        speed_ref = medians_at(speed, starts, ends, rows[near])
    else:
        flow_ref = rolling_median_before(times, flow, window)[rows[near]]
        speed_ref = rolling_median_before(times, speed, window)[rows[near]]
    inputs = (flow[rows[near]], flow_ref, speed[rows[near]], speed_ref)
    drop, near_ons, near_offs = flow_drop_conditions(
        spec, drop_cfg.speed_tolerance_pct / 100.0, *inputs
    )
    # the others are clear at every level; their drop is below any peak that matters
    values = np.zeros(rows.size)
    values[near] = drop
    ons, offs = [], []
    for near_on, near_off in zip(near_ons, near_offs, strict=True):
        on, off = np.zeros(rows.size, dtype=bool), np.ones(rows.size, dtype=bool)
        on[near], off[near] = near_on, near_off
        ons.append(on)
        offs.append(off)
    full_inputs = []
    for part in inputs:
        column = np.full(rows.size, np.nan)
        column[near] = part
        full_inputs.append(column)
    clock = rule_clock(times[rows], freeze_us)
    full_inputs[0], full_inputs[2] = flow[rows], speed[rows]
    _hold_references(
        spec, cols.hold_fraction, drop_cfg.speed_tolerance_pct / 100.0, clock, values, ons,
        offs, full_inputs,
    )  # fmt: skip
    return _judge(spec, cols, rows, values, ons, offs, tuple(full_inputs), clock, None)


#: Rows judged at a time when following a held reference forward (grows as needed).
_HOLD_SPAN = 256


def _hold_references(
    spec: RuleSpec,
    fraction: float,
    tolerance: float,
    clock: np.ndarray,
    values: np.ndarray,
    ons: list[np.ndarray],
    offs: list[np.ndarray],
    inputs: list[np.ndarray],
) -> None:
    """Hold the flow_drop references while the rule is pending or active, in place.

    ``values``, ``ons``, ``offs`` and ``inputs`` (flow, flow reference, speed, speed
    reference, one per judged row) come in judged against the rolling medians. As in the
    incremental engine, the first row that meets an alert condition (the rule becomes
    pending) holds its references; the rows from there up to and including the first at
    which no level is active or pending are judged again against the held references,
    and the rolling medians apply again after it. Only those stretches are recomputed, a
    stretch of rows at a time (see below for why a stretch can be judged on its own).

    Why a stretch [s, e] can be judged alone, exactly: before ``s`` every level is
    inactive and no alert condition was met within an on-delay window that reaches a row
    at or after ``s`` (rows after the previous stretch meet none; at that stretch's last
    row no level was active or pending). So the rows before ``s`` matter only through
    where the runs of not-clear samples start and how many samples the windows hold:
    judging from one sample before the on-delay window of ``s``, with the alert
    conditions before ``s`` taken as unmet, gives every row from ``s`` on its true state.
    """
    n = clock.size
    candidates = np.flatnonzero(np.logical_or.reduce(ons)) if ons else np.empty(0, np.int64)
    flow, flow_refs, speed, speed_refs = inputs
    cursor = 0
    while True:
        k = int(np.searchsorted(candidates, cursor))
        if k == candidates.size:
            return
        s = int(candidates[k])
        flow_ref, speed_ref = float(flow_refs[s]), float(speed_refs[s])
        lo = max(0, int(np.searchsorted(clock, clock[s] - spec.on_delay_us, side="left")) - 1)
        span, checked = _HOLD_SPAN, s
        while True:
            hi = min(n, s + span)
            drop, held_ons, held_offs = flow_drop_conditions(
                spec, tolerance, flow[s:hi], flow_ref, speed[s:hi], speed_ref
            )
            # a row that meets an alert condition is pending or active: only the others
            # can end the stretch, and the timers are run only when new ones come
            if (~np.logical_or.reduce(held_ons)[checked - s :]).any():
                busy = np.zeros(hi - s, dtype=bool)
                for i in range(len(ons)):
                    if not held_ons[i].any():
                        continue  # never pending, never active: nothing to add
                    on = np.concatenate((np.zeros(s - lo, dtype=bool), held_ons[i]))
                    off = np.concatenate((offs[i][lo:s], held_offs[i]))
                    busy |= engaged(
                        clock[lo:hi], on, off, spec.on_delay_us, spec.off_delay_us, fraction
                    )[s - lo :]
                quiet = np.flatnonzero(~busy)
                if quiet.size:
                    stop = int(quiet[0]) + 1  # rows held, from s
                    break
            if hi == n:
                stop = hi - s
                break
            checked = hi
            span *= 4
        end = s + stop
        values[s:end] = drop[:stop]
        for i in range(len(ons)):
            ons[i][s:end] = held_ons[i][:stop]
            offs[i][s:end] = held_offs[i][:stop]
        flow_refs[s:end] = flow_ref
        speed_refs[s:end] = speed_ref
        cursor = end


def _delta_p_rise(spec: RuleSpec, cols: _Columns, config: RulesConfig, freeze_us: int):
    cfg = config.delta_p_rise
    dp, flow = cols.clean["delta_p_mmhg"], cols.clean["blood_flow_lpm"]
    usable = ~np.isnan(dp) & ~np.isnan(flow) & (flow > cfg.min_flow_lpm)
    segments, baselines = baseline_segments(
        cols.seconds, cols.times_us, cols.event_rows, cols.event_kinds, dp, flow, usable,
        micros(cfg.baseline_window_min * 60.0),
    )  # fmt: skip
    if not segments:
        return [], baselines
    # one rule clock over every segment's rows, as the incremental engine keeps it
    clock = rule_clock(cols.times_us[np.concatenate([seg.rows for seg in segments])], freeze_us)
    out, offset = [], 0
    for seg in segments:
        rows = seg.rows
        part = clock[offset : offset + rows.size]
        offset += rows.size
        rise = delta_p_rise(dp[rows], flow[rows], seg.resistance)
        ons, offs = spec.conditions(rise)
        inputs = (dp[rows], flow[rows], np.full(rows.size, seg.resistance))
        out += _judge(spec, cols, rows, rise, ons, offs, inputs, part, seg.end_time)
    return out, baselines


def analyze(
    data: pd.DataFrame,
    config: RulesConfig | None = None,
    labs: pd.DataFrame | None = None,
    weight_kg: float | None = None,
) -> Analysis:
    """Every alert episode of a recording, with baselines, gaps and the artifact count.

    ``labs`` is an optional long table ``timestamp, analyte, value[, unit]`` of lab
    results, judged together with any in the recording's lab columns.
    """
    config = config or default_config()
    cols = _Columns(data, config.timing.hold_fraction)
    specs = build_specs(config, weight_kg)
    freeze_us = micros(config.timing.freeze_after_s)
    episodes: list[Episode] = []
    baselines: list[Baseline] = []
    gaps: list[Gap] = []
    if cols.n:
        rise, baselines = _delta_p_rise(specs["delta_p_rise"], cols, config, freeze_us)
        episodes += rise
        episodes += _flow_drop(specs["flow_drop"], cols, config, freeze_us)
        episodes += _simple_rule(specs["flow_low"], cols, "blood_flow_lpm", freeze_us)
        episodes += _simple_rule(specs["drainage_pressure_low"], cols, "p_venous_mmhg", freeze_us)
        episodes += _simple_rule(
            specs["post_oxy_pressure_high"], cols, "p_post_oxy_mmhg", freeze_us
        )
        stale, gaps = _data_stale(cols, config)
        episodes += stale
    latching = frozenset(Priority(p).level for p in config.alarms.latching)
    hemolysis = HemolysisRule(config, latching)
    for t, name, value in lab_results(cols, labs):
        hemolysis.add(name, value, t)
    episodes += hemolysis.track.episodes()
    return Analysis(
        episodes=tuple(sorted(episodes, key=sort_key)),
        baselines=tuple(baselines),
        samples=cols.n,
        start=float(cols.seconds[0]) if cols.n else None,
        end=float(cols.seconds[-1]) if cols.n else None,
        artifacts=cols.artifacts,
        gaps=tuple(gaps),
        config=config,
    )


def _data_stale(cols: _Columns, config: RulesConfig) -> tuple[list[Episode], list[Gap]]:
    required = ("pump_speed_rpm", "blood_flow_lpm", "p_pre_oxy_mmhg", "p_post_oxy_mmhg")
    valid = np.zeros(cols.n, dtype=bool)
    for name in required:
        valid |= cols.valid(name)
    rows = np.flatnonzero(valid)
    gap_s = config.data_stale.recording_gap_s
    long = np.flatnonzero(np.diff(cols.times_us[rows]) > micros(gap_s))
    episodes, gaps = [], []
    for i in long.tolist():
        last, now = float(cols.seconds[rows[i]]), float(cols.seconds[rows[i + 1]])
        episodes.append(
            Episode(
                "data_stale", Priority.of_level(HIGH), last + gap_s, now, now - last,
                gap_message(last, now, gap_s), gap_s, "s",
            )
        )  # fmt: skip
        gaps.append(Gap(last, now, now - last))
    return episodes, gaps
