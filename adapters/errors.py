"""The errors a user can meet when feeding telemetry in, as sentences that say what to do."""

from __future__ import annotations


class TelemetryError(Exception):
    """Input that cannot be used at all (file missing, empty, required column absent).

    The message is one sentence naming the file and the problem; the command line shows
    it without a traceback.
    """


class SourceError(TelemetryError):
    """A source (serial port, replay) cannot be opened or configured."""
