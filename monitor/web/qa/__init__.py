"""The QA workspace: recordings, a replay of one's own, the whole session, what-if, export.

Every callback here checks the QA role on the server.
"""

from __future__ import annotations

from dash import Dash, html

from adapters import TelemetryError
from monitor.runtime import Catalog, CatalogError
from monitor.store import AlarmStore, AuthError
from monitor.web.access import Access
from monitor.web.qa import batch, recordings, replay, whatif
from monitor.web.qa.views import compare
from monitor.web.qa.workspace import Workspace
from rules import RulesConfig


def register(
    app: Dash,
    access: Access,
    catalog: Catalog,
    config: RulesConfig,
    alarm_store: AlarmStore | None = None,
) -> None:
    """Every callback of the QA workspace."""
    qa = Workspace(access, catalog, config, alarm_store)
    recordings.register(app, qa)
    replay.register(app, qa)
    batch.register(app, qa)

    def compare_with(key, settings) -> html.Div | html.Span:
        try:
            qa.access.require("analyse")
            in_force = qa.analysis(key)
            trial = qa.analysis(key, qa.config.override(settings(), "what-if"))
        except (AuthError, CatalogError, TelemetryError, ValueError) as exc:
            return html.Span(str(exc), className="error", **{"data-result": "refused"})
        return compare(in_force, trial)

    whatif.register(app, compare_with)
