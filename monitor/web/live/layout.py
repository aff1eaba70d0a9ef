"""The page's layout: header bar, tabs, the bedside view and the actions panel.

Built per page load from a session snapshot; the callbacks in :mod:`monitor.web.live.callbacks`
fill and update it. Component ids here are the page's contract with its callbacks and tests.
"""

from __future__ import annotations

from dash import dcc, html

from adapters import CHANNEL_BY_NAME, LAB_COLUMNS
from monitor.runtime import EVENT_CHOICES, Session
from monitor.store import User
from monitor.web.access import login_area
from monitor.web.live import panels
from monitor.web.live.figures import full_figure
from monitor.web.qa import views as qa_views

REFRESH_MS = 1000
WINDOWS: tuple[tuple[str, float | None], ...] = (
    ("15 min", 900.0),
    ("1 h", 3600.0),
    ("6 h", 21600.0),
    ("24 h", 86400.0),
    ("all", None),
)
DEFAULT_WINDOW = 3600.0
#: Raw points a window may hold before it is drawn downsampled and redrawn periodically.
RAW_LIMIT = 4000
#: New frames in one refresh beyond which the figure is redrawn instead of extended.
REDRAW_ABOVE = 2000


def event_row(prefix: str = "") -> html.Div:
    """Event kind, note and button; ids ``<prefix>event-kind`` and so on."""
    return html.Div(
        [
            dcc.Dropdown(
                [{"label": k.replace("_", " "), "value": k} for k in EVENT_CHOICES],
                "oxygenator_change",
                id=f"{prefix}event-kind",
                clearable=False,
            ),
            dcc.Input(
                id=f"{prefix}event-note", placeholder="note (optional)", type="text", maxLength=200
            ),
            html.Button("Record event", id=f"{prefix}event-submit"),
        ],
        className="action-row",
    )


def lab_row(prefix: str = "") -> html.Div:
    """Analyte (with its unit), value and button; ids ``<prefix>lab-analyte`` and so on."""
    return html.Div(
        [
            dcc.Dropdown(
                [
                    {
                        "label": f"{CHANNEL_BY_NAME[c].label} ({CHANNEL_BY_NAME[c].unit})",
                        "value": c,
                    }
                    for c in LAB_COLUMNS
                ],
                "plasma_free_hb_mg_dl",
                id=f"{prefix}lab-analyte",
                clearable=False,
            ),
            dcc.Input(id=f"{prefix}lab-value", type="number", placeholder="value"),
            html.Button("Enter lab result", id=f"{prefix}lab-submit"),
        ],
        className="action-row",
    )


def sound_controls() -> html.Div:
    """*Sound on* (browsers need a gesture) and the 2-minute pause; ``assets/sound.js``
    plays the priority that ``#sound-state`` names."""
    return html.Div(
        [
            html.Button("Sound on", id="sound-toggle"),
            html.Button("Pause audio 2 min", id="audio-pause"),
            html.Span("sound off", id="audio-status", **{"data-audio": "off"}),
        ],
        className="sound",
    )


def actions_panel() -> html.Div:
    return html.Div(
        [
            html.H3("Actions (specialist)"),
            event_row(),
            lab_row(),
            html.Div(
                [
                    dcc.Input(id="weight-value", type="number", placeholder="kg", min=1, max=300),
                    html.Button("Set weight", id="weight-submit"),
                ],
                className="action-row",
            ),
            html.Div(
                [
                    dcc.Input(
                        id="flow-min-value",
                        type="number",
                        placeholder="mL/kg/min",
                        min=10,
                        max=150,
                    ),
                    html.Button("Set flow minimum", id="flow-min-submit"),
                ],
                className="action-row",
            ),
            html.Div(
                html.Button("Reset delta P baseline", id="baseline-reset"), className="action-row"
            ),
            html.Div(id="action-message", className="message"),
        ],
        className="actions",
    )


def page_layout(s: Session, user: User | None) -> html.Div:
    """The whole page for one bed, as the browser first gets it."""
    snap = s.snapshot()
    return html.Div(
        [
            html.Div(
                [
                    html.Div(panels.header(snap), id="header", className="header"),
                    html.Div(login_area(user), id="user-area", className="user-area"),
                    sound_controls(),
                ],
                className="top",
            ),
            # the views sit beside the tab bar, not inside it, so the trend graph stays
            # mounted (and extended) while the QA workspace is shown: a graph mounted
            # again would re-apply its last extension on top of the figure it had
            dcc.Tabs(
                id="tabs",
                value="bedside",
                children=[
                    dcc.Tab(label="Bedside", value="bedside"),
                    dcc.Tab(label="QA workspace", value="qa"),
                ],
            ),
            html.Div(bedside(s), id="bedside-view"),
            html.Div(qa_views.layout(s.engine.config), id="qa-view", style={"display": "none"}),
            html.Div(html.Div(id="sound-state", **{"data-priority": "none"}), id="sound-holder"),
            dcc.Store(
                id="cursor",
                data={"seq": snap.last_seq, "t": None, "appended": 0, "bed": s.bed_id},
            ),
            dcc.Store(id="window", data={"seconds": DEFAULT_WINDOW}),
            dcc.Store(id="panel-signature", data=""),
            dcc.Store(id="bed", data=s.bed_id),
            dcc.Interval(id="refresh", interval=REFRESH_MS),
        ],
        className="page",
    )


def bedside(s: Session) -> list:
    return [
        html.Div(id="tiles", className="tiles"),
        html.Div(
            [html.H3("Derived values"), html.Div(id="derived", className="derived")],
            className="derived-panel",
        ),
        html.Div(
            [
                html.Div(
                    [
                        html.Div(
                            [
                                html.Button(
                                    label,
                                    id={"type": "window", "seconds": str(seconds)},
                                    className="window-button"
                                    + (" selected" if seconds == DEFAULT_WINDOW else ""),
                                    **{"data-window": label},
                                )
                                for label, seconds in WINDOWS
                            ],
                            className="windows",
                        ),
                        dcc.Graph(
                            id="trends",
                            figure=full_figure(s, DEFAULT_WINDOW),
                            config={"displaylogo": False, "scrollZoom": True},
                        ),
                    ],
                    className="trend-column",
                ),
                html.Div(
                    [
                        html.H3("Alerts"),
                        dcc.Input(
                            id="ack-note",
                            placeholder="acknowledgement note (optional)",
                            type="text",
                            maxLength=200,
                        ),
                        html.Div(id="ack-message", className="message"),
                        html.Div(id="alerts", className="alerts"),
                        html.H3("Alarm log"),
                        html.Ul(id="alert-history", className="history"),
                        actions_panel(),
                    ],
                    className="side-column",
                ),
            ],
            className="main",
        ),
    ]
