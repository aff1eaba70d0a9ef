"""The errors a user can meet when feeding telemetry in, as sentences that say what to do."""

from __future__ import annotations


class TelemetryError(Exception):
    """Input that cannot be used at all (file missing, empty, required column absent).

    The message is one sentence naming the file and the problem; the command line shows
    it without a traceback.
    """


class SourceError(TelemetryError):
    """A source (serial port, replay) cannot be opened or configured."""


#: The longest message a refused file may produce (the command line shows it whole).
MAX_MESSAGE = 300


def quoted(text: object, limit: int = 40) -> str:
    """Outside text as a message may show it: printable characters only, cut, in quotes.

    Raw bytes are never echoed: control characters and undecodable bytes are dropped, so
    a message about a hostile file stays one readable line.
    """
    shown = "".join(ch for ch in str(text) if ch.isprintable() and ch != "\ufffd")
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return repr(shown)


def shown_header(cells: list[str], limit: int = 80) -> str:
    """A header as a message shows it: its names joined, printable only, at most ``limit``."""
    text = "".join(ch for ch in ", ".join(c for c in cells if c.strip()) if ch.isprintable())
    text = text.replace("\ufffd", "")
    if not text:
        return "nothing"
    return text if len(text) <= limit else text[: limit - 3] + "..."
