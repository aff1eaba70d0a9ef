"""What every command shares: the data directory, the bundled samples, the store, errors."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from adapters import TelemetryError
from monitor.store import AlarmStore, StoreError

DEFAULT_DATA_DIR = "./ecmo-data"
DATA_DIR_VARIABLE = "ECMO_MONITOR_DATA_DIR"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"


class UsageError(TelemetryError):
    """A command line that cannot be carried out as given."""


def default_data_dir() -> str:
    return os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help=f"where recordings and the database live (default {DEFAULT_DATA_DIR}, "
        f"or ${DATA_DIR_VARIABLE})",
    )


def open_store(data_dir: Path) -> AlarmStore:
    """The data directory's store; a UsageError (one sentence) when it cannot be opened."""
    try:
        return AlarmStore(data_dir)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
