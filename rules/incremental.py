"""The incremental engine: frames in one at a time, alarm transitions out (live and replay).

Per-frame cost does not depend on how long the session has run: every piece of state is
either a few numbers or a window bounded in time (the 30-minute flow and speed medians,
the 30-minute baseline collection). No I/O, no threads: the caller (the session) feeds
frames in order from one thread and reads snapshots; guard it with a lock if snapshots
are read from other threads while frames are fed.

Times are POSIX seconds. ``tick(now)`` must use the same time base as the frames (the
arrival times of a live source). Frames older than the newest one seen are ignored and
counted in ``out_of_order``. The rules are described in ``conditions.py``, their timing
in ``timing.py`` and the alert states in ``lifecycle.py``; the batch engine gives the
same episodes on the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.contract import BASELINE_EVENTS, CHANNEL_BIT, CHANNEL_BY_NAME, LAB_COLUMNS, Frame

from .baseline import Baseline, BaselineCollector
from .conditions import (
    HIGH,
    RULE_IDS,
    RuleSpec,
    build_specs,
    delta_p_rise,
    flow_drop_conditions,
    gap_message,
    micros,
    stale_message,
)
from .config import RulesConfig, default_config
from .episodes import Episode, EpisodeTracker, Gap, sort_key
from .hemolysis import HemolysisRule, check_lab
from .lifecycle import (
    Acknowledgement,
    AlertLifecycle,
    AlertState,
    Priority,
    Transition,
)
from .timing import LevelTimer
from .windows import TimeWindowMedian


def _reader(name: str):
    channel = CHANNEL_BY_NAME[name]
    return name, CHANNEL_BIT[name], channel.low, channel.high


class _Rule:
    """The running state of one telemetry rule."""

    __slots__ = ("clock", "inputs", "last_us", "life", "spec", "timers", "track", "value")

    def __init__(self, spec: RuleSpec, life: AlertLifecycle, fraction: float) -> None:
        self.spec = spec
        self.timers = [
            LevelTimer(spec.on_delay_us, spec.off_delay_us, fraction) for _ in spec.levels
        ]
        self.life = life
        self.track = EpisodeTracker(spec.rule, spec.unit, spec.levels, spec.above)
        self.clock = 0
        self.last_us: int | None = None
        self.inputs: tuple | None = None
        self.value: float | None = None


class IncrementalEngine:
    """Runs every rule a frame at a time and keeps the alerts' lifecycle."""

    def __init__(
        self,
        config: RulesConfig | None = None,
        weight_kg: float | None = None,
        *,
        log_pending: bool = False,
    ) -> None:
        self.config = cfg = config or default_config()
        self.log_pending = log_pending
        self._weight = weight_kg
        self._flow_minimum: float | None = None
        self._latching = frozenset(Priority(p).level for p in cfg.alarms.latching)
        self._freeze_us = micros(cfg.timing.freeze_after_s)
        specs = build_specs(cfg, weight_kg)
        self._rules = {
            rid: _Rule(spec, AlertLifecycle(rid, self._latching), cfg.timing.hold_fraction)
            for rid, spec in specs.items()
        }
        self._hemolysis = HemolysisRule(cfg, self._latching)
        self._stale = AlertLifecycle("data_stale", self._latching, technical=True)
        self._stale_track = EpisodeTracker("data_stale", "s", (HIGH,))
        dp = cfg.delta_p_rise
        self._min_flow = dp.min_flow_lpm
        self._baseline = BaselineCollector(micros(dp.baseline_window_min * 60.0))
        drop = cfg.flow_drop
        self._flow_window = TimeWindowMedian(micros(drop.window_min * 60.0))
        self._speed_window = TimeWindowMedian(micros(drop.window_min * 60.0))
        self._min_reference_us = micros(drop.min_reference_min * 60.0)
        self._speed_tolerance = drop.speed_tolerance_pct / 100.0
        # (flow, speed) medians held while flow_drop is pending or active, else None
        self._held_reference: tuple[float, float] | None = None
        self._gap_us = micros(cfg.data_stale.recording_gap_s)
        self._readers = {name: _reader(name) for name in CHANNEL_BY_NAME}
        self._last_t: float | None = None
        self._last_valid_t: float | None = None
        self._last_valid_us = 0
        self._started: float | None = None
        self.frames = 0
        self.out_of_order = 0
        #: Stretches without valid frames longer than ``data_stale.recording_gap_s``.
        self.gaps: list[Gap] = []

    # -- frames ------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Transition]:
        """Judge one frame; the transitions it caused (usually none)."""
        t = frame.timestamp
        if self._last_t is not None and t < self._last_t:
            self.out_of_order += 1
            return []
        self._last_t = t
        self.frames += 1
        t_us = round(t * 1e6)
        values, mask = frame.values, frame.artifacts
        readers = self._readers
        speed = _read(values, mask, readers["pump_speed_rpm"])
        flow = _read(values, mask, readers["blood_flow_lpm"])
        pre = _read(values, mask, readers["p_pre_oxy_mmhg"])
        post = _read(values, mask, readers["p_post_oxy_mmhg"])
        out: list[Transition] = []

        if speed is not None or flow is not None or pre is not None or post is not None:
            if self._last_valid_t is not None:
                self._feed_returned(t, t_us, out)
            self._last_valid_t, self._last_valid_us = t, t_us
        if frame.event:
            kind = frame.event.strip().lower()
            if kind in BASELINE_EVENTS:
                out += self._restart_baseline(t, kind, None)
        for name in LAB_COLUMNS:
            if name in values:
                value = _read(values, mask, readers[name])
                if value is not None:
                    out += self._lab(name, value, t)

        dp = self._delta_p(values, mask, pre, post)
        self._judge_delta_p(t, t_us, dp, flow, out)
        self._judge_flow_drop(t, t_us, flow, speed, out)
        rules = self._rules
        if flow is not None:
            rule = rules["flow_low"]
            ons, offs = rule.spec.conditions(flow)
            self._judge(rule, t, t_us, flow, ons, offs, (flow,), None, out)
        venous = _read(values, mask, readers["p_venous_mmhg"])
        if venous is not None:
            rule = rules["drainage_pressure_low"]
            ons, offs = rule.spec.conditions(venous)
            self._judge(rule, t, t_us, venous, ons, offs, (venous,), None, out)
        if post is not None:
            rule = rules["post_oxy_pressure_high"]
            ons, offs = rule.spec.conditions(post)
            self._judge(rule, t, t_us, post, ons, offs, (post,), None, out)
        return out

    def _delta_p(self, values, mask, pre, post) -> float | None:
        # an artifact on either side makes delta P suspect, even if the device sent it
        for name, clean in (("p_pre_oxy_mmhg", pre), ("p_post_oxy_mmhg", post)):
            raw = values.get(name)
            if clean is None and raw is not None and raw == raw:
                return None
        raw = values.get("delta_p_mmhg")
        if raw is None or raw != raw:
            if pre is None or post is None:
                return None
            return _in_range(pre - post, self._readers["delta_p_mmhg"])
        return _read(values, mask, self._readers["delta_p_mmhg"])

    def _judge_delta_p(self, t, t_us, dp, flow, out) -> None:
        usable = dp is not None and flow is not None and flow > self._min_flow
        resistance = self._baseline.feed(t, t_us, dp, flow, usable)
        if resistance is not None and usable:
            rule = self._rules["delta_p_rise"]
            rise = delta_p_rise(dp, flow, resistance)
            ons, offs = rule.spec.conditions(rise)
            inputs = (dp, flow, resistance)
            self._judge(rule, t, t_us, rise, ons, offs, inputs, resistance * flow, out)

    def _judge_flow_drop(self, t, t_us, flow, speed, out) -> None:
        flow_window, speed_window = self._flow_window, self._speed_window
        flow_window.advance(t_us)
        speed_window.advance(t_us)
        if flow is not None and speed is not None:
            flow_ref, speed_ref = flow_window.median(), speed_window.median()
            oldest = flow_window.oldest()
            if (
                flow_ref > 0
                and speed_ref > 0
                and oldest is not None
                and t_us - oldest >= self._min_reference_us
            ):
                rule = self._rules["flow_drop"]
                held = self._held_reference
                if held is not None:
                    flow_ref, speed_ref = held
                drop, ons, offs = flow_drop_conditions(
                    rule.spec, self._speed_tolerance, flow, flow_ref, speed, speed_ref
                )
                inputs = (flow, flow_ref, speed, speed_ref)
                self._judge(rule, t, t_us, drop, ons, offs, inputs, flow_ref, out)
                # hold the reference from the first alert condition while the rule is
                # pending or active; roll again from the next sample once it is neither
                if held is None and any(ons):
                    self._held_reference = (flow_ref, speed_ref)
                if self._held_reference is not None and not any(
                    timer.engaged for timer in rule.timers
                ):
                    self._held_reference = None
        if flow is not None:
            flow_window.add(t_us, flow + 0.0)  # + 0.0: no negative zero in the window
        if speed is not None:
            speed_window.add(t_us, speed + 0.0)

    def _judge(self, rule: _Rule, t, t_us, value, ons, offs, inputs, baseline, out) -> None:
        last = rule.last_us
        if last is not None:
            step = t_us - last
            if 0 < step <= self._freeze_us:
                rule.clock += step
        rule.last_us = t_us
        clock = rule.clock
        level = pending = 0
        levels = rule.spec.levels
        for i, timer in enumerate(rule.timers):
            if timer.step(clock, ons[i], offs[i]):
                level = levels[i]
            elif timer.pending:
                pending = levels[i]
        rule.value, rule.inputs = value, inputs
        life = rule.life
        old = life.level
        if level != old:
            spec = rule.spec
            threshold = spec.threshold_of(level or old)
            message = spec.describe(threshold, *inputs) if level else spec.cleared_message(value)
            out += life.set_level(t, level, value, threshold, baseline, message)
            rule.track.change(
                t, old, level, lambda lv: spec.describe(spec.threshold_of(lv), *inputs),
                spec.threshold_of,
            )  # fmt: skip
        elif not old and pending != life.pending:
            spec = rule.spec
            if pending:
                message = spec.describe(spec.threshold_of(pending), *inputs)
                threshold = spec.threshold_of(pending)
            else:
                message, threshold = spec.cleared_message(value), spec.threshold_of(life.pending)
            moved = life.set_pending(t, pending, value, threshold, message)
            if self.log_pending:
                out += moved
        if rule.track.open:
            rule.track.observe(value)

    # -- data stale --------------------------------------------------------------------
    def _feed_returned(self, t: float, t_us: int, out: list[Transition]) -> None:
        """A valid frame after the previous one: end a stale feed, or report a gap."""
        stale, track, last = self._stale, self._stale_track, self._last_valid_t
        gap = self.config.data_stale.recording_gap_s
        long_gap = t_us - self._last_valid_us > self._gap_us
        if long_gap:
            self.gaps.append(Gap(last, t, t - last))
        if not stale.level and not long_gap:
            return
        message = gap_message(last, t, gap)
        if not stale.level:  # a recording's gap: the alarm would have been raised then
            start = last + gap
            out += stale.set_level(start, HIGH, t - last, gap, None, message)
            track.change(start, 0, HIGH, lambda lv: message, lambda lv: gap)
        track.observe(t - last)
        out += stale.set_level(t, 0, t - last, stale.threshold, None, message)
        track.change(t, HIGH, 0, lambda lv: message, lambda lv: gap)

    def tick(self, now: float) -> list[Transition]:
        """Live only: raise ``data_stale`` when no valid frame came for the quiet time."""
        reference = self._last_valid_t
        if reference is None:
            if self._started is None:
                self._started = now
            reference = self._started
        quiet = self.config.data_stale.live_quiet_s
        if self._stale.level or now - reference < quiet:
            return []
        message = stale_message(now - reference, quiet)
        self._stale_track.change(now, 0, HIGH, lambda lv: message, lambda lv: quiet)
        return self._stale.set_level(now, HIGH, now - reference, quiet, None, message)

    # -- events, labs, settings --------------------------------------------------------
    def add_event(self, kind: str, time: float, user: str | None = None) -> list[Transition]:
        """A circuit event entered live; a baseline event restarts the delta P baseline."""
        kind = kind.strip().lower()
        if kind in BASELINE_EVENTS:
            return self._restart_baseline(time, kind, user)
        return []

    def reset_baseline(self, time: float, user: str) -> list[Transition]:
        """A specialist re-establishes the delta P baseline by hand (``baseline_reset``)."""
        return self._restart_baseline(time, "baseline_reset", user)

    def _restart_baseline(self, time: float, kind: str, user: str | None) -> list[Transition]:
        rule = self._rules["delta_p_rise"]
        message = f"delta P alert ended: the baseline is re-established after {kind}"
        out = rule.life.end(time, message)
        rule.track.end_all(time)
        for timer in rule.timers:
            timer.reset()
        self._baseline.restart(kind, time, user)
        return out

    def add_lab(self, analyte: str, value: float, time: float) -> list[Transition]:
        """A laboratory result (canonical name or pfhb/ldh/haptoglobin/bilirubin).

        ValueError with a sentence for an unknown analyte or an implausible value.
        """
        return self._lab(check_lab(analyte, value), float(value), time)

    def _lab(self, name: str, value: float, time: float) -> list[Transition]:
        return self._hemolysis.add(name, value, time)

    def set_weight(self, kg: float | None) -> None:
        """Patient weight (kg) for the mL/kg/min flow minimum; None removes it."""
        self._weight = kg
        self._rebuild_flow_low()

    def set_flow_minimum(self, ml_kg_min: float | None) -> None:
        """Prescribed minimum flow in mL/kg/min (None: the configured default)."""
        self._flow_minimum = ml_kg_min
        self._rebuild_flow_low()

    def _rebuild_flow_low(self) -> None:
        spec = build_specs(self.config, self._weight, self._flow_minimum)["flow_low"]
        rule = self._rules["flow_low"]
        old_timers = dict(zip(rule.spec.levels, rule.timers, strict=True))
        rule.timers = [
            old_timers.get(lv)
            or LevelTimer(spec.on_delay_us, spec.off_delay_us, self.config.timing.hold_fraction)
            for lv in spec.levels
        ]
        rule.spec = spec
        rule.track.levels = spec.levels

    # -- acknowledgement and snapshots --------------------------------------------------
    def _lifecycle(self, rule: str) -> AlertLifecycle:
        if rule in self._rules:
            return self._rules[rule].life
        if rule == "hemolysis":
            return self._hemolysis.life
        if rule == "data_stale":
            return self._stale
        raise ValueError(f"Unknown rule {rule!r}; the rules are {', '.join(RULE_IDS)}.")

    def acknowledge(
        self, rule: str, user: str, role: str, time: float, note: str = ""
    ) -> Acknowledgement:
        """Acknowledge ``rule``'s alert; NothingToAcknowledge if none is waiting."""
        return self._lifecycle(rule).acknowledge(time, user, role, note)

    def alerts(self, include_pending: bool = False) -> list[AlertState]:
        """Alerts to show now, most urgent first (pending ones too on request)."""
        out: list[AlertState] = []
        for rule in self._rules.values():
            life, spec = rule.life, rule.spec
            live = rule.inputs is not None and life.level
            message = spec.describe(spec.threshold_of(life.level), *rule.inputs) if live else ""
            state = life.snapshot(rule.value, message or life.message)
            if state is not None:
                out.append(state)
            elif include_pending and life.pending and rule.inputs is not None:
                threshold = spec.threshold_of(life.pending)
                out.append(
                    AlertState(
                        spec.rule, Priority.of_level(life.pending), "pending", False,
                        self._last_t or 0.0, rule.value, threshold,
                        spec.describe(threshold, *rule.inputs),
                    )
                )  # fmt: skip
        hemolysis = self._hemolysis
        for life, value in ((hemolysis.life, hemolysis.markers.value), (self._stale, None)):
            state = life.snapshot(value, life.message)
            if state is not None:
                out.append(state)
        return sorted(out, key=lambda a: (-a.priority.level, a.state == "cleared", a.since))

    def baseline(self) -> Baseline:
        """The delta P baseline in force (or being collected), with the rise now."""
        rule = self._rules["delta_p_rise"]
        base = self._baseline.current
        if base.resistance is None or rule.inputs is None:
            return base
        delta_p, flow = rule.inputs[:2]
        return base.with_now(delta_p, flow)

    def baselines(self) -> list[Baseline]:
        """Every baseline established so far, oldest first."""
        return list(self._baseline.history)

    def episodes(self) -> list[Episode]:
        """Every episode so far (end None while still active), in time order."""
        tracks = [rule.track for rule in self._rules.values()]
        tracks += [self._hemolysis.track, self._stale_track]
        return sorted((e for track in tracks for e in track.episodes()), key=sort_key)


def _in_range(value: float, reader: Sequence) -> float | None:
    return value if reader[2] <= value <= reader[3] else None


def _read(values, mask: int, reader: Sequence) -> float | None:
    """A channel's value if present, plausible and not marked as an artifact."""
    value = values.get(reader[0])
    if value is None or not reader[2] <= value <= reader[3] or (mask >> reader[1]) & 1:
        return None
    return value
