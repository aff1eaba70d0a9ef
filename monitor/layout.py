"""The page's layout: header bar, tabs, the bedside view, sign-in and actions panels.

Built per page load from a session snapshot; the callbacks in :mod:`monitor.app` fill
and update it. Component ids here are the page's contract with its callbacks and tests.
"""

from __future__ import annotations

from dash import dcc, html

from adapters import LAB_COLUMNS

from . import panels, qa_views
from .auth import User
from .figures import LabLimit, baseline_resistance_at, trend_figure
from .session import EVENT_CHOICES, Session

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


def resistance_at(session: Session):
    """Baseline resistance in force at given times for this bed (see figures)."""
    baselines = session.baselines()
    restarts = [b.reason_time for b in (*baselines, session.baseline())]
    return baseline_resistance_at(baselines, restarts)


def lab_limits(session: Session) -> tuple[LabLimit, ...]:
    cfg = session.engine.config.hemolysis
    return (
        LabLimit(
            "plasma_free_hb_mg_dl", cfg.pfhb_medium_mg_dl, f"PfHb {cfg.pfhb_medium_mg_dl:g} mg/dL"
        ),
        LabLimit(
            "plasma_free_hb_mg_dl", cfg.pfhb_high_mg_dl, f"PfHb {cfg.pfhb_high_mg_dl:g} mg/dL"
        ),
        LabLimit("ldh_u_l", cfg.ldh_limit_u_l, f"LDH {cfg.ldh_limit_u_l:g} U/L"),
        LabLimit(
            "haptoglobin_mg_dl",
            cfg.haptoglobin_low_mg_dl,
            f"haptoglobin {cfg.haptoglobin_low_mg_dl:g} mg/dL",
        ),
        LabLimit(
            "bilirubin_mg_dl",
            cfg.bilirubin_high_mg_dl,
            f"bilirubin {cfg.bilirubin_high_mg_dl:g} mg/dL",
        ),
    )


def full_figure(session: Session, seconds: float | None) -> dict:
    data = session.buffer.window(seconds)
    return trend_figure(
        data,
        resistance_at(session),
        lab_limits(session),
        window_ms=None,
        revision=f"trends-{seconds}",
    )


def login_area(user: User | None) -> list:
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


def actions_panel() -> html.Div:
    return html.Div(
        [
            html.H3("Actions (specialist)"),
            html.Div(
                [
                    dcc.Dropdown(
                        [{"label": k.replace("_", " "), "value": k} for k in EVENT_CHOICES],
                        "oxygenator_change",
                        id="event-kind",
                        clearable=False,
                    ),
                    dcc.Input(
                        id="event-note", placeholder="note (optional)", type="text", maxLength=200
                    ),
                    html.Button("Record event", id="event-submit"),
                ],
                className="action-row",
            ),
            html.Div(
                [
                    dcc.Dropdown(
                        [{"label": c.replace("_", " "), "value": c} for c in LAB_COLUMNS],
                        "plasma_free_hb_mg_dl",
                        id="lab-analyte",
                        clearable=False,
                    ),
                    dcc.Input(id="lab-value", type="number", placeholder="value"),
                    html.Button("Enter lab result", id="lab-submit"),
                ],
                className="action-row",
            ),
            html.Div(
                [
                    html.Button("Reset delta P baseline", id="baseline-reset"),
                    dcc.Input(
                        id="weight-value", type="number", placeholder="weight kg", min=1, max=300
                    ),
                    html.Button("Set weight", id="weight-submit"),
                    dcc.Input(
                        id="flow-min-value",
                        type="number",
                        placeholder="min mL/kg/min",
                        min=10,
                        max=150,
                    ),
                    html.Button("Set flow minimum", id="flow-min-submit"),
                ],
                className="action-row",
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
                    html.Div(
                        [
                            html.Button("Sound on", id="sound-toggle"),
                            html.Button("Pause audio 2 min", id="audio-pause"),
                            html.Span("sound off", id="audio-status", **{"data-audio": "off"}),
                        ],
                        className="sound",
                    ),
                ],
                className="top",
            ),
            dcc.Tabs(
                id="tabs",
                value="bedside",
                children=[
                    dcc.Tab(label="Bedside", value="bedside", children=bedside(s)),
                    dcc.Tab(label="QA workspace", value="qa", children=qa_views.layout()),
                ],
            ),
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
