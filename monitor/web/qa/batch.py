"""Many sessions at once: analyse every recording of a catalog folder, with progress."""

from __future__ import annotations

import threading

import pandas as pd
from dash import Dash, Input, Output, State, html, no_update

from monitor.reports import analyze_folder
from monitor.runtime import CatalogError
from monitor.store import AuthError
from monitor.web.qa.views import table
from monitor.web.qa.workspace import Workspace


class FolderJob:
    """The one folder analysis a server runs at a time, and how far it has got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict = {"running": False, "done": 0, "total": 0}
        self._state.update(name=None, table=None, error=None)

    def state(self) -> dict:
        with self._lock:
            return dict(self._state)

    def start(self, work) -> bool:
        """Run ``work(progress)`` in a thread; False if a job is already running."""
        with self._lock:
            if self._state["running"]:
                return False
            self._state.update(running=True, done=0, total=0, name=None, table=None, error=None)

        def progress(done, total, name):
            with self._lock:
                self._state.update(done=done, total=total, name=name)

        def run():
            try:
                summary = work(progress)
                with self._lock:
                    self._state.update(table=summary)
            except Exception as exc:  # shown on the page, never a silent stop
                with self._lock:
                    self._state.update(error=str(exc))
            finally:
                with self._lock:
                    self._state.update(running=False)

        threading.Thread(target=run, name="qa-batch", daemon=True).start()
        return True


def register(app: Dash, qa: Workspace) -> None:
    job = FolderJob()

    @app.callback(Output("batch-folder", "options"), Input("tabs", "value"))
    def batch_folders(tab):
        if tab != "qa":
            return no_update
        user = qa.access.user()  # the folder names are for QA: nobody else gets the list
        if user is None or not user.may("analyse"):
            return []
        return [{"label": label, "value": label} for label in qa.catalog.folders]

    @app.callback(
        Output("batch-progress", "children", allow_duplicate=True),
        Input("batch-run", "n_clicks"),
        State("batch-folder", "value"),
        prevent_initial_call=True,
    )
    def batch_start(_n, label):
        try:
            qa.access.require("analyse")
            folder = qa.catalog.folders.get(label) if isinstance(label, str) else None
            if folder is None:
                raise CatalogError("Choose a folder from the list.")
        except (AuthError, CatalogError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        if not job.start(lambda progress: analyze_folder(folder, qa.config, progress)):
            return html.Span(
                "An analysis is already running; wait for it to finish.", className="error"
            )
        return html.Span("Started.", **{"data-result": "started"})

    @app.callback(
        Output("batch-progress", "children"),
        Output("batch-result", "children"),
        Input("refresh", "n_intervals"),
        State("tabs", "value"),
        prevent_initial_call=True,
    )
    def batch_poll(_n, tab):
        user = qa.access.user()  # polled every second: refused quietly, not logged
        if user is None or not user.may("analyse"):
            return no_update, no_update
        state = job.state()
        if tab != "qa" or (
            state["table"] is None and not state["running"] and state["error"] is None
        ):
            return no_update, no_update
        bar = _progress_bar(state)
        if state["error"]:
            return bar, html.Span(state["error"], className="error")
        if state["table"] is None:
            return bar, no_update
        return bar, _summary_table(state["table"])


def _progress_bar(state: dict) -> html.Div:
    total = max(state["total"], 1)
    return html.Div(
        [
            html.Progress(value=str(state["done"]), max=str(total)),
            html.Span(
                f" {state['done']} of {state['total']} recordings"
                + (f" (last: {state['name']})" if state["name"] else "")
            ),
        ],
        **{
            "data-done": str(state["done"]),
            "data-total": str(state["total"]),
            "data-running": str(state["running"]).lower(),
        },
    )


def _summary_table(summary: pd.DataFrame) -> html.Table:
    """The folder summary: file, size and quality, and the episode counts that are not 0."""
    columns = [
        c
        for c in summary.columns
        if c in ("file", "duration_h", "rows", "rejected_rows", "error")
        or (c.endswith(("_medium", "_high", "_low")) and summary[c].fillna(0).astype(int).sum() > 0)
    ]
    rows = [
        ["" if pd.isna(v) else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in record]
        for record in summary[columns].itertuples(index=False)
    ]
    return table(columns, rows, "batch-table")
