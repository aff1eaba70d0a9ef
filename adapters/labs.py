"""Lab results as a separate long file: ``timestamp,analyte,value,unit``.

Analyte names are matched loosely (``PfHb``, ``plasma free hemoglobin``, ``LDH`` ...) and
common units are converted to the contract's (mg/dL, U/L). A row that cannot be used is
counted, reported with its line, and skipped; a file that cannot be used at all raises
TelemetryError with one sentence.
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

_ALIASES = {
    "plasma_free_hb_mg_dl": (
        "plasma_free_hb_mg_dl",
        "pfhb",
        "plasma free hb",
        "plasma free hemoglobin",
        "plasma_free_hb",
        "free hb",
        "fhb",
        "plasma free haemoglobin",
    ),
    "ldh_u_l": ("ldh_u_l", "ldh", "lactate dehydrogenase"),
    "haptoglobin_mg_dl": ("haptoglobin_mg_dl", "haptoglobin", "hapto"),
    "bilirubin_mg_dl": ("bilirubin_mg_dl", "bilirubin", "total bilirubin", "tbil", "bili"),
}
ANALYTES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
#: (canonical analyte, unit as written, lower-cased) -> factor to the contract's unit.
UNIT_FACTORS = {
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
}


def canonical_analyte(text: str) -> str | None:
    return ANALYTES.get(" ".join(str(text).replace("_", " ").split()).lower()) or ANALYTES.get(
        str(text).strip().lower()
    )


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
    rows = list(csv.reader(io.StringIO(text)))
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
            f"{source}: lab file column(s) missing: {', '.join(missing)}; expected timestamp,analyte,value,unit."
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
        name = canonical_analyte(row[at["analyte"]])
        if name is None:
            report.reject(offset, f"unknown analyte {row[at['analyte']]!r}", "analyte")
            continue
        try:
            value = float(row[at["value"]])
        except ValueError:
            report.reject(offset, f"{row[at['value']]!r} is not a number", "value")
            continue
        channel = CHANNEL_BY_NAME[name]
        unit = row[unit_at].strip() if unit_at is not None else ""
        factor = 1.0 if not unit else UNIT_FACTORS.get((name, unit.lower()))
        if factor is None:
            report.reject(
                offset, f"{channel.label} in {unit!r} cannot be converted to {channel.unit}", "unit"
            )
            continue
        value *= factor
        when = pd.to_datetime(
            row[at["timestamp"]].strip(), format="ISO8601", utc=True, errors="coerce"
        )
        if pd.isna(when):
            report.reject(
                offset, f"timestamp {row[at['timestamp']]!r} is not an ISO 8601 time", "timestamp"
            )
            continue
        if not math.isfinite(value) or not channel.low <= value <= channel.high:
            report.reject(
                offset,
                f"{channel.label} {value:g} {channel.unit} is outside {channel.low:g} to {channel.high:g}",
                "value",
            )
            continue
        out.append({TIMESTAMP: when, "analyte": name, "value": value, "unit": channel.unit})
    report.rows = len(out)
    if not out:
        raise TelemetryError(f"{source}: none of the lab rows could be used.")
    frame = pd.DataFrame(out)
    frame[TIMESTAMP] = pd.DatetimeIndex(frame[TIMESTAMP])
    return frame.sort_values(TIMESTAMP, kind="stable").reset_index(drop=True), report
