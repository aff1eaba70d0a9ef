"""The bus's own error: a broker that cannot be reached or configured, a message refused."""

from __future__ import annotations

from adapters import TelemetryError


class BusError(TelemetryError):
    """One sentence about the broker or a message on it (the command line shows it as is)."""
