"""The central overview: one tile per bed, worst first, and the same facts as JSON.

A tile shows the bed's label, weight, flow (and mL/kg/min), delta P rise over its
baseline, its active alerts and their states, and the age of its newest frame; it is
coloured by the bed's worst alert (IEC colours, flashing while unacknowledged) and says
NO DATA when the bed's heartbeat stopped. The facts are the bed's own: its heartbeat
carries its alerts and its delta P rise, worked out by its rules.
"""

from __future__ import annotations

import math
import time

from dash import html

from adapters import CHANNEL_BY_NAME, epoch_seconds
from monitor.central import NO_DATA, CentralStation, RemoteBed
from rules import Priority, rule_title

_CLEARED = "cleared"


def _level(priority: str) -> int:
    return Priority(priority).level


def worst(remote: RemoteBed, now: float | None = None) -> tuple[int, bool]:
    """(worst priority level of its alerts, any unacknowledged); NO DATA counts as high."""
    if remote.state(now) == NO_DATA:
        return Priority.HIGH.level, True
    alerts = remote.status.alerts if remote.status else ()
    live = [a for a in alerts if a.state in ("active", "acknowledged", _CLEARED)]
    if not live:
        return 0, False
    level = max(_level(a.priority) for a in live)
    return level, any(a.state != "acknowledged" for a in live)


def sound_priority(station: CentralStation, now: float | None = None) -> str:
    """The priority the central sounds: the worst unacknowledged of any bed (``none``)."""
    levels = [level for level, open_ in (worst(r, now) for r in station.beds()) if open_ and level]
    return str(Priority.of_level(max(levels))) if levels else "none"


def sorted_beds(station: CentralStation, now: float | None = None) -> list[RemoteBed]:
    return sorted(station.beds(), key=lambda r: (-worst(r, now)[0], r.label, r.bed))


def latest_values(remote: RemoteBed) -> dict[str, float]:
    latest = remote.buffer.latest()
    if latest is None:
        return {}
    return {
        name: value
        for name, value in latest.items()
        if name in CHANNEL_BY_NAME and isinstance(value, float) and not math.isnan(value)
    }


def beds_payload(station: CentralStation) -> dict:
    """``GET /api/beds`` (the issue's contract)."""
    now = time.monotonic()
    beds = []
    for remote in sorted_beds(station, now):
        status = remote.status
        beds.append(
            {
                "bed": remote.bed,
                "label": remote.label,
                "state": remote.state(now),
                "frame_age_s": remote.frame_age(now),
                "newest_frame_time": status.newest_frame_time if status else None,
                "values": latest_values(remote),
                "alerts": [
                    {"rule": a.rule, "priority": a.priority, "state": a.state, "since": a.since}
                    for a in (status.alerts if status else ())
                ],
            }
        )
    return {"beds": beds}


def bed_history(remote: RemoteBed, seconds: float | None) -> dict:
    """``GET /api/beds/<bed>/history``: the frames the station holds and the alarm log rows."""
    frames = remote.buffer.window(seconds)
    times = epoch_seconds(frames["timestamp"]) if len(frames) else []
    return {
        "bed": remote.bed,
        "last_seq": remote.last_seq,
        "frames": len(frames),
        "time": [round(float(t), 3) for t in times],
        "blood_flow_lpm": [None if math.isnan(v) else v for v in frames["blood_flow_lpm"].tolist()],
        "alarms": [
            {
                "id": a.ident,
                "time": a.time,
                "rule": a.rule,
                "priority": a.priority,
                "state": a.state,
            }
            for a in remote.alarms
        ],
    }


def _number(value: float | None, unit: str, digits: int = 0) -> str:
    return "--" if value is None else f"{value:.{digits}f} {unit}"


def tile(remote: RemoteBed, now: float | None = None) -> html.Div:
    state = remote.state(now)
    level, unacknowledged = worst(remote, now)
    status = remote.status
    values = latest_values(remote)
    flow = values.get("blood_flow_lpm")
    weight = status.weight_kg if status else None
    per_kg = f" ({flow * 1000 / weight:.0f} mL/kg/min)" if flow is not None and weight else ""
    age = remote.frame_age(now)
    classes = ["tile", "bed-tile"]
    if level:
        classes.append(f"priority-{Priority.of_level(level)}")
        if unacknowledged:
            classes.append("unacknowledged")
    alerts = [
        html.Li(
            [
                html.Span(f"{rule_title(a.rule)}: {a.state}"),
                *(
                    [
                        html.Button(
                            "Acknowledge",
                            id={"type": "central-ack", "bed": remote.bed, "rule": a.rule},
                        )
                    ]
                    if a.state in ("active", _CLEARED) and not a.technical
                    else []
                ),
            ],
            className=f"alert-row priority-{a.priority} {a.state}",
            **{"data-rule": a.rule, "data-state": a.state, "data-priority": a.priority},
        )
        for a in (status.alerts if status else ())
    ]
    return html.Div(
        [
            html.Div(remote.label, className="tile-label"),
            html.Div(
                "NO DATA" if state == NO_DATA else state.replace("_", " "), className="bed-state"
            ),
            html.Div(f"Flow {_number(flow, 'L/min', 2)}{per_kg}", className="bed-flow"),
            html.Div(
                f"Delta P rise {_number(status.delta_p_rise if status else None, 'mmHg')}",
                className="bed-dp",
            ),
            html.Div(f"Weight {_number(weight, 'kg', 1)}", className="bed-weight"),
            html.Ul(
                alerts or [html.Li("no alerts", className="no-alerts")], className="bed-alerts"
            ),
            html.Div(
                "no frame yet" if age is None else f"newest frame {age:.0f} s ago",
                className="bed-age",
            ),
        ],
        className=" ".join(classes),
        id={"type": "bed-tile", "bed": remote.bed},
        **{"data-bed": remote.bed, "data-state": state, "data-level": str(level)},
    )


def overview(station: CentralStation) -> list:
    now = time.monotonic()
    beds = sorted_beds(station, now)
    if not beds:
        return [html.Div("No bed has published yet.", className="message")]
    return [tile(remote, now) for remote in beds]
