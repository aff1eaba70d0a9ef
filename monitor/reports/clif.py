"""Research export in CLIF (Common Longitudinal ICU data Format): the circuit's settings
charted per interval, as CLIF 3.0 ``mcs`` (long) or CLIF 2.1 ``ecmo_mcs`` (wide).

One row per setting per charting interval (default an hour, from the clock's whole
hours): the median of the interval's valid samples (present, plausible by the telemetry
contract, not marked as an artifact); a setting without a valid sample in an interval is
left out for it. A value outside CLIF's own outlier range for VV ECMO (clifpy 2.1.0,
``schemas/outlier_config.yaml``, ``ecmo_mcs``: flow 1-10 L/min, sweep 0.5-20 L/min,
FdO2 0.21-1.0) is left out and counted. ``recorded_dttm`` is the start of the interval,
in UTC. A folder of recordings is one table: the samples of every file are pooled.

The column names, categories and permissible values are CLIF's (the schema files of
clifpy 2.1.0, ``schemas/3.0/mcs_schema.yaml`` and ``schemas/2.1/ecmo_mcs_schema.yaml``);
clifpy itself pins pandas 2, so it is not a dependency here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapters import TIMESTAMP, TelemetryError, clean_column, epoch_seconds, read_recording

VERSIONS = ("3.0", "2.1")
#: CLIF 3.0 mcs: device_category's permissible values.
DEVICE_CATEGORIES = ("cardiohelp", "rotaflow", "centrimag", "tandemheart", "impella", "durable")
#: setting_category -> (contract channel, setting_name, CLIF 2.1 wide column)
SETTINGS: dict[str, tuple[str, str, str | None]] = {
    "rpm": ("pump_speed_rpm", "pump speed (rpm)", "device_rate"),
    "flow": ("blood_flow_lpm", "blood flow (L/min)", "flow"),
    "sweep": ("sweep_gas_lpm", "sweep gas (L/min)", "sweep"),
    "fdo2": ("fdo2", "FdO2 (fraction)", "fdO2"),
    "p_ven": ("p_venous_mmhg", "drainage pressure P1 (mmHg)", None),
    "p_art": ("p_post_oxy_mmhg", "return pressure P3, post-oxygenator (mmHg)", None),
    "delta_pressure": ("delta_p_mmhg", "oxygenator delta P (mmHg)", None),
}
#: CLIF's outlier ranges for VV ECMO (clifpy 2.1.0 outlier_config.yaml, ecmo_mcs, VV_ECMO).
OUTLIER_RANGES: dict[str, tuple[float, float]] = {
    "flow": (1.0, 10.0),
    "sweep": (0.5, 20.0),
    "fdo2": (0.21, 1.0),
}
MCS_COLUMNS = (
    "hospitalization_id",
    "recorded_dttm",
    "support_name",
    "support_category",
    "device_name",
    "device_category",
    "config_name",
    "config_category",
    "setting_name",
    "setting_category",
    "setting_value",
)
ECMO_MCS_COLUMNS = (
    "hospitalization_id",
    "recorded_dttm",
    "device_name",
    "device_category",
    "mcs_group",
    "device_metric_name",
    "device_rate",
    "sweep",
    "flow",
    "fdO2",
)


class ExportError(TelemetryError):
    """An export that cannot be made, as one sentence."""


@dataclass(slots=True)
class ExportResult:
    """The table and what was left out: outliers per setting, empty intervals per setting."""

    table: pd.DataFrame
    files: list[str]
    intervals: int
    outliers: Counter = field(default_factory=Counter)
    empty: Counter = field(default_factory=Counter)

    def summary_lines(self) -> list[str]:
        lines = [
            f"{len(self.table)} rows from {len(self.files)} recording(s), "
            f"{self.intervals} charting interval(s)"
        ]
        for category, count in sorted(self.outliers.items()):
            low, high = OUTLIER_RANGES[category]
            lines.append(
                f"{category}: {count} interval median(s) outside CLIF's range {low:g}-{high:g} "
                "left out"
            )
        for category, count in sorted(self.empty.items()):
            lines.append(f"{category}: {count} interval(s) without a valid sample left out")
        return lines


def recordings_in(path: str | Path) -> list[Path]:
    """A recording, or every ``*.csv`` of a folder (sorted); ExportError if none."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.csv") if p.is_file())
        if not files:
            raise ExportError(f"{path}: the folder holds no recording (*.csv) to export.")
        return files
    return [path]


def _valid(data: pd.DataFrame, channel: str) -> np.ndarray:
    if channel not in data.columns:
        return np.full(len(data), np.nan)
    raw = data[channel].to_numpy(dtype="float64", na_value=np.nan)
    if channel == "delta_p_mmhg":  # derived as pre minus post where the device sent none
        pre, post = (
            data[c].to_numpy(dtype="float64", na_value=np.nan)
            if c in data.columns
            else raw * np.nan
            for c in ("p_pre_oxy_mmhg", "p_post_oxy_mmhg")
        )
        raw = np.where(np.isnan(raw), pre - post, raw)
    mask = None
    if "artifact_mask" in data.columns:
        mask = data["artifact_mask"].to_numpy(dtype="int64", na_value=0)
    return clean_column(raw, channel, mask)


def hourly_medians(
    frames: list[pd.DataFrame], interval_s: float = 3600.0
) -> tuple[pd.DataFrame, Counter, Counter, int]:
    """Per interval start (UTC) and setting category, the median of the valid samples;
    with the outliers and empty intervals left out, and the number of intervals."""
    seconds = np.concatenate([epoch_seconds(f[TIMESTAMP]) for f in frames if len(f)])
    starts = np.floor(seconds / interval_s) * interval_s
    medians = {}
    outliers, empty = Counter(), Counter()
    intervals = np.unique(starts)
    for category, (channel, _name, _wide) in SETTINGS.items():
        values = np.concatenate([_valid(f, channel) for f in frames if len(f)])
        grouped = pd.Series(values).groupby(starts).median()  # NaN skipped; all NaN: NaN
        grouped = grouped.reindex(intervals)
        empty[category] += int(grouped.isna().sum())
        if category in OUTLIER_RANGES:
            low, high = OUTLIER_RANGES[category]
            out = grouped.notna() & ~grouped.between(low, high)
            outliers[category] += int(out.sum())
            grouped = grouped.where(~out)
        medians[category] = grouped
    table = pd.DataFrame(medians, index=intervals)
    table.index = pd.to_datetime(table.index, unit="s", utc=True)
    return table, +outliers, +empty, int(intervals.size)


def export_clif(
    path: str | Path,
    *,
    hospitalization_id: str,
    device_category: str,
    version: str = "3.0",
    device_name: str | None = None,
    interval_s: float = 3600.0,
    profile: str | None = None,
) -> ExportResult:
    """The CLIF table of a recording or a folder of recordings."""
    if version not in VERSIONS:
        raise ExportError(f"CLIF version {version!r} is not one this exports; use 3.0 or 2.1.")
    if not hospitalization_id or not hospitalization_id.strip():
        raise ExportError("A CLIF export needs a --hospitalization-id.")
    if version == "3.0" and device_category not in DEVICE_CATEGORIES:
        raise ExportError(
            f"{device_category!r} is not a CLIF 3.0 device category; use one of "
            f"{', '.join(DEVICE_CATEGORIES)}."
        )
    files = recordings_in(path)
    frames = [read_recording(f, profile=profile).data for f in files]
    if not any(len(f) for f in frames):
        raise ExportError(f"{path}: no data rows to export.")
    table, outliers, empty, intervals = hourly_medians(frames, interval_s)
    name = device_name or device_category
    if version == "3.0":
        long = table.rename_axis("recorded_dttm").reset_index()
        long = long.melt(
            id_vars="recorded_dttm", var_name="setting_category", value_name="setting_value"
        )
        long = long.dropna(subset=["setting_value"])
        order = {c: i for i, c in enumerate(SETTINGS)}
        long = long.sort_values(
            ["recorded_dttm", "setting_category"],
            key=lambda s: s.map(order) if s.name == "setting_category" else s,
            kind="stable",
        )
        out = pd.DataFrame(
            {
                "hospitalization_id": hospitalization_id,
                "recorded_dttm": long["recorded_dttm"].to_numpy(),
                "support_name": "ECMO",
                "support_category": "ecmo",
                "device_name": name,
                "device_category": device_category,
                "config_name": "VV ECMO",
                "config_category": "v_v",
                "setting_name": long["setting_category"].map(lambda c: SETTINGS[c][1]).to_numpy(),
                "setting_category": long["setting_category"].to_numpy(),
                "setting_value": long["setting_value"].to_numpy(dtype="float64"),
            },
            columns=MCS_COLUMNS,
        )
    else:
        wide = {SETTINGS[c][2]: table[c].to_numpy() for c in SETTINGS if SETTINGS[c][2]}
        out = pd.DataFrame(
            {
                "hospitalization_id": hospitalization_id,
                "recorded_dttm": table.index,
                "device_name": name,
                "device_category": "VV_ECMO",
                "mcs_group": "ECMO",
                "device_metric_name": "rpm",
                **wide,
            },
            columns=ECMO_MCS_COLUMNS,
        )
    out = out.reset_index(drop=True)
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].astype("str")
    return ExportResult(out, [str(f) for f in files], intervals, outliers, empty)


def write_clif(result: ExportResult, out_dir: str | Path, version: str) -> list[Path]:
    """``<table>.parquet`` and ``<table>.csv`` (ISO 8601 UTC times) in ``out_dir``."""
    out_dir = Path(out_dir)
    stem = "mcs" if version == "3.0" else "ecmo_mcs"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        parquet, csv = out_dir / f"{stem}.parquet", out_dir / f"{stem}.csv"
        result.table.to_parquet(parquet, engine="pyarrow", index=False)
        text = result.table.copy()
        text["recorded_dttm"] = text["recorded_dttm"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        text.to_csv(csv, index=False)
    except OSError as exc:
        raise ExportError(f"{out_dir}: the export cannot be written ({exc.strerror}).") from None
    return [parquet, csv]
