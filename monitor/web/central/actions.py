"""Acknowledge, record an event or enter a lab for a bed, from the central station.

The role is checked here, on the server, for the signed-in user; the request then goes to
the bed (``CentralStation.request``), which checks it again and does it, or not, and says
which. The page shows the bed's answer word for word.
"""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from monitor.central import CentralStation
from monitor.store import AuthError
from monitor.web.access import Access
from monitor.web.live.layout import event_row, lab_row


def actions_panel(beds: list[str]) -> html.Div:
    """The forms for an event or a lab of a chosen bed (acknowledging is on each tile)."""
    bed_options = [{"label": b, "value": b} for b in beds]
    return html.Div(
        [
            html.H3("Actions at a bed (specialist)"),
            dcc.Dropdown(bed_options, None, id="central-bed", placeholder="bed"),
            event_row("central-"),
            lab_row("central-"),
        ],
        className="actions",
        id="central-actions",
    )


def answer(reply: dict) -> html.Span:
    return html.Span(
        reply["message"],
        className="message" if reply["result"] != "refused" else "message error",
        id="central-action-result",
        **{"data-result": reply["result"]},
    )


def register(app: Dash, access: Access, station: CentralStation) -> None:
    def ask(permission: str, bed, action: str, args: dict) -> html.Span:
        try:
            user = access.require(permission)
        except AuthError as exc:
            return answer({"result": "refused", "message": str(exc)})
        if not isinstance(bed, str) or station.bed(bed) is None:
            return answer({"result": "refused", "message": "Choose a bed first."})
        return answer(station.request(bed, action, args, user.name, user.role))

    @app.callback(
        Output("central-message", "children"),
        Input({"type": "central-ack", "bed": ALL, "rule": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def acknowledge(_clicks):
        trigger = ctx.triggered[0] if ctx.triggered else {}
        if not trigger.get("value") or not isinstance(ctx.triggered_id, dict):
            return no_update
        bed, rule = ctx.triggered_id.get("bed"), ctx.triggered_id.get("rule")
        return ask("acknowledge", bed, "acknowledge", {"rule": str(rule)[:80]})

    @app.callback(
        Output("central-message", "children", allow_duplicate=True),
        Input("central-event-submit", "n_clicks"),
        Input("central-lab-submit", "n_clicks"),
        State("central-bed", "value"),
        State("central-event-kind", "value"),
        State("central-event-note", "value"),
        State("central-lab-analyte", "value"),
        State("central-lab-value", "value"),
        prevent_initial_call=True,
    )
    def event_or_lab(_event, _lab, bed, kind, note, analyte, value):
        if ctx.triggered_id == "central-event-submit":
            args = {"kind": str(kind or ""), "note": str(note or "")[:200]}
            return ask("record_event", bed, "event", args)
        if not isinstance(value, int | float):
            return answer({"result": "refused", "message": "Give the lab value as a number."})
        return ask("enter_lab", bed, "lab", {"analyte": str(analyte or ""), "value": value})
