"""What every command shares: the data directory, the bundled samples, the store, errors."""

from __future__ import annotations

from pathlib import Path

from adapters import TelemetryError
from monitor.store import AlarmStore, StoreError

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"


class UsageError(TelemetryError):
    """A command line that cannot be carried out as given."""


def open_store(data_dir: Path, bed: str = "bed-1") -> AlarmStore:
    """The data directory's store; a UsageError (one sentence) when it cannot be opened."""
    try:
        return AlarmStore(data_dir, bed=bed)
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def broker_settings(args, url: str, name: str):
    """The broker settings the command line gives (the bus is imported only when used)."""
    from monitor.bus import BrokerSettings

    if args.replicas < 1 or args.replicas > 5:
        raise UsageError("--replicas must be between 1 and 5.")
    return BrokerSettings(
        url=url,
        creds=args.nats_creds,
        user=args.nats_user,
        password=args.nats_password,
        ca_file=args.nats_ca,
        replicas=args.replicas,
        name=name,
    )
