"""Lab results: the one place they are validated, and lab files (``timestamp,analyte,value,unit``).

:func:`lab_value` is the single check of a result, whoever brings it (a lab file, a lab
table handed to the analysis, a result entered at the bedside): analyte names are
matched loosely (``PfHb``, ``plasma free hemoglobin``, ``LDH`` ...), common units are
converted to the contract's (mg/dL, U/L), and a result that cannot be used is a
:class:`LabError` with one sentence. :func:`read_labs` reads a lab file: a row that
cannot be used is counted, reported with its line, and skipped; a file that cannot be
used at all raises TelemetryError with one sentence.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd

from .contract import CHANNEL_BY_NAME, TIMESTAMP
from .csv_reader import ReadReport
from .errors import TelemetryError

#: Names a person or a lab file may use for each analyte (matched case-insensitively,
#: with underscores and repeated spaces read as one space).
ANALYTE_ALIASES: dict[str, tuple[str, ...]] = {
    "plasma_free_hb_mg_dl": (
        "plasma_free_hb_mg_dl",
        "pfhb",
        "plasma free hb",
        "plasma free hemoglobin",
        "plasma free haemoglobin",
        "free hb",
        "fhb",
    ),
    "ldh_u_l": ("ldh_u_l", "ldh", "lactate dehydrogenase"),
    "haptoglobin_mg_dl": ("haptoglobin_mg_dl", "haptoglobin", "hapto"),
    "bilirubin_mg_dl": ("bilirubin_mg_dl", "bilirubin", "total bilirubin", "tbil", "bili"),
    "post_oxy_po2_mmhg": ("post_oxy_po2_mmhg", "post oxy po2", "post oxygenator po2"),
    "post_oxy_pco2_mmhg": ("post_oxy_pco2_mmhg", "post oxy pco2", "post oxygenator pco2"),
    "post_oxy_so2_pct": ("post_oxy_so2_pct", "post oxy so2", "post oxygenator so2"),
    "pre_oxy_po2_mmhg": ("pre_oxy_po2_mmhg", "pre oxy po2", "pre oxygenator po2"),
    "pre_oxy_so2_pct": ("pre_oxy_so2_pct", "pre oxy so2", "pre oxygenator so2"),
    "central_venous_so2_pct": (
        "central_venous_so2_pct",
        "central venous so2",
        "scvo2",
        "svo2 patient",
    ),
}
_PRESSURES = ("post_oxy_po2_mmhg", "post_oxy_pco2_mmhg", "pre_oxy_po2_mmhg")
_SATURATIONS = ("post_oxy_so2_pct", "pre_oxy_so2_pct", "central_venous_so2_pct")
#: (canonical analyte, unit as written, lower-cased) -> factor to the contract's unit.
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("plasma_free_hb_mg_dl", "mg/dl"): 1.0,
    ("plasma_free_hb_mg_dl", "mg/l"): 0.1,
    ("plasma_free_hb_mg_dl", "g/l"): 100.0,
    ("ldh_u_l", "u/l"): 1.0,
    ("ldh_u_l", "iu/l"): 1.0,
    ("ldh_u_l", "µkat/l"): 60.0,
    ("ldh_u_l", "ukat/l"): 60.0,
    ("haptoglobin_mg_dl", "mg/dl"): 1.0,
    ("haptoglobin_mg_dl", "g/l"): 100.0,
    ("bilirubin_mg_dl", "mg/dl"): 1.0,
    ("bilirubin_mg_dl", "µmol/l"): 1 / 17.1,
    ("bilirubin_mg_dl", "umol/l"): 1 / 17.1,
    **{(gas, "mmhg"): 1.0 for gas in _PRESSURES},
    **{(gas, "kpa"): 7.50062 for gas in _PRESSURES},
    **{(gas, "%"): 1.0 for gas in _SATURATIONS},
}


def _spoken(text: str) -> str:
    return " ".join(str(text).replace("_", " ").split()).lower()


_ANALYTES = {_spoken(alias): name for name, aliases in ANALYTE_ALIASES.items() for alias in aliases}


class LabError(TelemetryError, ValueError):
    """A lab result that cannot be used, as one sentence.

    ``column`` says which part of the result is wrong: ``analyte``, ``unit`` or ``value``.
    Also a ValueError, which is what callers entering a result by hand catch.
    """

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


def canonical_analyte(text: str) -> str | None:
    """The contract's name of an analyte as a person or a lab file writes it, if known."""
    return _ANALYTES.get(_spoken(text))


def lab_value(analyte: str, value: float | str, unit: str | None = None) -> tuple[str, float]:
    """(canonical analyte, value in the contract's unit) of one result; LabError if unusable.

    ``unit`` empty or None means the contract's unit. The value must be a finite number
    within the analyte's plausible range (``contract.CHANNELS``).
    """
    name = canonical_analyte(analyte)
    if name is None:
        raise LabError(
            f"Unknown lab analyte {analyte!r}; use one of {', '.join(ANALYTE_ALIASES)}.",
            "analyte",
        )
    channel = CHANNEL_BY_NAME[name]
    written = (unit or "").strip()
    factor = UNIT_FACTORS.get((name, written.lower())) if written else 1.0
    if factor is None:
        known = ", ".join(u for (n, u), _ in UNIT_FACTORS.items() if n == name)
        raise LabError(
            f"A {channel.label} result in {written!r} cannot be converted to {channel.unit}; "
            f"give it in one of {known}.",
            "unit",
        )
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        raise LabError(
            f"A {channel.label} result of {value!r} is not a number; give it in {channel.unit}.",
            "value",
        ) from None
    if not math.isfinite(number):
        raise LabError(
            f"A {channel.label} result of {value!r} is not a finite number; check the value.",
            "value",
        )
    number *= factor
    if not channel.low <= number <= channel.high:
        raise LabError(
            f"A {channel.label} of {number:g} {channel.unit} is outside the plausible range "
            f"{channel.low:g} to {channel.high:g} {channel.unit}; check the value.",
            "value",
        )
    return name, number


def read_labs(path: str | Path) -> tuple[pd.DataFrame, ReadReport]:
    """(table with timestamp, analyte, value, unit in contract units; the read report)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise TelemetryError(f"{source}: no such file.") from None
    except OSError as exc:
        raise TelemetryError(f"{source}: cannot be read ({exc.strerror}).") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:  # a stray CR, NUL or quote the csv module cannot place
        raise TelemetryError(f"{path}: is not a readable lab table ({exc}).") from None
    header_index = next(
        (i for i, row in enumerate(rows) if any(cell.strip() for cell in row)), None
    )
    if header_index is None:
        raise TelemetryError(
            f"{source}: the lab file is empty; expected timestamp,analyte,value,unit."
        )
    header = [cell.strip().lower() for cell in rows[header_index]]
    missing = [c for c in ("timestamp", "analyte", "value") if c not in header]
    if missing:
        raise TelemetryError(
            f"{source}: lab file column(s) missing: {', '.join(missing)}; "
            "expected timestamp,analyte,value,unit."
        )
    at = {name: header.index(name) for name in ("timestamp", "analyte", "value")}
    unit_at = header.index("unit") if "unit" in header else None
    report = ReadReport(source=source, profile="labs")
    out = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            report.reject(offset, f"{len(row)} fields where the header has {len(header)}")
            continue
        unit = row[unit_at] if unit_at is not None else None
        try:
            name, value = lab_value(row[at["analyte"]], row[at["value"]].strip(), unit)
        except LabError as exc:
            report.reject(offset, str(exc), exc.column)
            continue
        when = pd.to_datetime(
            row[at["timestamp"]].strip(), format="ISO8601", utc=True, errors="coerce"
        )
        if pd.isna(when):
            report.reject(
                offset, f"timestamp {row[at['timestamp']]!r} is not an ISO 8601 time", "timestamp"
            )
            continue
        out.append(
            {TIMESTAMP: when, "analyte": name, "value": value, "unit": CHANNEL_BY_NAME[name].unit}
        )
    report.rows = len(out)
    if not out:
        raise TelemetryError(f"{source}: none of the lab rows could be used.")
    frame = pd.DataFrame(out)
    frame[TIMESTAMP] = pd.DatetimeIndex(frame[TIMESTAMP])
    return frame.sort_values(TIMESTAMP, kind="stable").reset_index(drop=True), report
