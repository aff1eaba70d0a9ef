"""Who is asking, and which bed's session they may see: sign-in, sign-out and bed lookup.

Every callback that changes state asks :meth:`Access.require` on the server. The bed a
browser shows is resolved here too: the live beds for everyone, a QA replay only for the
QA user who opened it (any other caller holding the replay's bed id sees the live bed).
"""

from __future__ import annotations

import hashlib
import logging

import flask
from dash import Dash, Input, Output, State, ctx, dcc, html

from monitor.runtime import QA_BED, QaReplays, Session, SessionRegistry
from monitor.store import AuthError, User, Users, require

log = logging.getLogger("ecmo_monitor.auth")
#: The name of the signed session cookie (it carries only a sign-in's token).
COOKIE_NAME = "ecmo_session"


class Access:
    """The signed-in user of the current request and the sessions they may see."""

    def __init__(self, registry: SessionRegistry, users: Users | None, replays: QaReplays):
        self.registry = registry
        self.users = users
        self.replays = replays
        self._unverified: set[bytes] = set()

    def user(self) -> User | None:
        """The signed-in user of this request, from the sign-in the cookie names.

        Read afresh on every request: a sign-in that ended (sign-out, timeout, user
        removed or given a new PIN) lets nobody in, whoever holds a copy of the cookie.
        """
        if not flask.has_request_context() or self.users is None:
            return None
        token = flask.session.get("token")
        if not isinstance(token, str):
            self._note_unverified_cookie()
            return None
        return self.users.session_user(token)

    def _note_unverified_cookie(self) -> None:
        """A cookie that came but did not verify (tampered, or another server's): logged once."""
        cookie = flask.request.cookies.get(COOKIE_NAME)
        if not cookie:
            return
        digest = hashlib.sha256(cookie.encode("utf-8", "replace")).digest()
        if digest not in self._unverified and len(self._unverified) < 10_000:
            self._unverified.add(digest)
            log.warning(
                "a session cookie from %s did not verify (tampered, or from another server); "
                "treated as not signed in",
                flask.request.remote_addr,
            )

    def require(self, action: str) -> User:
        """The signed-in user when they may do ``action``; AuthError if not."""
        return require(self.user(), action)

    def session(self, bed: object = None) -> Session:
        """The session the browser's bed id names, as this user may see it."""
        if bed == QA_BED:
            replay = self.replay()
            if replay is not None:
                return replay
        return self.registry.find(bed)

    def replay(self) -> Session | None:
        """The signed-in QA user's own replay, or None."""
        user = self.user()
        if user is None or not user.may("replay"):
            return None
        return self.replays.get(user.name)


def login_area(user: User | None) -> list:
    """Sign-in form, or who is signed in with a sign-out button."""
    signed_in = user is not None
    return [
        html.Div(
            [
                dcc.Input(
                    id="login-user", placeholder="name", type="text", autoComplete="username"
                ),
                dcc.Input(
                    id="login-pin",
                    placeholder="PIN",
                    type="password",
                    autoComplete="current-password",
                ),
                html.Button("Sign in", id="login-submit"),
            ],
            id="login-form",
            style={"display": "none" if signed_in else "flex"},
        ),
        html.Div(
            [
                html.Span(f"{user.name} ({user.role})" if user else "view only", id="user-name"),
                html.Button(
                    "Sign out", id="logout", style={"display": "inline" if signed_in else "none"}
                ),
            ],
            id="user-info",
        ),
        html.Span(id="login-message", className="message"),
    ]


def register_sign_in(app: Dash, access: Access) -> None:
    """The sign-in and sign-out callback."""

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
            user = access.user()
            if user is not None:
                access.replays.close(user.name)  # a replay ends with its user's session
                access.users.end_session(flask.session["token"])
            flask.session.clear()
            return login_area(None)
        if access.users is None:
            return _refused("Sign-in is not available.", "message")
        try:
            address = flask.request.remote_addr or "unknown"
            user = access.users.authenticate(str(name or "")[:40], str(pin or "")[:12], address)
        except AuthError as exc:
            return _refused(str(exc), "message error")
        flask.session.clear()
        flask.session["token"] = access.users.start_session(user, address)
        return login_area(user)


def _refused(text: str, class_name: str) -> list:
    area = login_area(None)
    area[-1] = html.Span(text, id="login-message", className=class_name)
    return area
