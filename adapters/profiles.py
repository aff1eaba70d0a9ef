"""The built-in column profiles, the choice of one by name or file, and detection by header.

A profile maps source column names (matched case-insensitively, surrounding spaces
ignored) to canonical ones, so a QA user can load another console's export unedited. The
built-in ones are TOML files in ``builtin_profiles/``, in the format a site uses for a
console the project does not know (``profile_files.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import TelemetryError, shown_header
from .profile_files import ColumnProfile, read_profile_file

__all__ = [
    "CANONICAL",
    "CARDIOHELP",
    "GENERIC",
    "KEYVALUE",
    "PROFILES",
    "ColumnProfile",
    "detect_profile",
    "get_profile",
]

_BUILTIN_FOLDER = Path(__file__).with_name("builtin_profiles")


def _builtins() -> dict[str, ColumnProfile]:
    loaded: dict[str, ColumnProfile] = {}
    # keyvalue first: framed extends it
    for name in ("canonical", "generic", "cardiohelp", "keyvalue", "framed"):
        loaded[name] = read_profile_file(_BUILTIN_FOLDER / f"{name}.toml", loaded)
    return loaded


PROFILES: dict[str, ColumnProfile] = _builtins()
CANONICAL = PROFILES["canonical"]
GENERIC = PROFILES["generic"]
CARDIOHELP = PROFILES["cardiohelp"]
KEYVALUE = PROFILES["keyvalue"]
#: Profiles tried, in order, when detecting a file's profile from its header.
_DETECTABLE = (CANONICAL, GENERIC, CARDIOHELP)


def is_profile_file(name: str) -> bool:
    """True when ``--profile`` names a file rather than a built-in profile."""
    return name.lower().endswith(".toml") or "/" in name or "\\" in name


def get_profile(name: str) -> ColumnProfile:
    """A built-in profile by name, or the profile a ``.toml`` file describes."""
    if is_profile_file(name):
        return read_profile_file(name, PROFILES)
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise TelemetryError(
            f"Unknown column profile {name!r}; choose one of: {known}, or give a profile "
            "file (NAME.toml)."
        ) from None


def detect_profile(header: Iterable[str], source: str = "the file") -> ColumnProfile:
    """The one profile under which ``header`` has every required column.

    Raises TelemetryError naming the missing columns (for the closest profile) or the
    ambiguity, so the user knows to pass ``--profile``.
    """
    header = list(header)
    fits = [p for p in _DETECTABLE if not p.missing_required(header)]
    if len(fits) == 1:
        return fits[0]
    if len(fits) > 1:
        # canonical names win: a recording of our own is never ambiguous
        if fits[0] is CANONICAL:
            return CANONICAL
        names = " and ".join(p.name for p in fits)
        raise TelemetryError(
            f"{source}: the header fits both the {names} column profiles; choose one with --profile."
        )
    best = min(_DETECTABLE, key=lambda p: len(p.missing_required(header)))
    missing = best.missing_required(header)
    shown = ", ".join(
        f"{c} ({best.source_name(c)})" if best is not CANONICAL else c for c in missing
    )
    raise TelemetryError(
        f"{source}: required column(s) missing: {shown}; the header has: {shown_header(header)}."
    )
