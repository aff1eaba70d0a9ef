"""The bedside view's callbacks: status panels, trends, acknowledgement, specialist actions.

Callbacks only read session snapshots; they never touch a device. Each trend refresh
sends only the frames after the browser's sequence cursor (``extendData``), so a missed
refresh loses nothing and bytes per refresh do not grow with the history. Every callback
that changes state checks the signed-in user's role on the server.
"""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from monitor.present import TRACE_KEYS, clock_text, trace_points
from monitor.runtime import ActionError, Session
from monitor.store import AuthError
from monitor.web.access import Access
from monitor.web.live import panels
from monitor.web.live.figures import TrendSettings, full_figure
from monitor.web.live.layout import DEFAULT_WINDOW, RAW_LIMIT, REDRAW_ABOVE, WINDOWS
from rules import rule_title, shown_forecast


def register(app: Dash, access: Access) -> None:
    """Every callback of the bedside view."""
    app.clientside_callback(  # showing a view is the browser's business, no round trip
        """function (tab) {
            const shown = {display: "block"}, hidden = {display: "none"};
            return tab === "qa" ? [hidden, shown] : [shown, hidden];
        }""",
        Output("bedside-view", "style"),
        Output("qa-view", "style"),
        Input("tabs", "value"),
    )
    _register_status(app, access)
    _register_trends(app, access)
    _register_acknowledge(app, access)
    _register_actions(app, access)


def _register_status(app: Dash, access: Access) -> None:
    @app.callback(
        Output("header", "children"),
        Output("tiles", "children"),
        Output("derived", "children"),
        Output("alerts", "children"),
        Output("alert-history", "children"),
        Output("sound-holder", "children"),
        Output("panel-signature", "data"),
        Input("refresh", "n_intervals"),
        State("panel-signature", "data"),
        State("bed", "data"),
    )
    def refresh_status(_n, signature, bed):
        s = access.session(bed)
        alerts = s.alerts()
        now_session = s.now()
        latest = s.buffer.latest() or {}
        pfhb = s.buffer.latest_value("plasma_free_hb_mg_dl")
        if pfhb is not None:
            latest["lab:plasma_free_hb_mg_dl"] = pfhb[0]
        history = s.store.alarm_log(limit=30) if s.store is not None else []
        new_signature = repr(
            (
                s.bed_id,
                [
                    (a.rule, a.priority, a.state, a.message, int((now_session - a.since) // 60))
                    for a in alerts
                ],
                [h.id for h in history],
            )
        )
        changed = new_signature != signature
        sound = html.Div(id="sound-state", **{"data-priority": panels.sound_priority(alerts)})
        return (
            panels.header(s.snapshot(), links=s.links()),
            panels.tiles(latest, alerts, s.baseline(), s.weight_kg, shown_forecast(s.forecasts())),
            panels.derived_rows(s.derived_values(), s.engine.config.derived.max_age_min),
            panels.alert_rows(alerts, now_session) if changed else no_update,
            panels.history_rows(history) if changed else no_update,
            sound,
            new_signature,
        )


def _register_trends(app: Dash, access: Access) -> None:
    @app.callback(
        Output("trends", "extendData"),
        Output("trends", "figure"),
        Output("cursor", "data"),
        Input("refresh", "n_intervals"),
        Input("window", "data"),
        State("cursor", "data"),
        State("bed", "data"),
    )
    def refresh_trends(_n, window, cursor, bed):
        s = access.session(bed)
        seconds, cursor = _window_seconds(window), _cursor(cursor)
        if cursor.get("bed") not in (None, s.bed_id) or cursor["seq"] > s.buffer.last_seq:
            cursor = {"seq": 0, "t": None, "appended": 0, "force": True}  # another bed or replay
        seq = cursor["seq"]
        new = s.buffer.since(seq, limit=REDRAW_ABOVE + 1)
        in_window = s.buffer.count_window(seconds)
        appended = cursor["appended"] + len(new)
        # the figure records the window it was drawn for; a refresh that overtakes the
        # window change in flight must still redraw, so this is state, not the trigger
        # a new forecast (a resistance bin closed) redraws its projection
        shown = shown_forecast(s.forecasts())
        projection = None if shown is None or shown.eta is None else round(shown.eta / 60)
        redraw = (
            cursor.get("window", DEFAULT_WINDOW) != seconds
            or cursor.get("force")
            or cursor.get("projection") != projection
            or len(new) > REDRAW_ABOVE
            or (len(new) and (new["event"] != "").any())
            or (in_window > RAW_LIMIT and appended > RAW_LIMIT // 4)
        )
        mark = {"bed": s.bed_id, "window": seconds, "projection": projection}
        if redraw:
            fresh = {"seq": s.buffer.last_seq, "t": None, "appended": 0, **mark}
            return no_update, full_figure(s, seconds), fresh
        if new.empty:
            return no_update, no_update, no_update
        settings = TrendSettings.of_session(s)
        points = trace_points(
            new,
            settings.resistance_at,
            settings.references,
            settings.gap_s,
            downsample=False,
            previous_ms=cursor.get("t"),
        )
        xs = [points[key][0] for key in TRACE_KEYS]
        ys = [points[key][1] for key in TRACE_KEYS]
        keep = max(in_window + in_window // 10 + 10, 10) if in_window <= RAW_LIMIT else None
        extend = [{"x": xs, "y": ys}, list(range(len(TRACE_KEYS)))]
        if keep is not None:
            extend.append(keep)
        last_t = float(new["timestamp"].iloc[-1].timestamp() * 1000.0)
        moved = {"seq": int(new["seq"].iloc[-1]), "t": last_t, "appended": appended, **mark}
        return extend, no_update, moved

    @app.callback(
        Output("window", "data"),
        Output({"type": "window", "seconds": ALL}, "className"),
        Input({"type": "window", "seconds": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose_window(_clicks):
        trigger = ctx.triggered_id
        chosen = trigger.get("seconds") if isinstance(trigger, dict) else None
        if not isinstance(chosen, str) or chosen not in {str(value) for _label, value in WINDOWS}:
            return no_update, no_update  # not one of the page's buttons
        seconds = None if chosen == "None" else float(chosen)
        classes = [
            "window-button" + (" selected" if str(value) == chosen else "")
            for _label, value in WINDOWS
        ]
        return {"seconds": seconds}, classes


def _register_acknowledge(app: Dash, access: Access) -> None:
    @app.callback(
        Output("ack-message", "children"),
        Input({"type": "ack", "rule": ALL}, "n_clicks"),
        State("ack-note", "value"),
        State("bed", "data"),
        prevent_initial_call=True,
    )
    def acknowledge(clicks, note, bed):
        trigger = ctx.triggered_id
        if not trigger or not any(c for c in clicks if c):
            return no_update
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update
        rule = str(trigger["rule"])
        try:
            user = access.require("acknowledge")
            ack = access.session(bed).acknowledge(rule, user.name, user.role, str(note or "")[:200])
        except (AuthError, ActionError) as exc:
            return html.Span(
                str(exc), className="error", id="ack-result", **{"data-result": "refused"}
            )
        return html.Span(
            f"{rule_title(rule)} acknowledged by {ack.user} at {clock_text(ack.time)} UTC.",
            id="ack-result",
            **{"data-result": "acknowledged"},
        )


#: The role each action button needs.
_ACTIONS = {
    "event-submit": "record_event",
    "lab-submit": "enter_lab",
    "baseline-reset": "reset_baseline",
    "weight-submit": "settings",
    "flow-min-submit": "settings",
}


def _register_actions(app: Dash, access: Access) -> None:
    @app.callback(
        Output("action-message", "children"),
        *(Input(button, "n_clicks") for button in _ACTIONS),
        State("event-kind", "value"),
        State("event-note", "value"),
        State("lab-analyte", "value"),
        State("lab-value", "value"),
        State("weight-value", "value"),
        State("flow-min-value", "value"),
        State("bed", "data"),
        prevent_initial_call=True,
    )
    def act(_e, _l, _b, _w, _f, kind, event_note, analyte, lab_value, weight, flow_min, bed):
        action = ctx.triggered_id
        if action not in _ACTIONS:
            return no_update
        s = access.session(bed)
        try:
            user = access.require(_ACTIONS[action])
            text = _carry_out(
                s, user.name, action, kind, event_note, analyte, lab_value, weight, flow_min
            )
        except (AuthError, ActionError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        return html.Span(text, **{"data-result": "done"})


def _carry_out(s: Session, user: str, action, kind, note, analyte, lab_value, weight, flow_min):
    """Do one specialist action on the bed's session; the sentence that confirms it."""
    if action == "event-submit":
        s.record_event(str(kind), user, str(note or ""))
        return f"Event {str(kind).replace('_', ' ')} recorded by {user}."
    if action == "lab-submit":
        value = _number(lab_value, "lab value")
        s.enter_lab(str(analyte), value, user)
        return f"{analyte} = {value:g} entered by {user}."
    if action == "baseline-reset":
        s.reset_baseline(user)
        minutes = s.engine.config.delta_p_rise.baseline_window_min
        return f"Delta P baseline reset by {user}; a new one is collected over {minutes:g} min."
    if action == "weight-submit":
        value = _number(weight, "weight") if weight not in (None, "") else None
        s.set_weight(value, user)
        return f"Weight set to {value:g} kg by {user}." if value else "Weight cleared."
    value = _number(flow_min, "flow minimum") if flow_min not in (None, "") else None
    s.set_flow_minimum(value, user)
    return f"Flow minimum set to {value:g} mL/kg/min by {user}." if value else "Flow minimum reset."


def _window_seconds(window) -> float | None:
    """The window the browser asks for (seconds back, None for all); the default if odd."""
    seconds = window.get("seconds", DEFAULT_WINDOW) if isinstance(window, dict) else None
    if seconds is None and isinstance(window, dict) and "seconds" in window:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        return DEFAULT_WINDOW
    return float(seconds)


def _cursor(cursor) -> dict:
    """The browser's trend cursor with its numbers checked: a malformed one starts afresh."""
    if not isinstance(cursor, dict):
        return {"seq": 0, "appended": 0, "t": None}
    out = dict(cursor)
    for key in ("seq", "appended"):
        value = out.get(key, 0)
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        out[key] = value if ok else 0
    t = out.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or t != t:
        out["t"] = None
    return out


def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise ActionError(f"Enter a number for the {what}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ActionError(f"Enter a number for the {what}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ActionError(f"Enter a finite number for the {what}.")
    return number
