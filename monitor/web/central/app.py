"""The central station's page: every bed's tile, refreshed each second, and ``/api/beds``.

Served by the same hardened server as the bedside page (``monitor.web.app.harden``). On
loopback anyone on this machine may view; bound beyond it, viewing needs a sign-in (many
patients on one screen) unless the station was started with ``--public-view``.
"""

from __future__ import annotations

from pathlib import Path

import flask
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from monitor.central import CentralStation
from monitor.runtime import QaReplays, SessionRegistry
from monitor.store import Users
from monitor.web.access import Access, login_area, register_sign_in
from monitor.web.app import harden
from monitor.web.central import actions, detail
from monitor.web.central.actions import actions_panel
from monitor.web.central.overview import bed_history, beds_payload, refresh, sound_priority
from monitor.web.live.layout import sound_controls
from rules import RulesConfig, load_config

ASSETS = Path(__file__).resolve().parents[1] / "assets"
#: The overview asks for changes this often; a refresh with nothing new is a few hundred
#: bytes, so a bed's new alert shows within about half a second of its heartbeat.
REFRESH_MS = 500


def create_central_app(
    station: CentralStation,
    users: Users | None = None,
    secret: bytes | None = None,
    *,
    public_view: bool = True,
    name: str = "central",
    dev: bool = False,
    secure_cookie: bool = False,
    config: RulesConfig | None = None,
    links=None,
) -> Dash:
    """``links``: the central's HL7 links (``monitor.hl7.ward.WardLinks``), when it has them."""
    app = Dash(
        __name__,
        title=f"ecmo-monitor central: {name}",
        update_title=None,
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
    )
    harden(app, secret, dev, secure_cookie)
    access = Access(SessionRegistry(), users, QaReplays())
    config = config or load_config(None)

    def may_view() -> bool:
        return public_view or access.user() is not None

    def layout():
        return html.Div(
            [
                html.Div(
                    [
                        html.Div(
                            [html.Strong(f"Central station {name}"), html.Span(id="central-state")],
                            className="header",
                        ),
                        html.Div(login_area(access.user()), id="user-area", className="user-area"),
                        sound_controls(),
                    ],
                    className="top",
                ),
                html.Div(
                    html.Div(id="sound-state", **{"data-priority": "none"}), id="sound-holder"
                ),
                html.Div(id="overview", className="tiles overview"),
                dcc.Store(id="overview-have"),  # what the page holds: tiles, sparkline minute
                dcc.Store(id="overview-values"),
                dcc.Store(id="overview-spark"),
                dcc.Store(id="overview-painted"),
                html.Div(id="central-message", className="message"),
                detail.layout(),
                actions_panel([r.bed for r in station.beds()]),
                dcc.Interval(id="central-refresh", interval=REFRESH_MS),
            ],
            className="page",
        )

    app.layout = layout
    register_sign_in(app, access)
    actions.register(app, access, station)
    detail.register(app, station, may_view)

    app.clientside_callback(  # the browser writes the live numbers and sparklines in
        ClientsideFunction("ecmoCentral", "paint"),
        Output("overview-painted", "data"),
        Input("overview-values", "data"),
        Input("overview-spark", "data"),
    )

    @app.callback(
        Output("overview", "children"),
        Output("overview-values", "data"),
        Output("overview-spark", "data"),
        Output("overview-have", "data"),
        Output("central-state", "children"),
        Output("central-bed", "options"),
        Output("sound-holder", "children"),
        Input("central-refresh", "n_intervals"),
        Input("user-area", "children"),
        State("overview-have", "data"),
        State("central-bed", "options"),
    )
    def refresh_overview(_n, _user, have, shown_options):
        status = station.status()
        link = (
            f" reading {status.url}, {status.beds} bed(s)"
            if status.connected
            else f" {status.error or 'connecting to the broker'}"
        )
        state = [html.Span(link, className="recording" if status.connected else "stale")]
        if links is not None:
            text, well = links.summary()
            state.append(
                html.Span(text, id="central-hl7", className="state" if well else "state stale")
            )
        if not may_view():
            quiet = html.Div(id="sound-state", **{"data-priority": "none"})
            message = [html.Div("Sign in to see the beds.", className="message")]
            return message, {}, no_update, {}, state, [], quiet
        options = [{"label": r.label, "value": r.bed} for r in station.beds()]
        sound = html.Div(id="sound-state", **{"data-priority": sound_priority(station)})
        tiles, values, spark, have = refresh(station, have, config)
        options = no_update if options == shown_options else options
        return tiles, values, spark, have, state, options, sound

    @app.server.route("/api/beds")
    def api_beds():
        if not may_view():
            return flask.jsonify({"error": "sign in to see the beds"}), 401
        return flask.jsonify(beds_payload(station))

    @app.server.route("/api/beds/<bed>/history")
    def api_bed_history(bed: str):
        if not may_view():
            return flask.jsonify({"error": "sign in to see the beds"}), 401
        remote = station.bed(bed)
        if remote is None:
            return flask.jsonify({"error": "no such bed"}), 404
        seconds = flask.request.args.get("seconds", type=float)
        return flask.jsonify(bed_history(remote, seconds))

    @app.server.route("/api/central")
    def api_central():
        status = station.status()
        return flask.jsonify(
            {"connected": status.connected, "error": status.error, "beds": status.beds,
             "messages": status.messages, "refused": status.refused, "frames": status.frames,
             "links": {"hl7": links.statuses()} if links is not None and may_view() else {}}
        )  # fmt: skip

    return app
