"""Column profiles and the TOML files that describe them, so a site adds a console without code.

A profile names the columns (CSV) or keys (serial key=value) a console sends, the
canonical channel each carries, the unit and scale of each, a "no value" sentinel, the
delimiter and the decimal mark. The built-in profiles are such files
(``adapters/builtin_profiles/*.toml``); ``docs/profiles.md`` shows the format::

    name = "acme-ecmo"
    protocol = "delimited"        # serial only: delimited, keyvalue or framed
    delimiter = ";"               # detected from the header when not given
    decimal = ","                 # "." (default) or ","
    not_available = -32000        # a raw value meaning "no value", in every column
    extends = "generic"           # optional: start from a built-in profile

    [columns]
    Time = "timestamp"
    RPM = "pump_speed_rpm"
    Flow = { channel = "blood_flow_lpm", scale = 0.01 }     # hundredths of a L/min
    Temp = { channel = "temp_c", unit = "°C", scale = 0.1 }

A file that cannot be used raises :class:`TelemetryError` with one sentence naming the
file and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .contract import CHANNEL_BY_NAME, EVENT, REQUIRED_COLUMNS, TIMESTAMP
from .errors import TelemetryError, quoted
from .units import Conversion, accepted_units, unit_factor
from .wire import PROTOCOLS

#: A profile file larger than this is not a profile.
MAX_PROFILE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (".", ",")
_TOP_KEYS = frozenset(
    {"name", "description", "protocol", "delimiter", "decimal", "not_available", "extends"}
)
_COLUMN_KEYS = frozenset({"channel", "unit", "scale", "not_available"})
_TARGETS = frozenset({TIMESTAMP, EVENT, *CHANNEL_BY_NAME})


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """How a console names, scales and delimits the contract's channels.

    ``mapping`` takes source names (matched case-insensitively, surrounding spaces
    ignored) to canonical ones; ``conversions`` (by folded source name) turn a column's
    raw numbers into contract units; ``delimiter`` and ``decimal`` None mean detected from
    the file (the header's most used delimiter; a decimal comma when numbers like ``4,12``
    appear in a file not delimited by commas).
    """

    name: str
    mapping: Mapping[str, str]
    description: str = ""
    conversions: Mapping[str, Conversion] = field(default_factory=dict)
    protocol: str = "delimited"
    delimiter: str | None = None
    decimal: str | None = None

    def _folded(self) -> dict[str, str]:
        return {k.strip().lower(): v for k, v in self.mapping.items()}

    def rename_map(self, header: Iterable[str]) -> dict[str, str]:
        """Source header name -> canonical name, for the header names this profile knows."""
        out: dict[str, str] = {}
        taken: set[str] = set()
        folded = self._folded()
        for column in header:
            canonical = folded.get(column.strip().lower())
            if canonical is not None and canonical not in taken:
                out[column] = canonical
                taken.add(canonical)
        return out

    def missing_required(self, header: Iterable[str]) -> list[str]:
        """Canonical required columns this header lacks under this profile."""
        present = set(self.rename_map(header).values())
        return [c for c in REQUIRED_COLUMNS if c not in present]

    def source_name(self, canonical: str) -> str:
        """The first source name this profile uses for a canonical column (for messages)."""
        for src, dst in self.mapping.items():
            if dst == canonical:
                return src
        return canonical

    def conversion(self, source: str) -> Conversion | None:
        """The conversion of a source column's numbers, or None when they are taken as sent."""
        return self.conversions.get(source.strip().lower())


_shown = quoted


def _number(value: object, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TelemetryError(f"{source}: {where} must be a number, not {_shown(value)}.")
    return float(value)


def _conversion(spec: Mapping, key: str, channel: str, sentinel, source: str) -> Conversion:
    scale = _number(spec.get("scale", 1.0), f"the scale of column {_shown(key)}", source)
    if scale == 0:
        raise TelemetryError(f"{source}: the scale of column {_shown(key)} cannot be 0.")
    unit = spec.get("unit")
    factor, offset = 1.0, 0.0
    if unit is not None:
        if channel not in CHANNEL_BY_NAME:
            raise TelemetryError(
                f"{source}: column {_shown(key)} carries {channel}, which has no unit."
            )
        found = unit_factor(channel, unit) if isinstance(unit, str) else None
        if found is None:
            raise TelemetryError(
                f"{source}: column {_shown(key)} gives unit {_shown(unit)}, which cannot be "
                f"converted to {CHANNEL_BY_NAME[channel].unit} for {channel}; use one of: "
                f"{', '.join(accepted_units(channel))}."
            )
        factor, offset = found
    if "not_available" in spec:
        sentinel = _number(spec["not_available"], f"not_available of {_shown(key)}", source)
    return Conversion(scale * factor, offset, sentinel)


def _duplicate_key(source: str, text: str, message: str) -> TelemetryError | None:
    """A sentence naming the key TOML refused to overwrite, from tomllib's line number."""
    found = re.search(r"line (\d+)", message)
    if "overwrite" not in message or not found:
        return None
    lines = text.splitlines()
    number = int(found.group(1))
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    key = line.split("=", 1)[0].strip().strip("\"'[] ")
    return TelemetryError(f"{source}: the key {_shown(key)} is given twice (line {number}).")


def parse_profile(
    text: str, source: str, builtins: Mapping[str, ColumnProfile] | None = None
) -> ColumnProfile:
    """The profile a TOML text describes; ``source`` names it, ``extends`` one of ``builtins``."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        duplicate = _duplicate_key(source, text, str(exc))
        raise duplicate or TelemetryError(f"{source}: is not valid TOML ({exc}).") from None
    unknown = sorted(set(document) - _TOP_KEYS - {"columns"})
    if unknown:
        raise TelemetryError(
            f"{source}: unknown key {_shown(unknown[0])}; a profile has "
            f"{', '.join(sorted(_TOP_KEYS))} and a [columns] table."
        )
    settings = {k: document[k] for k in _TOP_KEYS if k in document}
    for key in ("name", "description", "extends"):
        if key in settings and not isinstance(settings[key], str):
            raise TelemetryError(f"{source}: {key} must be text, not {_shown(settings[key])}.")
    base = None
    if "extends" in settings:
        base = (builtins or {}).get(settings["extends"])
        if base is None:
            raise TelemetryError(
                f"{source}: extends {_shown(settings['extends'])}, which is not a built-in "
                f"profile ({', '.join(sorted(builtins or {}))})."
            )
    protocol = settings.get("protocol", base.protocol if base else "delimited")
    if protocol not in PROTOCOLS:
        raise TelemetryError(
            f"{source}: protocol {_shown(protocol)} is not one of {', '.join(PROTOCOLS)}."
        )
    delimiter = settings.get("delimiter", base.delimiter if base else None)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise TelemetryError(
            f"{source}: delimiter {_shown(delimiter)} is not one of: comma, semicolon, tab, bar."
        )
    decimal = settings.get("decimal", base.decimal if base else None)
    if decimal is not None and (decimal not in DECIMALS or decimal == delimiter):
        raise TelemetryError(
            f"{source}: decimal {_shown(decimal)} must be '.' or ',' and differ from the delimiter."
        )
    sentinel = None
    if "not_available" in settings:
        sentinel = _number(settings["not_available"], "not_available", source)
    columns = document.get("columns", {})
    if not isinstance(columns, dict) or (not columns and base is None):
        raise TelemetryError(f"{source}: needs a [columns] table naming at least one column.")
    mapping = dict(base.mapping) if base else {}
    conversions = dict(base.conversions) if base else {}
    if sentinel is not None:  # a file-wide sentinel applies to the base's columns too
        conversions = {k: replace(c, sentinel=sentinel) for k, c in conversions.items()}
    seen: dict[str, str] = {}
    for key, spec in columns.items():
        folded = key.strip().lower()
        if not folded:
            raise TelemetryError(f"{source}: a column key is empty.")
        if folded in seen:
            raise TelemetryError(
                f"{source}: the column key {_shown(key)} is given twice (as {_shown(seen[folded])} "
                f"and {_shown(key)}; names match regardless of case)."
            )
        seen[folded] = key
        if isinstance(spec, str):
            spec = {"channel": spec}
        if not isinstance(spec, dict):
            raise TelemetryError(
                f"{source}: column {_shown(key)} must name a channel or be a table with one."
            )
        extra = sorted(set(spec) - _COLUMN_KEYS)
        if extra:
            raise TelemetryError(
                f"{source}: column {_shown(key)} has unknown key {_shown(extra[0])}; "
                f"a column has {', '.join(sorted(_COLUMN_KEYS))}."
            )
        channel = spec.get("channel")
        if channel not in _TARGETS:
            raise TelemetryError(
                f"{source}: column {_shown(key)} names channel {_shown(channel)}, which the "
                "contract does not know (see DESIGN.md section 2 for the channel names)."
            )
        for name in [n for n in mapping if n.strip().lower() == folded]:
            del mapping[name]  # the file's own entry replaces the base's
        mapping[key] = channel
        conversions.pop(folded, None)
        if channel in CHANNEL_BY_NAME:
            conversion = _conversion(spec, key, channel, sentinel, source)
            if not conversion.identity:
                conversions[folded] = conversion
        elif set(spec) - {"channel"}:
            raise TelemetryError(
                f"{source}: column {_shown(key)} carries {channel}, which takes no unit, "
                "scale or not_available."
            )
    name = settings.get("name") or Path(source).stem
    description = settings.get("description", base.description if base else "")
    return ColumnProfile(name, mapping, description, conversions, protocol, delimiter, decimal)


def read_profile_file(
    path: str | Path, builtins: Mapping[str, ColumnProfile] | None = None
) -> ColumnProfile:
    """Load a profile file; ``extends`` names one of ``builtins``."""
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
    except FileNotFoundError:
        raise TelemetryError(f"{source}: no such profile file.") from None
    except IsADirectoryError:
        raise TelemetryError(f"{source}: is a folder, not a profile file.") from None
    except OSError as exc:
        raise TelemetryError(f"{source}: cannot be read ({exc.strerror}).") from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise TelemetryError(
            f"{source}: is larger than {MAX_PROFILE_BYTES // 1024} KiB; not a profile file."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TelemetryError(f"{source}: is not UTF-8 text; a profile is a TOML file.") from None
    return parse_profile(text, source, builtins)
