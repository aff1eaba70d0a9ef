"""The Dash page for one bed: header, value tiles, alerts, trends, actions, sound.

Callbacks only read session snapshots; they never touch a device. Each refresh sends
only the frames after the browser's sequence cursor (``extendData``), so a missed refresh
loses nothing and bytes per refresh do not grow with the history. Every callback that
changes state checks the signed-in user's role on the server (:func:`auth.require`).
"""

from __future__ import annotations

import logging
import time

import flask
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from . import panels, qa
from .auth import AuthError, User, Users, require
from .catalog import Catalog
from .figures import TRACE_KEYS, trace_points
from .layout import (
    DEFAULT_WINDOW,
    RAW_LIMIT,
    REDRAW_ABOVE,
    WINDOWS,
    full_figure,
    login_area,
    page_layout,
    resistance_at,
)
from .session import ActionError, Session, SessionRegistry

log = logging.getLogger("ecmo_monitor.app")


def create_app(
    registry: SessionRegistry,
    users: Users | None = None,
    secret: bytes | None = None,
    dev: bool = False,
    catalog: Catalog | None = None,
) -> Dash:
    """The Dash application: the bedside view of a bed, and the QA workspace."""
    app = Dash(__name__, title="ecmo-monitor", update_title=None, suppress_callback_exceptions=True)
    app.enable_dev_tools(debug=dev, dev_tools_ui=dev, dev_tools_hot_reload=False)
    server = app.server
    server.secret_key = secret or __import__("secrets").token_bytes(32)
    server.config.update(
        SESSION_COOKIE_NAME="ecmo_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=1 << 20,  # no page request needs more than a megabyte
    )

    def session(bed: object = None) -> Session:
        return registry.find(bed)

    def current_user() -> User | None:
        if not flask.has_request_context():
            return None
        name = flask.session.get("user")
        if not name or users is None:
            return None
        role = users.role_of(name)  # read on every request: a removed user loses access
        return User(name, role) if role else None

    app.layout = lambda: page_layout(session(), current_user())

    # -- status: header, tiles, alerts, sound -------------------------------------------
    @app.callback(
        Output("header", "children"),
        Output("tiles", "children"),
        Output("alerts", "children"),
        Output("alert-history", "children"),
        Output("sound-holder", "children"),
        Output("panel-signature", "data"),
        Input("refresh", "n_intervals"),
        State("panel-signature", "data"),
        State("bed", "data"),
    )
    def refresh_status(_n, signature, bed):
        s = session(bed)
        snap = s.snapshot()
        alerts = s.alerts()
        baseline = s.baseline()
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
            panels.header(snap),
            panels.tiles(latest, alerts, baseline, s.weight_kg),
            panels.alert_rows(alerts, now_session) if changed else no_update,
            panels.history_rows(history) if changed else no_update,
            sound,
            new_signature,
        )

    # -- trends ----------------------------------------------------------------------------
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
        s = session(bed)
        seconds = (window or {}).get("seconds", DEFAULT_WINDOW)
        cursor = cursor or {}
        if (
            cursor.get("bed") not in (None, s.bed_id)
            or int(cursor.get("seq", 0)) > s.buffer.last_seq
        ):
            cursor = {"seq": 0, "t": None, "appended": 0, "force": True}  # another bed or replay
        seq = int(cursor.get("seq", 0))
        new = s.buffer.since(seq, limit=REDRAW_ABOVE + 1)
        in_window = s.buffer.count_window(seconds)
        appended = int(cursor.get("appended", 0)) + len(new)
        # the figure records the window it was drawn for; a refresh that overtakes the
        # window change in flight must still redraw, so this is state, not the trigger
        redraw = (
            cursor.get("window", DEFAULT_WINDOW) != seconds
            or cursor.get("force")
            or len(new) > REDRAW_ABOVE
            or (len(new) and (new["event"] != "").any())
            or (in_window > RAW_LIMIT and appended > RAW_LIMIT // 4)
        )
        if redraw:
            figure = full_figure(s, seconds)
            return (
                no_update,
                figure,
                {
                    "seq": s.buffer.last_seq,
                    "t": None,
                    "appended": 0,
                    "bed": s.bed_id,
                    "window": seconds,
                },
            )
        if new.empty:
            return no_update, no_update, no_update
        points = trace_points(new, resistance_at(s), downsample=False, previous_ms=cursor.get("t"))
        xs = [points[key][0] for key in TRACE_KEYS]
        ys = [points[key][1] for key in TRACE_KEYS]
        keep = max(in_window + in_window // 10 + 10, 10) if in_window <= RAW_LIMIT else None
        extend = [{"x": xs, "y": ys}, list(range(len(TRACE_KEYS)))]
        if keep is not None:
            extend.append(keep)
        last_t = float(new["timestamp"].iloc[-1].timestamp() * 1000.0)
        return (
            extend,
            no_update,
            {
                "seq": int(new["seq"].iloc[-1]),
                "t": last_t,
                "appended": appended,
                "bed": s.bed_id,
                "window": seconds,
            },
        )

    @app.callback(
        Output("window", "data"),
        Output({"type": "window", "seconds": ALL}, "className"),
        Input({"type": "window", "seconds": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose_window(_clicks):
        chosen = ctx.triggered_id["seconds"]
        seconds = None if chosen == "None" else float(chosen)
        classes = [
            "window-button" + (" selected" if str(value) == chosen else "")
            for _label, value in WINDOWS
        ]
        return {"seconds": seconds}, classes

    # -- sign in and out -------------------------------------------------------------------
    @app.callback(
        Output("user-area", "children"),
        Input("login-submit", "n_clicks"),
        Input("logout", "n_clicks"),
        State("login-user", "value"),
        State("login-pin", "value"),
        prevent_initial_call=True,
    )
    def sign_in(_login, _logout, name, pin):
        if ctx.triggered_id == "logout":
            flask.session.clear()
            return login_area(None)
        if users is None:
            area = login_area(None)
            area[-1] = html.Span(
                "Sign-in is not available.", id="login-message", className="message"
            )
            return area
        try:
            user = users.authenticate(str(name or "")[:40], str(pin or "")[:12])
        except AuthError as exc:
            area = login_area(None)
            area[-1] = html.Span(str(exc), id="login-message", className="message error")
            return area
        flask.session.clear()
        flask.session["user"] = user.name
        return login_area(user)

    # -- acknowledgement ---------------------------------------------------------------------
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
            user = require(current_user(), "acknowledge")
            ack = session(bed).acknowledge(rule, user.name, user.role, str(note or "")[:200])
        except (AuthError, ActionError) as exc:
            return html.Span(
                str(exc), className="error", id="ack-result", **{"data-result": "refused"}
            )
        return html.Span(
            f"{panels.RULE_LABEL.get(rule, rule)} acknowledged by {ack.user} at {panels.clock(ack.time)} UTC.",
            id="ack-result",
            **{"data-result": "acknowledged"},
        )

    # -- specialist actions -------------------------------------------------------------------
    @app.callback(
        Output("action-message", "children"),
        Input("event-submit", "n_clicks"),
        Input("lab-submit", "n_clicks"),
        Input("baseline-reset", "n_clicks"),
        Input("weight-submit", "n_clicks"),
        Input("flow-min-submit", "n_clicks"),
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
        needed = {
            "event-submit": "record_event",
            "lab-submit": "enter_lab",
            "baseline-reset": "reset_baseline",
            "weight-submit": "settings",
            "flow-min-submit": "settings",
        }.get(action)
        if needed is None:
            return no_update
        s = session(bed)
        try:
            user = require(current_user(), needed)
            if action == "event-submit":
                s.record_event(str(kind), user.name, str(event_note or ""))
                text = f"Event {str(kind).replace('_', ' ')} recorded by {user.name}."
            elif action == "lab-submit":
                value = _number(lab_value, "lab value")
                s.enter_lab(str(analyte), value, user.name)
                text = f"{analyte} = {value:g} entered by {user.name}."
            elif action == "baseline-reset":
                s.reset_baseline(user.name)
                text = f"Delta P baseline reset by {user.name}; a new one is collected over 30 min."
            elif action == "weight-submit":
                value = _number(weight, "weight") if weight not in (None, "") else None
                s.set_weight(value, user.name)
                text = f"Weight set to {value:g} kg by {user.name}." if value else "Weight cleared."
            else:
                value = _number(flow_min, "flow minimum") if flow_min not in (None, "") else None
                s.set_flow_minimum(value, user.name)
                text = (
                    f"Flow minimum set to {value:g} mL/kg/min by {user.name}."
                    if value
                    else "Flow minimum reset."
                )
        except (AuthError, ActionError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        return html.Span(text, **{"data-result": "done"})

    live = registry.first()
    qa.register(app, registry, catalog or Catalog({}), current_user, live.store, live.engine.config)

    @server.route("/api/status")
    def status():  # read-only health check for scripts and tests
        snap = session().snapshot()
        return {
            "bed": snap.bed_id,
            "source": snap.source.description,
            "state": str(snap.source.state),
            "good_frames": snap.source.good_frames,
            "bad_frames": snap.source.bad_frames,
            "reconnects": snap.source.reconnects,
            "last_seq": snap.last_seq,
            "newest_frame_time": snap.newest_frame_time,
            "frame_age_s": snap.frame_age(),
            "recording": None if snap.recorder is None else str(snap.recorder.path),
            "recording_error": None if snap.recorder is None else snap.recorder.error,
            "alerts": [
                {
                    "rule": a.rule,
                    "priority": a.priority.value,
                    "state": a.state,
                    "message": a.message,
                }
                for a in session().alerts()
            ],
            "time": time.time(),
        }

    return app


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
