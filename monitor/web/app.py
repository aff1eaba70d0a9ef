"""The Dash application of one server: the bedside view of its beds and the QA workspace.

The factory sets up the server (signed session cookie, request size limit, developer
tools off unless asked for), then registers the callbacks of each room: sign-in
(:mod:`monitor.web.access`), the bedside view (:mod:`monitor.web.live`) and the QA
workspace (:mod:`monitor.web.qa`). Every callback that changes state checks the signed-in
user's role on the server.
"""

from __future__ import annotations

import secrets
import time

from dash import Dash

from monitor.runtime import Catalog, QaReplays, SessionRegistry
from monitor.store import Users
from monitor.web import qa
from monitor.web.access import Access, register_sign_in
from monitor.web.live import callbacks as live
from monitor.web.live.layout import page_layout

#: No page request needs more than this many bytes.
MAX_REQUEST_BYTES = 1 << 20


def create_app(
    registry: SessionRegistry,
    users: Users | None = None,
    secret: bytes | None = None,
    dev: bool = False,
    catalog: Catalog | None = None,
    replays: QaReplays | None = None,
) -> Dash:
    """The Dash application for the beds in ``registry`` (the first is the one shown)."""
    app = Dash(__name__, title="ecmo-monitor", update_title=None, suppress_callback_exceptions=True)
    app.enable_dev_tools(debug=dev, dev_tools_ui=dev, dev_tools_hot_reload=False)
    server = app.server
    server.secret_key = secret or secrets.token_bytes(32)
    server.config.update(
        SESSION_COOKIE_NAME="ecmo_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    access = Access(registry, users, replays or QaReplays())
    app.layout = lambda: page_layout(registry.first(), access.user())
    register_sign_in(app, access)
    live.register(app, access)
    live_bed = registry.first()
    qa.register(app, access, catalog or Catalog({}), live_bed.engine.config, live_bed.store)
    _register_status(app, registry)
    return app


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
            "time": time.time(),
        }
