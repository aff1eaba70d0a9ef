"""From a file's bytes to UTF-8 text lines a CSV reader can split, or one sentence why not.

Real exports arrive as UTF-8 with or without a byte order mark, as UTF-16 with one
(spreadsheet "Unicode text"), with CR-only line endings (serial captures of consoles that
end lines with CR), and with semicolons and decimal commas (European console exports).
Each of those is read; a binary file, UTF-16 without its mark and a header that is not
text are refused with a :class:`TelemetryError` that never echoes the bytes.
"""

from __future__ import annotations

import codecs
import csv
import re

import numpy as np

from .errors import TelemetryError, quoted

#: Bytes that never appear in text: C0 controls but tab, LF, CR; and DEL.
_CONTROL = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_CONTROL_RE = re.compile(b"[" + re.escape(_CONTROL) + b"]")
_DECIMAL_COMMA = re.compile(rb"\d,\d")
#: A file with more control bytes than this share (and more than a few) is binary.
_BINARY_SHARE = 0.01
_BINARY_MIN = 8
_DELIMITERS = ",\t;|"


#: Bytes counted at a time by :func:`count_bytes`: its scratch stays small beside a long
#: recording, and each part is one vector pass per byte value (not a byte-by-byte loop).
_PART = 1 << 22


def count_bytes(raw: bytes, values: tuple[int, ...], below: int | None = None, start: int = 0):
    """How many bytes of ``raw[start:]`` equal each of ``values`` (a list in their
    order), and, if ``below`` is given, how many are less than it (one more, at the end)."""
    data = np.frombuffer(raw, dtype=np.uint8)[start:]
    counts = [0] * (len(values) + (below is not None))
    for at in range(0, data.size, _PART):
        part = data[at : at + _PART]
        for i, value in enumerate(values):
            counts[i] += int(np.count_nonzero(part == value))
        if below is not None:
            counts[-1] += int(np.count_nonzero(part < below))
    return counts


def _control_count(raw: bytes) -> tuple[int, int]:
    """The control bytes (see ``_CONTROL``) in ``raw``, and its CR bytes."""
    lf, delete, low = count_bytes(raw, (10, 127), below=32)
    if low == lf:  # the usual file: no byte below 32 but LF, so no tab, CR or control
        return delete, 0
    tab, cr = count_bytes(raw, (9, 13))
    return low - tab - lf - cr + delete, cr


def _first_line_with(raw: bytes, pattern: re.Pattern) -> int:
    found = pattern.search(raw)
    return 1 + raw.count(b"\n", 0, found.start()) if found else 0


def _looks_utf16(raw: bytes) -> bool:
    """NUL in most odd or most even positions of the start: UTF-16 without its mark."""
    sample = raw[:2000]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.4


def text_bytes(raw: bytes, source: str, warnings: list[str]) -> bytes:
    """The file's content as UTF-8 bytes with LF (or CRLF) line ends.

    Raises TelemetryError for a binary file or an encoding that cannot be known.
    """
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[3:]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise TelemetryError(
                f"{source}: begins with a UTF-16 byte order mark but is not UTF-16 text "
                "(damaged, or not a CSV recording)."
            ) from None
        warnings.append("read as UTF-16 text (it had a UTF-16 byte order mark)")
    elif _looks_utf16(raw):
        raise TelemetryError(
            f"{source}: looks like UTF-16 text without a byte order mark (unknown encoding); "
            "save it as UTF-8, or as UTF-16 with its byte order mark."
        )
    control, cr = _control_count(raw)
    if control:
        if control >= _BINARY_MIN and control > _BINARY_SHARE * len(raw):
            line = _first_line_with(raw, _CONTROL_RE)
            raise TelemetryError(
                f"{source}: is a binary file, not CSV text ({control} control bytes, the "
                f"first on line {line}); expected a CSV recording."
            )
        line = _first_line_with(raw, _CONTROL_RE)
        raw = _CONTROL_RE.sub(b"?", raw)
        warnings.append(
            f"{control} control character(s) (first on line {line}) were replaced by '?'; "
            "numbers containing one are rejected"
        )
    # a CR not followed by LF: more CRs than CRLF pairs (each pair holds exactly one CR)
    if cr and cr > raw.count(b"\r\n"):
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw


def split_header(raw: bytes, source: str, required: tuple[str, ...]) -> tuple[int, str, int]:
    """(header line number, header text, byte offset where the body starts)."""
    position = 0
    line_no = 0
    while position < len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end + 1
        line_no += 1
        line = raw[position:end]
        position = end
        if line.strip():
            try:
                header = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise TelemetryError(
                    f"{source}: its header (line {line_no}) is not UTF-8 or UTF-16 text "
                    "(unknown encoding); save the file as UTF-8."
                ) from None
            return line_no, header, position
    raise TelemetryError(
        f"{source}: the file is empty; expected a CSV header naming at least {', '.join(required)}."
    )


def detect_delimiter(header: str) -> str:
    """The delimiter the header uses most (comma when it uses none)."""
    return max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","


def detect_decimal(body: memoryview | bytes, delimiter: str) -> str:
    """A decimal comma when the delimiter is not a comma and numbers like ``4,12`` appear."""
    if delimiter == ",":
        return "."
    return "," if _DECIMAL_COMMA.search(bytes(body[:65536])) else "."


def header_cells(header: str, delimiter: str, source: str) -> list[str]:
    """The header's column names; a header that cannot be split or repeats a name is refused."""
    try:
        cells = next(csv.reader([header], delimiter=delimiter), [])
    except csv.Error:
        raise TelemetryError(
            f"{source}: its header cannot be split into columns (an unterminated quote or an "
            "overlong name)."
        ) from None
    seen: dict[str, str] = {}
    for cell in cells:
        folded = cell.strip().casefold()
        if not folded:
            continue
        if folded in seen:
            raise TelemetryError(
                f"{source}: the header names the column {quoted(cell)} twice; each column "
                "needs its own name."
            )
        seen[folded] = cell
    return cells
