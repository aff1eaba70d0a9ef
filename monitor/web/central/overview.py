"""The central overview: one tile per bed, worst first, and the same facts as JSON.

A tile shows the bed's label, weight, flow (and mL/kg/min), delta P rise over its
baseline, its active alerts and their states, and the age of its newest frame; it is
coloured by the bed's worst alert (IEC colours, flashing while unacknowledged) and says
NO DATA when the bed's heartbeat stopped. The facts are the bed's own: its heartbeat
carries its alerts and its delta P rise, worked out by its rules.
"""

from __future__ import annotations

import hashlib
import math
import time

from dash import Patch, html, no_update

from adapters import CHANNEL_BY_NAME, epoch_seconds
from monitor.central import NO_DATA, CentralStation, RemoteBed
from rules import Priority, RulesConfig, rule_title

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


def live_values(remote: RemoteBed, now: float | None = None) -> list[str]:
    """The tile's lines that change with every frame: flow (and per kg), delta P rise,
    frame age."""
    status = remote.status
    flow = latest_values(remote).get("blood_flow_lpm")
    weight = status.weight_kg if status else None
    per_kg = f" ({flow * 1000 / weight:.0f} mL/kg/min)" if flow is not None and weight else ""
    age = remote.frame_age(now)
    return [
        f"Flow {_number(flow, 'L/min', 2)}{per_kg}",
        f"Delta P rise {_number(status.delta_p_rise if status else None, 'mmHg')}",
        "no frame yet" if age is None else f"newest frame {age:.0f} s ago",
    ]


def tile_facts(remote: RemoteBed, now: float | None = None) -> tuple:
    """What a tile is drawn from besides its live values: when these change it is redrawn."""
    status = remote.status
    alerts = tuple(
        (a.rule, a.priority, a.state, a.technical) for a in (status.alerts if status else ())
    )
    return (remote.label, remote.state(now), *worst(remote, now),
            status.weight_kg if status else None, alerts)  # fmt: skip


def signature(facts: tuple) -> str:
    return hashlib.blake2s(repr(facts).encode(), digest_size=6).hexdigest()


def tile(remote: RemoteBed, now: float | None = None, rank: int = 0) -> html.Div:
    """A bed's tile, in few components (a page of a hundred tiles stays quick to update):
    its label, a block of text lines, an empty box the browser fills with the live lines
    and sparklines (``assets/central.js``), and its alerts with their buttons."""
    label, state, level, unacknowledged, weight, alerts = tile_facts(remote, now)
    classes = ["tile", "bed-tile"]
    if level:
        classes.append(f"priority-{Priority.of_level(level)}")
        if unacknowledged:
            classes.append("unacknowledged")
    rows = [
        html.Li(
            [
                f"{rule_title(rule)}: {a_state}",
                *(
                    [
                        html.Button(
                            "Acknowledge",
                            id={"type": "central-ack", "bed": remote.bed, "rule": rule},
                        )
                    ]
                    if a_state in ("active", _CLEARED) and not technical
                    else []
                ),
            ],
            className=f"alert-row priority-{priority} {a_state}",
            **{"data-rule": rule, "data-state": a_state, "data-priority": priority},
        )
        for rule, priority, a_state, technical in alerts
    ]
    shown_state = "NO DATA" if state == NO_DATA else state.replace("_", " ")
    return html.Div(
        [
            html.Div(label, className="tile-label"),
            html.Div(f"{shown_state}\nWeight {_number(weight, 'kg', 1)}", className="bed-static"),
            html.Div(className="bed-live"),
            html.Ul(rows, className="bed-alerts") if rows
            else html.Div("no alerts", className="no-alerts"),
        ],
        className=" ".join(classes),
        id={"type": "bed-tile", "bed": remote.bed},
        style={"order": rank},
        **{"data-bed": remote.bed, "data-state": state, "data-level": str(level)},
    )  # fmt: skip


def spark_message(station: CentralStation, config: RulesConfig, had: dict) -> dict | None:
    """The sparklines a page needs, given the minute each bed's points are of there (``had``).

    Each bed's sparkline ends at the minute of its newest frame. A bed whose page points
    are one minute behind, its older points unchanged, gets its newest point; a bed that is
    further behind, or new, or whose older points changed (frames that came late) gets its
    whole hour; a bed up to date gets nothing. None when no bed needs anything.
    """
    beds, add = {}, {}
    for remote in station.beds():
        newest, earlier = remote.sparkline(config)
        if newest is None or had.get(remote.bed) == newest.minute:
            continue
        if (
            earlier is not None
            and had.get(remote.bed) == earlier.minute
            and newest.follows(earlier)
        ):
            add[remote.bed] = [newest.minute, newest.flow[-1], newest.rise[-1]]
        else:
            beds[remote.bed] = [newest.minute, list(newest.flow), list(newest.rise)]
    if not beds and not add:
        return None
    limits = {"rise": [config.delta_p_rise.medium_mmhg, config.delta_p_rise.high_mmhg]}
    return {"beds": beds, "add": add, "limits": limits}


def _held(have, ids: list[str]) -> dict:
    """What the page says it holds, if it is what this sends (the page's store comes back
    in its request, so it is outside input); else nothing, and every tile goes again."""
    if not isinstance(have, dict) or have.get("beds") != ids:
        return {}
    sig, minutes = have.get("sig"), have.get("m")
    if not isinstance(sig, list) or len(sig) != len(ids) or not isinstance(minutes, dict):
        return {}
    return {"beds": ids, "sig": sig, "m": {b: m for b, m in minutes.items() if type(m) is int}}


def refresh(
    station: CentralStation,
    have: dict | None,
    config: RulesConfig,
    now: float | None = None,
) -> tuple:
    """The overview's outputs for a page that holds ``have`` (what this sent it before):
    (tiles, live values, sparklines, new ``have``), each ``no_update`` when unchanged.

    The tiles stay in the page in the order of their bed ids and are shown worst first by
    their CSS order, so a change of order moves no tile: only a tile whose alerts, state or
    weight changed is sent again (a ``Patch`` of its place), all of them only when a bed
    came or went. The numbers that change with every frame go in one small store that the
    browser writes into the tiles (``assets/central.js``), as do the sparklines.
    """
    now = time.monotonic() if now is None else now
    ranked = sorted_beds(station, now)
    rank = {remote.bed: i for i, remote in enumerate(ranked)}
    beds = sorted(ranked, key=lambda r: r.bed)
    ids = [r.bed for r in beds]
    sigs = [signature(tile_facts(r, now)) for r in beds]
    have = _held(have, ids)
    full = not have
    if not beds:
        tiles = [html.Div("No bed has published yet.", className="message")]
    elif full:
        tiles = [tile(r, now, rank[r.bed]) for r in beds]
    else:
        tiles = Patch()
        changed = [
            i for i, (old, new) in enumerate(zip(have["sig"], sigs, strict=True)) if old != new
        ]
        for i in changed:
            tiles[i] = tile(beds[i], now, rank[beds[i].bed])
        tiles = tiles if changed else no_update
    values = {"v": {r.bed: [*live_values(r, now), rank[r.bed]] for r in beds}}
    had = have.get("m", {})
    spark = spark_message(station, config, had)
    minutes = {b: m for b, m in had.items() if b in rank}
    for bed, points in (spark or {}).get("beds", {}).items():
        minutes[bed] = points[0]
    for bed, point in (spark or {}).get("add", {}).items():
        minutes[bed] = point[0]
    new_have = {"beds": ids, "sig": sigs, "m": minutes}
    return (tiles, values, no_update if spark is None else spark,
            no_update if new_have == have else new_have)  # fmt: skip
