"""The QA replay controls: play, pause, speed, seek and jump, on the user's own replay."""

from __future__ import annotations

import math

from dash import Dash, Input, Output, ctx, html, no_update

from adapters import ReplaySource
from monitor.present import clock_text
from monitor.store import AuthError
from monitor.web.qa.workspace import Workspace

#: A jump to an alert or event lands this long before it, so its build-up is seen.
JUMP_LEAD_S = 120.0


def register(app: Dash, qa: Workspace) -> None:
    @app.callback(
        Output("bed", "data", allow_duplicate=True),
        Input("qa-back", "n_clicks"),
        prevent_initial_call=True,
    )
    def back_to_live(_n):
        return qa.access.registry.first().bed_id

    @app.callback(
        Output("replay-status", "children"),
        Output("replay-position", "children"),
        Input("replay-play", "n_clicks"),
        Input("replay-pause", "n_clicks"),
        Input("replay-speed", "value"),
        Input("replay-seek", "value"),
        Input("replay-jump", "value"),
        Input("refresh", "n_intervals"),
        prevent_initial_call=True,
    )
    def control(_play, _pause, speed, seek, jump, _n):
        trigger = ctx.triggered_id
        if trigger != "refresh":
            try:
                user = qa.access.require("replay")
            except AuthError as exc:
                return html.Span(str(exc), className="error"), no_update
            replay = qa.access.replays.get(user.name)
            if replay is not None:
                _steer(qa, user.name, replay.source, trigger, speed, seek, jump)
        replay = qa.access.replay()
        source = replay.source if replay is not None else None
        if not isinstance(source, ReplaySource):
            return "No recording open.", ""
        state = "paused" if source.paused else str(source.status().state)
        status = html.Span(
            f"{state}, {source.speed_label}",
            **{"data-state": state, "data-position": f"{source.position:.3f}"},
        )
        return status, f"at {clock_text(source.position)} UTC"


def _steer(qa: Workspace, user: str, source: ReplaySource, trigger, speed, seek, jump) -> None:
    speed, seek, jump = _finite(speed), _finite(seek), _finite(jump)  # what a page sends
    if trigger == "replay-play":
        source.resume()
    elif trigger == "replay-pause":
        source.pause()
    elif trigger == "replay-speed" and speed is not None and speed >= 0:
        source.set_speed(speed)
    elif trigger == "replay-seek" and seek is not None:
        qa.access.replays.seek(user, seek)
    elif trigger == "replay-jump" and jump is not None:
        qa.access.replays.seek(user, jump - JUMP_LEAD_S)


def _finite(value) -> float | None:
    """A number from the page, or None for anything else (a crafted request included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
