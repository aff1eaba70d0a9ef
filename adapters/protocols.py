"""Device protocol parsers: bytes in, parsed frames out (``encoders.py`` speaks them).

Pure objects, no I/O and no threads (pyserial's ``serial.threaded`` framing is the model):
a source feeds whatever bytes it read, in any chunks, and gets back one result per
complete line or packet. ``feed`` never raises; bad input comes back as a
:class:`BadFrame` that says why, so a reader thread counts it and carries on. See
DESIGN.md section 3 for the three protocols and ``wire.py`` for their vocabulary.

Values are raw: range checking (artifacts) is :meth:`Frame.build`'s job. A line or packet
is a valid frame only when it holds pump speed and blood flow; every other channel is
optional, because a console without its pressure sensors connected still reports flow.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .contract import CHANNEL_BY_NAME, EVENT, TIMESTAMP
from .errors import SourceError
from .profiles import CANONICAL, KEYVALUE, PROFILES, ColumnProfile, get_profile, is_profile_file
from .wire import CR, ETX, LF, STX, check_protocol, checksum

#: Longest line or packet kept; anything longer is discarded as bad so memory stays bounded.
MAX_LINE = 4096
#: Channels every frame must carry to be usable at all.
FRAME_REQUIRED: tuple[str, ...] = ("pump_speed_rpm", "blood_flow_lpm")

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_EOL = re.compile(rb"[\r\n]")
_PAIR_SEPARATORS = re.compile(r"[\s,;]+")
_PAIR_SEPARATORS_DECIMAL_COMMA = re.compile(r"[\s;]+")
_SPACED_EQUALS = re.compile(r"\s*=\s*")
_HEX = frozenset(b"0123456789ABCDEFabcdef")


@dataclass(frozen=True, slots=True)
class ParsedFrame:
    """One valid sample decoded from a line or packet (raw values, canonical names)."""

    values: dict[str, float]
    event: str | None
    device_timestamp: float | None
    line: int


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A line, packet or run of junk that was dropped, with the reason in a short sentence."""

    line: int
    reason: str
    raw: bytes


ParseResult = ParsedFrame | BadFrame
_Sample = tuple[dict[str, float], str | None, float | None]  # values, event, device time


def _number(name: str, text: str, decimal: str = ".") -> float | str:
    """The float in ``text``, or the reason it is not a usable value."""
    if decimal == "," and "." not in text:
        text = text.replace(",", ".", 1)
    if not _NUMBER.fullmatch(text):
        return f"field {name!r} is not a number: {text!r}"
    value = float(text)
    if not math.isfinite(value):
        return f"field {name!r} is not a finite number: {text!r}"
    return value


def _device_time(text: str) -> float | str:
    """POSIX seconds of an ISO 8601 time with offset, or the reason it is unusable."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return f"device timestamp {text!r} has no UTC offset"
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return f"device timestamp {text!r} is not ISO 8601"


class FrameParser:
    """Base of the protocol parsers: ``feed`` bytes, get results; ``reset`` after a reconnect."""

    def __init__(self) -> None:
        self.count = 0  # lines/packets seen, so results carry a 1-based number

    def feed(self, data: bytes) -> list[ParseResult]:
        """Results for every line or packet completed by ``data``; never raises."""
        out: list[ParseResult] = []
        try:
            self._feed(bytes(data), out)
        except Exception as exc:  # a parser bug must not kill the reader thread
            self.reset()
            out.append(self._bad(b"", f"parser error, input discarded: {exc!r}"))
        return out

    def reset(self) -> list[ParseResult]:
        """Drop any incomplete input (the connection was lost mid-line); report it if any."""
        raise NotImplementedError

    def _feed(self, data: bytes, out: list[ParseResult]) -> None:
        raise NotImplementedError

    def _bad(self, raw: bytes, reason: str) -> BadFrame:
        self.count += 1
        return BadFrame(self.count, reason, raw[:MAX_LINE])


class _LineParser(FrameParser):
    """Splits text lines ending in CR, LF or CRLF; blank lines are ignored."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._discarding = False  # inside the tail of an overlong line

    def reset(self) -> list[ParseResult]:
        pending, discarding = bytes(self._pending), self._discarding
        self._pending.clear()
        self._discarding = False
        if pending.strip() and not discarding:
            return [self._bad(pending, "incomplete line lost with the connection")]
        return []

    def _feed(self, data: bytes, out: list[ParseResult]) -> None:
        pending = self._pending
        start = len(pending)
        pending += data
        pos = 0
        for match in _EOL.finditer(pending, start):
            line = bytes(pending[pos : match.start()])
            pos = match.end()
            if self._discarding:
                self._discarding = False
            elif len(line) > MAX_LINE:
                out.append(self._overlong(line))
            elif line.strip():
                self.count += 1
                result = self._line(line)
                if result is not None:
                    out.append(result)
        del pending[:pos]
        if len(pending) > MAX_LINE:
            if not self._discarding:
                out.append(self._overlong(bytes(pending)))
            self._discarding = True
            pending.clear()

    def _overlong(self, raw: bytes) -> BadFrame:
        return self._bad(raw, f"line over {MAX_LINE} bytes without an end of line; dropped")

    def _line(self, raw: bytes) -> ParseResult | None:
        # not stripped: a trailing tab is an empty last cell of a delimited row
        result = self._parse(raw.decode("utf-8", errors="replace"))
        if isinstance(result, str):
            return BadFrame(self.count, result, raw)
        if result is None:  # a header line: neither a frame nor bad
            return None
        values, event, device_timestamp = result
        return ParsedFrame(values, event, device_timestamp, self.count)

    def _parse(self, text: str) -> _Sample | str | None:
        """(values, event, device time), a reason the line is bad, or None for a header."""
        raise NotImplementedError


def _collect(fields: Iterable[tuple[str, str, str]], profile: ColumnProfile) -> _Sample | str:
    """(source name, canonical name, text) triples -> a sample, or the reason it is bad.

    Numbers are read with the profile's decimal mark and converted to contract units; a
    value equal to the profile's "no value" sentinel is left out.
    """
    values: dict[str, float] = {}
    names: dict[str, str] = {}
    event: str | None = None
    device_timestamp: float | None = None
    for name, canonical, text in fields:
        if canonical in names:
            return f"field {canonical!r} given twice (as {names[canonical]!r} and {name!r})"
        names[canonical] = name
        if canonical == TIMESTAMP:
            parsed = _device_time(text) if text else None
            if isinstance(parsed, str):
                return parsed
            device_timestamp = parsed
        elif canonical == EVENT:
            event = text or None
        elif canonical in CHANNEL_BY_NAME and text:
            number = _number(name, text, profile.decimal)
            if isinstance(number, str):
                return number
            conversion = profile.conversion(name)
            if conversion is not None:
                number = conversion.value(number)
            if number == number:
                values[canonical] = number
    missing = [CHANNEL_BY_NAME[c].label.lower() for c in FRAME_REQUIRED if c not in values]
    if missing:
        return f"missing {' and '.join(missing)}; every frame needs pump speed and blood flow"
    return values, event, device_timestamp


def _parse_pairs(text: str, lookup: Mapping[str, str], profile: ColumnProfile) -> _Sample | str:
    """key=value text (keyvalue and framed payloads); ``lookup`` maps folded keys to canonical."""
    fields = []
    separators = _PAIR_SEPARATORS_DECIMAL_COMMA if profile.decimal == "," else _PAIR_SEPARATORS
    for token in separators.split(_SPACED_EQUALS.sub("=", text.strip())):
        key, equals, value = token.partition("=")
        if token and (not equals or not key):
            return f"{token[:40]!r} is not a key=value pair"
        canonical = lookup.get(key.lower())
        if canonical is not None:  # other keys: channels this monitor does not use
            fields.append((key, canonical, value))
    return _collect(fields, profile)


def _folded(profile: ColumnProfile) -> dict[str, str]:
    return {k.strip().lower(): v for k, v in profile.mapping.items()}


class KeyValueParser(_LineParser):
    """``RPM=3100 FLOW=4.12 P1=-42 P2=182 P3=160`` lines, optional ``TS=`` and ``EVENT=``.

    Pairs are separated by spaces, tabs, commas or semicolons; keys are case-insensitive
    and mapped through the profile; unknown keys are ignored. ``TS`` must be ISO 8601 with
    a UTC offset and no spaces (``2026-01-01T08:00:00+01:00``).
    """

    def __init__(self, profile: ColumnProfile = KEYVALUE) -> None:
        super().__init__()
        self.profile = profile
        self._lookup = _folded(profile)

    def _parse(self, text: str) -> _Sample | str:
        return _parse_pairs(text, self._lookup, self.profile)


class DelimitedParser(_LineParser):
    """Tab- or comma-separated rows under a header line that the device repeats.

    A line is a header when the profile maps two of its names to pump speed and blood
    flow; a repeat of it is simply noted, a different one replaces it. The delimiter is
    taken from the header (tab, else comma, else semicolon). Empty cells are missing values.
    """

    def __init__(self, profile: ColumnProfile = CANONICAL) -> None:
        super().__init__()
        self.profile = profile
        self.header: tuple[str, ...] | None = None
        self._delimiter = ","
        self._columns: dict[int, str] = {}  # cell index -> canonical name

    def _parse(self, text: str) -> _Sample | str | None:
        delimiter = self.profile.delimiter or next((d for d in "\t,;" if d in text), ",")
        cells = _cells(text, delimiter)
        rename = self.profile.rename_map(cells)
        if all(c in rename.values() for c in FRAME_REQUIRED):
            if cells != self.header:
                self.header, self._delimiter = cells, delimiter
                # rename_map is keyed by name: a repeated name counts at its first place only
                self._columns = {
                    i: rename[name]
                    for i, name in enumerate(cells)
                    if cells.index(name) == i and name in rename
                }
            return None
        if self.header is None:
            return "row before any header line naming pump speed and blood flow"
        cells = _cells(text, self._delimiter)
        if len(cells) != len(self.header):
            return f"row has {len(cells)} field(s) but the header has {len(self.header)}"
        return _collect(
            ((self.header[i], c, cells[i]) for i, c in self._columns.items()), self.profile
        )


def _cells(text: str, delimiter: str) -> tuple[str, ...]:
    try:
        return tuple(cell.strip() for cell in next(csv.reader([text], delimiter=delimiter), []))
    except csv.Error:
        return (text,)


class FramedParser(FrameParser):
    """``STX payload checksum ETX`` packets; payload is key=value text (see KeyValueParser).

    The checksum is two hex digits of the XOR of the payload bytes. Bytes outside a packet
    are junk, reported once per run (a run ends at STX, CR/LF or MAX_LINE bytes); CR and
    LF between packets are allowed. An STX inside a packet starts over: the cut-off packet
    is bad and the new one is read, so the parser resynchronises on the next packet.
    """

    def __init__(self, profile: ColumnProfile = KEYVALUE) -> None:
        super().__init__()
        self.profile = profile
        self._lookup = _folded(profile)
        self._packet: bytearray | None = None  # None: outside a packet
        self._skipping = False  # inside the rest of an overlong packet
        self._junk = bytearray()

    def reset(self) -> list[ParseResult]:
        out: list[ParseResult] = []
        if self._packet is not None:
            out.append(self._bad(bytes(self._packet), "incomplete packet lost with the connection"))
        self._end_junk(out)
        self._packet, self._skipping = None, False
        return out

    def _feed(self, data: bytes, out: list[ParseResult]) -> None:
        for byte in data:
            packet = self._packet
            if byte == STX:
                if packet is not None:
                    out.append(self._bad(bytes(packet), "packet cut off by the next STX; dropped"))
                self._end_junk(out)
                self._packet, self._skipping = bytearray(), False
            elif self._skipping:
                self._skipping = byte != ETX
            elif packet is not None:
                if byte == ETX:
                    self._packet = None
                    out.append(self._close(bytes(packet)))
                elif len(packet) >= MAX_LINE:
                    out.append(self._bad(bytes(packet), f"packet over {MAX_LINE} bytes; dropped"))
                    self._packet, self._skipping = None, True
                else:
                    packet.append(byte)
            elif byte in (CR, LF):
                self._end_junk(out)
            else:
                self._junk.append(byte)
                if len(self._junk) >= MAX_LINE:
                    self._end_junk(out)

    def _end_junk(self, out: list[ParseResult]) -> None:
        if self._junk:
            junk = bytes(self._junk)
            out.append(self._bad(junk, f"{len(junk)} byte(s) outside any packet skipped"))
            self._junk.clear()

    def _close(self, body: bytes) -> ParseResult:
        if len(body) < 2:
            return self._bad(body, "packet too short to hold a checksum")
        payload, given = body[:-2], body[-2:]
        if not all(b in _HEX for b in given):
            return self._bad(body, f"checksum {given.decode('latin-1')!r} is not two hex digits")
        computed = checksum(payload)
        if int(given, 16) != computed:
            reason = (
                f"checksum mismatch: packet says {given.decode()}, payload gives {computed:02X}"
            )
            return self._bad(body, reason)
        result = _parse_pairs(payload.decode("utf-8", errors="replace"), self._lookup, self.profile)
        if isinstance(result, str):
            return self._bad(body, result)
        self.count += 1
        return ParsedFrame(*result, line=self.count)


def make_parser(protocol: str, profile: ColumnProfile | str | None = None) -> FrameParser:
    """A fresh parser for ``protocol`` under ``profile`` (a ColumnProfile or its name).

    Without a profile, delimited reads canonical names and keyvalue/framed the KEYVALUE ones.
    """
    check_protocol(protocol)
    if isinstance(profile, str):
        profile = get_profile(profile)
    if protocol == "delimited":
        return DelimitedParser(profile or CANONICAL)
    if protocol == "keyvalue":
        return KeyValueParser(profile or KEYVALUE)
    return FramedParser(profile or KEYVALUE)


def protocol_for_profile(profile_name: str) -> str:
    """The protocol a profile (a built-in name or a profile file) arrives in."""
    if profile_name in PROFILES or is_profile_file(profile_name):
        return get_profile(profile_name).protocol
    known = ", ".join(sorted(PROFILES))
    raise SourceError(
        f"Unknown serial profile {profile_name!r}; choose one of: {known}, or a profile file."
    )
