"""What every command shares: the data directory, the bundled samples, the store, errors."""

from __future__ import annotations

from pathlib import Path

from adapters import TelemetryError
from monitor.store import AlarmStore, StoreError

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"


class UsageError(TelemetryError):
    """A command line that cannot be carried out as given."""


def open_store(data_dir: Path) -> AlarmStore:
    """The data directory's store; a UsageError (one sentence) when it cannot be opened."""
    try:
        return AlarmStore(data_dir)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
