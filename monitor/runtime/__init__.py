"""The running pieces of a bed: session, buffer, recorder, bed registry, QA replays.

One :class:`Session` per circuit owns its source, buffer, engine and recorder; the
acquisition thread feeds it and everything else reads snapshots (DESIGN.md section 1).
"""

from monitor.runtime.buffer import TelemetryBuffer
from monitor.runtime.catalog import Catalog, CatalogEntry, CatalogError
from monitor.runtime.recorder import Recorder, RecorderStatus
from monitor.runtime.registry import SessionRegistry
from monitor.runtime.replays import MAX_REPLAYS, QA_BED, QaReplays
from monitor.runtime.session import EVENT_CHOICES, ActionError, Session, SessionSnapshot

__all__ = [
    "EVENT_CHOICES",
    "MAX_REPLAYS",
    "QA_BED",
    "ActionError",
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "QaReplays",
    "Recorder",
    "RecorderStatus",
    "Session",
    "SessionRegistry",
    "SessionSnapshot",
    "TelemetryBuffer",
]
