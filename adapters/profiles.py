"""Column profiles: how a console or export names the contract's channels.

A profile maps source column names (matched case-insensitively, surrounding spaces
ignored) to canonical ones, so a QA user can load another console's export unedited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .contract import EVENT, NUMERIC_COLUMNS, REQUIRED_COLUMNS, TIMESTAMP
from .errors import TelemetryError
from .wire import EVENT_KEY, SHORT_KEYS, TIME_KEY

_TIME_ALIASES = ("timestamp", "time", "datetime", "date_time", "date/time", "utc")
_COMMON_EXTRAS = {
    "sweep": "sweep_gas_lpm",
    "gas": "sweep_gas_lpm",
    "fdo2": "fdo2",
    "fio2": "fdo2",
    "svo2": "svo2_pct",
    "hb": "hb_g_dl",
    "hgb": "hb_g_dl",
    "temp": "temp_c",
    "t": "temp_c",
    "pfhb": "plasma_free_hb_mg_dl",
    "ldh": "ldh_u_l",
    "haptoglobin": "haptoglobin_mg_dl",
    "bilirubin": "bilirubin_mg_dl",
    "event": EVENT,
    "events": EVENT,
    "note": EVENT,
}


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """A named mapping from a device's channel names to canonical column names."""

    name: str
    mapping: Mapping[str, str]
    description: str = ""

    def _folded(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.mapping.items()}

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


def _with_common(specific: dict[str, str]) -> dict[str, str]:
    mapping = {alias: TIMESTAMP for alias in _TIME_ALIASES}
    mapping.update(_COMMON_EXTRAS)
    mapping.update(specific)
    return mapping


CANONICAL = ColumnProfile(
    "canonical",
    {TIMESTAMP: TIMESTAMP, EVENT: EVENT, **{c: c for c in NUMERIC_COLUMNS}},
    "ecmo-monitor's own names, as recordings are written",
)
GENERIC = ColumnProfile(
    "generic",
    _with_common(
        {
            "RPM": "pump_speed_rpm",
            "Flow": "blood_flow_lpm",
            "P1": "p_venous_mmhg",
            "P2": "p_pre_oxy_mmhg",
            "P3": "p_post_oxy_mmhg",
            "dP": "delta_p_mmhg",
        }
    ),
    "generic console export: RPM, Flow, P1 (venous), P2 (pre-oxygenator), P3 (post), dP",
)
CARDIOHELP = ColumnProfile(
    "cardiohelp",
    _with_common(
        {
            "RPM": "pump_speed_rpm",
            "Flow": "blood_flow_lpm",
            "Pven": "p_venous_mmhg",
            "Pint": "p_pre_oxy_mmhg",
            "Part": "p_post_oxy_mmhg",
            "dP": "delta_p_mmhg",
            "deltaP": "delta_p_mmhg",
        }
    ),
    "Cardiohelp-style export: RPM, Flow, Pven, Pint (pre-oxygenator), Part (post)",
)
KEYVALUE = ColumnProfile(
    "keyvalue",
    {
        **{c: c for c in NUMERIC_COLUMNS},
        TIMESTAMP: TIMESTAMP,
        TIME_KEY: TIMESTAMP,
        EVENT: EVENT,
        EVENT_KEY: EVENT,
        **{short: canonical for canonical, short in SHORT_KEYS.items()},
    },
    "key=value lines: RPM=3100 FLOW=4.12 P1=-42 P2=182 P3=160 (canonical names accepted too)",
)

PROFILES: dict[str, ColumnProfile] = {p.name: p for p in (CANONICAL, GENERIC, CARDIOHELP, KEYVALUE)}
#: Profiles tried, in order, when detecting a file's profile from its header.
_DETECTABLE = (CANONICAL, GENERIC, CARDIOHELP)


def get_profile(name: str) -> ColumnProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise TelemetryError(f"Unknown column profile {name!r}; choose one of: {known}.") from None


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
        f"{source}: required column(s) missing: {shown}; the header has: "
        f"{', '.join(h for h in header if h) or 'nothing'}."
    )
