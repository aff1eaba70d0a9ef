"""The Dash application of one server: the bedside view of its beds and the QA workspace.

The factory sets up the server (signed session cookie, request size limit, developer
tools off unless asked for), then registers the callbacks of each room: sign-in
(:mod:`monitor.web.access`), the bedside view (:mod:`monitor.web.live`) and the QA
workspace (:mod:`monitor.web.qa`). Every callback that changes state checks the signed-in
user's role on the server.
"""

from __future__ import annotations

import logging
import secrets
import time

import dash.exceptions
import flask
import werkzeug.exceptions
from dash import Dash

from monitor.runtime import Catalog, QaReplays, SessionRegistry
from monitor.store import Users
from monitor.web import qa
from monitor.web.access import COOKIE_NAME, Access, register_sign_in
from monitor.web.live import callbacks as live
from monitor.web.live.layout import page_layout

log = logging.getLogger("ecmo_monitor.web")
#: No page request needs more than this many bytes.
MAX_REQUEST_BYTES = 1 << 20


def create_app(
    registry: SessionRegistry,
    users: Users | None = None,
    secret: bytes | None = None,
    dev: bool = False,
    catalog: Catalog | None = None,
    replays: QaReplays | None = None,
    secure_cookie: bool = False,
) -> Dash:
    """The Dash application for the beds in ``registry`` (the first is the one shown).

    ``secure_cookie``: the page is served over HTTPS, so the cookie is sent only so.
    """
    app = Dash(__name__, title="ecmo-monitor", update_title=None, suppress_callback_exceptions=True)
    harden(app, secret, dev, secure_cookie)
    access = Access(registry, users, replays or QaReplays())
    app.layout = lambda: page_layout(registry.first(), access.user())
    register_sign_in(app, access)
    live.register(app, access)
    live_bed = registry.first()
    qa.register(app, access, catalog or Catalog({}), live_bed.engine.config, live_bed.store)
    _register_status(app, registry)
    return app


def harden(app: Dash, secret: bytes | None, dev: bool, secure_cookie: bool) -> None:
    """What every page server of this project has: a signed HttpOnly cookie, a request
    size limit, developer tools only when asked for, headers that refuse framing and
    foreign code, and a 400 for a callback request the page would never send."""
    app.enable_dev_tools(debug=dev, dev_tools_ui=dev, dev_tools_hot_reload=False)
    server = app.server
    server.secret_key = secret or secrets.token_bytes(32)
    server.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookie,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    _refuse_framing_and_foreign_code(app)
    _refuse_malformed_callbacks(app)


#: Callback request keys and the JSON type each must have (what dash-renderer sends).
_CALLBACK_SHAPE = {"output": str, "outputs": (dict, list), "inputs": list, "changedPropIds": list}
_CALLBACK_PATH = "/_dash-update-component"


def _refuse_malformed_callbacks(app: Dash) -> None:
    """A callback request that is not what a page sends is answered 400, in one log line.

    Dash would fail on it deep inside with an HTTP 500 and a traceback in the log.
    """

    @app.server.before_request
    def check_callback_body():
        if flask.request.path != _CALLBACK_PATH or flask.request.method != "POST":
            return None
        try:
            body = flask.request.get_json(force=True, silent=False)
        except (ValueError, RecursionError, werkzeug.exceptions.BadRequest):
            body = None
        problem = _callback_problem(body, app.callback_map)
        if problem is None:
            return None
        address = flask.request.remote_addr
        log.warning("refused a malformed callback request from %s: %s", address, problem)
        return flask.Response(
            f"Malformed callback request: {problem}.\n", 400, mimetype="text/plain"
        )

    @app.server.errorhandler(dash.exceptions.CallbackException)
    def callback_mismatch(exc):  # the body names outputs or inputs its callback does not have
        address = flask.request.remote_addr
        log.warning("refused a malformed callback request from %s: %s", address, exc)
        return flask.Response(f"Malformed callback request: {exc}.\n", 400, mimetype="text/plain")


def _callback_problem(body, callbacks) -> str | None:
    """Why ``body`` is not a callback request this app takes, or None when it is."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    for key, kind in _CALLBACK_SHAPE.items():
        if not isinstance(body.get(key), kind):
            return f"{key} is missing or of the wrong type"
    if body["output"] not in callbacks:
        return "it names no callback of this page"
    if not isinstance(body.get("state", []), list):
        return "state is of the wrong type"
    for part in ("inputs", "state"):
        for item in body.get(part, []):
            entries = item if isinstance(item, list) else [item]
            if not all(isinstance(e, dict) and "id" in e and "property" in e for e in entries):
                return f"an entry of {part} is not an id and a property"
    return None


def _refuse_framing_and_foreign_code(app: Dash) -> None:
    """Headers on every response: never framed (clickjacking), scripts only from here.

    The inline scripts Dash's index page needs are allowed by their hashes, nothing else
    inline runs; plotly sets styles inline, so styles may be inline.
    """
    policy: list[str] = []  # made at the first response: clientside callbacks add scripts

    def content_policy() -> str:
        if not policy:
            policy.append(
                "; ".join(
                    (
                        "default-src 'self'",
                        f"script-src 'self' {' '.join(app.csp_hashes())}",
                        "style-src 'self' 'unsafe-inline'",
                        "img-src 'self' data: blob:",
                        "font-src 'self' data:",
                        "connect-src 'self'",
                        "object-src 'none'",
                        "base-uri 'none'",
                        "form-action 'self'",
                        "frame-ancestors 'none'",
                    )
                )
            )
        return policy[0]

    @app.server.after_request
    def headers(response):
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = content_policy()
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _register_status(app: Dash, registry: SessionRegistry) -> None:
    @app.server.route("/api/status")
    def status():  # read-only health check for scripts and tests
        session = registry.first()
        snap = session.snapshot()
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
                for a in session.alerts()
            ],
            "links": {name: status.as_dict() for name, status in session.links().items()},
            "time": time.time(),
        }
