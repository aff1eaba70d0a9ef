"""Encoders: the bytes a device speaking each protocol sends (the simulator's voice)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from .contract import CANONICAL_COLUMNS, CHANNEL_BY_NAME, EVENT, TIMESTAMP
from .wire import (
    ETX,
    EVENT_KEY,
    LINE_END,
    SHORT_KEYS,
    STX,
    TIME_KEY,
    check_protocol,
    checksum,
)

_KV_EVENT_UNSAFE = re.compile(r"[\s,;=\x00-\x1f\x7f]+")
_CSV_EVENT_UNSAFE = re.compile(r"[,\t\"\x00-\x1f\x7f]+")


class FrameEncoder:
    """The bytes a device speaking ``protocol`` sends for one sample (the simulator's voice).

    ``columns`` (canonical names) chooses and orders the channels sent; values for other
    channels are left out, as a console without that sensor would. Delimited output uses
    canonical names, commas and CRLF, with the header before the first frame and every
    ``header_every`` frames. key=value output uses the short keys (RPM, FLOW, P1 ...) where
    they exist. Numbers are written with ``repr`` so the parser gets the exact float back;
    the device timestamp survives to the microsecond. NaN ("not measured") and infinite
    values are left out.
    """

    def __init__(
        self, protocol: str, header_every: int = 60, columns: Sequence[str] | None = None
    ) -> None:
        check_protocol(protocol)
        if header_every < 1:
            raise ValueError(f"header_every must be at least 1, not {header_every}")
        chosen = tuple(columns) if columns is not None else CANONICAL_COLUMNS
        unknown = [c for c in chosen if c not in CANONICAL_COLUMNS]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; use canonical names")
        self.protocol = protocol
        self.header_every = header_every
        self.columns = chosen
        self._channels = tuple(c for c in chosen if c in CHANNEL_BY_NAME)
        self._frames = 0

    def encode(
        self, values: Mapping[str, float], timestamp: float | None = None, event: str | None = None
    ) -> bytes:
        unknown = [name for name in values if name not in CHANNEL_BY_NAME]
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; use canonical names")
        numbers = {n: _format_number(values[n]) for n in self._channels if n in values}
        numbers = {n: text for n, text in numbers.items() if text}
        when = datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else None
        due_header = self._frames % self.header_every == 0
        self._frames += 1
        if self.protocol == "delimited":
            return self._delimited(numbers, when, event, due_header)
        pairs = [f"{TIME_KEY}={when}"] if when is not None else []
        pairs += [f"{SHORT_KEYS.get(n, n)}={text}" for n, text in numbers.items()]
        word = _KV_EVENT_UNSAFE.sub("_", event).strip("_") if event else ""
        if word:
            pairs.append(f"{EVENT_KEY}={word}")
        payload = " ".join(pairs).encode()
        if self.protocol == "keyvalue":
            return payload + LINE_END
        return bytes([STX]) + payload + f"{checksum(payload):02X}".encode() + bytes([ETX])

    def _delimited(
        self, numbers: dict[str, str], when: str | None, event: str | None, header: bool
    ) -> bytes:
        cells = []
        for column in self.columns:
            if column == TIMESTAMP:
                cells.append(when or "")
            elif column == EVENT:
                cells.append(_CSV_EVENT_UNSAFE.sub(" ", event).strip() if event else "")
            else:
                cells.append(numbers.get(column, ""))
        row = ",".join(cells).encode() + LINE_END
        return ",".join(self.columns).encode() + LINE_END + row if header else row


def _format_number(value: float) -> str:
    number = float(value)
    if not math.isfinite(number):
        return ""  # a device has no way to send it: left out, as "not measured"
    text = repr(number)
    return text[:-2] if text.endswith(".0") else text
