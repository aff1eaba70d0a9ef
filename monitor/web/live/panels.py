"""Rendering the header, value tiles and alerts panel from session snapshots.

Pure functions: snapshot in, Dash components out. No clinical logic here; priorities,
states and messages come from the rules engine as they are.
"""

from __future__ import annotations

from dash import html

from adapters import CHANNEL_BY_NAME, SourceState
from monitor.present import age_text, clock_text
from monitor.runtime import RecorderStatus, SessionSnapshot
from monitor.store import LogEntry
from rules import RULE_CHANNELS, AlertState, Baseline, DerivedValue, Forecast, rule_title

STATE_TEXT = {
    SourceState.CONNECTING: "connecting",
    SourceState.RECEIVING: "receiving",
    SourceState.NO_DATA: "NO DATA",
    SourceState.DISCONNECTED: "DISCONNECTED",
    SourceState.PAUSED: "paused",
    SourceState.FINISHED: "replay finished",
    SourceState.STOPPED: "stopped",
}
#: Titles of the session's own technical alarms (the rules' titles come from rules).
TECHNICAL_TITLES = {
    "recording_stopped": "Recording stopped",
    "alarm_log_stopped": "Alarm log not written",
    "broker_unreachable": "Central station link lost",
}
TILES: tuple[tuple[str, str], ...] = (
    ("blood_flow_lpm", "{:.2f}"),
    ("pump_speed_rpm", "{:.0f}"),
    ("p_venous_mmhg", "{:.0f}"),
    ("p_pre_oxy_mmhg", "{:.0f}"),
    ("p_post_oxy_mmhg", "{:.0f}"),
    ("delta_p_mmhg", "{:.0f}"),
    ("svo2_pct", "{:.0f}"),
    ("hb_g_dl", "{:.1f}"),
    ("sweep_gas_lpm", "{:.1f}"),
    ("plasma_free_hb_mg_dl", "{:.0f}"),
)


def title(rule: str) -> str:
    """A rule's (or a technical alarm's) title in words."""
    return TECHNICAL_TITLES.get(rule) or rule_title(rule)


def header(snapshot: SessionSnapshot, now: float | None = None, links: dict | None = None) -> list:
    age = snapshot.frame_age(now)
    state = snapshot.source.state
    parts = [
        html.Span(snapshot.bed_label, className="bed", id="bed-label"),
        html.Span(
            f"{snapshot.weight_kg:g} kg" if snapshot.weight_kg else "weight not set",
            id="weight",
        ),
        html.Span(snapshot.source.description, id="source-description"),
        html.Span(
            STATE_TEXT.get(state, str(state)),
            id="connection-state",
            className="state stale" if snapshot.stale else "state",
            **{"data-state": str(state)},
        ),
        html.Span(
            "no frame yet" if age is None else f"newest frame {age:.1f} s ago",
            id="frame-age",
        ),
        html.Span(
            f"frames {snapshot.source.good_frames}, rejected {snapshot.source.bad_frames}",
            id="frame-counts",
            title="\n".join(snapshot.source.recent_problems[-10:]),
        ),
    ]
    if snapshot.recorder is not None:
        parts.append(recorder_state(snapshot.recorder))
    if snapshot.store_error:
        parts.append(html.Span(snapshot.store_error, id="store-state", className="stale"))
    for name, status in (links or {}).items():  # the HL7 link: its queue, its oldest message
        parts.append(
            html.Span(
                status.summary(),
                id=f"link-{name}",
                className="state" if status.connected else "state stale",
                **{"data-queued": str(status.queued)},
            )
        )
    return parts


def recorder_state(rec: RecorderStatus) -> html.Span:
    """The recording: its file, its outage (retrying, frames held) or where it went on."""
    if rec.error:
        text = rec.error
        if rec.held or rec.frames_lost:
            lost = f", {rec.frames_lost} not recorded" if rec.frames_lost else ""
            text += f" {rec.held} frames held in memory{lost}."
    else:
        text = rec.resumed_text or f"recording {rec.path.name if rec.path else ''}"
    earlier = ", ".join(path.name for path in rec.previous_paths)
    return html.Span(
        text,
        id="recorder-state",
        className="stale" if rec.error else "recording",
        title=f"earlier files of this session: {earlier}" if earlier else None,
    )


def tiles(
    latest: dict | None,
    alerts: list[AlertState],
    baseline: Baseline,
    weight_kg: float | None,
    forecast: Forecast | None = None,
) -> list:
    latest = latest or {}
    worst: dict[str, AlertState] = {}
    for alert in alerts:
        for column in RULE_CHANNELS.get(alert.rule, ()):
            held = worst.get(column)
            if held is None or alert.priority.level > held.priority.level:
                worst[column] = alert
    out = []
    for column, fmt in TILES:
        channel = CHANNEL_BY_NAME[column]
        value = latest.get(column, float("nan"))
        if column in ("plasma_free_hb_mg_dl",):
            value = latest.get("lab:" + column, float("nan"))
        text = "--" if value != value else fmt.format(value)
        extra = ""
        if column == "blood_flow_lpm" and weight_kg and value == value:
            extra = f"{value * 1000 / weight_kg:.0f} mL/kg/min"
        elif column == "delta_p_mmhg":
            extra = _baseline_text(baseline)
            if forecast is not None:  # advice, beside the baseline: not an alarm
                extra = [
                    extra,
                    html.Div(
                        forecast.text(),
                        className="tile-forecast",
                        id="delta-p-forecast",
                        **{"data-eta": "" if forecast.eta is None else repr(forecast.eta)},
                    ),
                ]
        classes = ["tile"]
        alert = worst.get(column)
        if alert is not None:
            classes.append(f"priority-{alert.priority}")
            if alert.state != "acknowledged" and alert.priority in ("high", "medium"):
                classes.append("unacknowledged")
        out.append(
            html.Div(
                [
                    html.Div(channel.label, className="tile-label"),
                    html.Div(
                        [
                            html.Span(text, className="tile-value"),
                            html.Span(channel.unit, className="tile-unit"),
                        ]
                    ),
                    html.Div(extra, className="tile-extra"),
                ],
                className=" ".join(classes),
                id=f"tile-{column}",
                **{
                    "data-value": "" if value != value else repr(value),
                    "data-priority": alert.priority if alert else "none",
                },
            )
        )
    return out


def _baseline_text(baseline: Baseline) -> str:
    if baseline.state != "established":
        return (
            "baseline: collecting"
            if baseline.state == "collecting"
            else "baseline: waiting for data"
        )
    scaled = baseline.scaled_mmhg
    rise = baseline.rise_mmhg
    parts = []
    if scaled is not None:
        parts.append(f"baseline {scaled:.0f}")
    if rise is not None:
        parts.append(f"rise {rise:+.0f} mmHg")
    parts.append(f"R {baseline.resistance:.1f} mmHg/(L/min)")
    return ", ".join(parts)


def derived_rows(values: list[DerivedValue], max_age_min: float) -> list:
    """The derived values at hand, each with its unit and the inputs it came from."""
    if not values:
        return [
            html.Div(
                "No derived values at hand: they need blood flow and delta P, sweep and "
                f"exhaust CO2, or blood gases no older than {max_age_min:g} min.",
                className="no-derived",
                id="no-derived",
            )
        ]
    return [
        html.Div(
            [
                html.Span(v.label, className="derived-label"),
                html.Span(v.text, className="derived-value"),
                html.Span(v.unit, className="derived-unit"),
                html.Div(v.inputs, className="derived-inputs"),
            ],
            className="derived-row",
            id=f"derived-{v.key}",
            **{"data-key": v.key, "data-value": repr(v.value)},
        )
        for v in values
    ]


def sound_priority(alerts: list[AlertState]) -> str:
    """The highest priority among alerts nobody has acknowledged yet ("none" if none)."""
    waiting = [a for a in alerts if a.state != "acknowledged"]
    if not waiting:
        return "none"
    return max(waiting, key=lambda a: a.priority.level).priority.value


def alert_rows(alerts: list[AlertState], now: float) -> list:
    if not alerts:
        return [html.Div("No active alerts.", className="no-alerts", id="no-alerts")]
    rows = []
    for alert in alerts:  # in the rules' order (rules.alert_sort_key)
        state = alert.state
        detail = f"{state} since {clock_text(alert.since)} UTC ({age_text(now - alert.since)})"
        if alert.acknowledgement is not None:
            ack = alert.acknowledgement
            detail += f"; acknowledged by {ack.user} ({ack.role}) at {clock_text(ack.time)}"
            if ack.note:
                detail += f": {ack.note}"
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(alert.priority.value.upper(), className="alert-priority"),
                            html.Span(title(alert.rule), className="alert-rule"),
                        ]
                    ),
                    html.Div(alert.message, className="alert-message"),
                    html.Div(detail, className="alert-detail"),
                    html.Button(
                        "Acknowledge",
                        id={"type": "ack", "rule": alert.rule},
                        className="ack-button",
                        disabled=state == "acknowledged",
                        **{"data-action": "acknowledge"},
                    ),
                ],
                className=f"alert-row priority-{alert.priority} state-{state}"
                + (" unacknowledged" if state != "acknowledged" else ""),
                **{
                    "data-rule": alert.rule,
                    "data-priority": alert.priority.value,
                    "data-state": state,
                },
            )
        )
    return rows


def history_rows(entries: list[LogEntry]) -> list:
    if not entries:
        return [html.Li("Nothing logged yet.")]
    out = []
    for entry in entries:
        who = f" by {entry.user} ({entry.role})" if entry.user else ""
        note = f": {entry.note}" if getattr(entry, "note", None) else ""
        out.append(
            html.Li(
                f"{clock_text(entry.time)} {entry.priority} {title(entry.rule)} "
                f"{entry.state}{who}{note}",
                className=f"history-{entry.state}",
                **{"data-rule": entry.rule, "data-state": entry.state},
            )
        )
    return out
