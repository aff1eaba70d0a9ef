"""The CLIF export: validated against CLIF's own schema files (tests/data/clif, from
clifpy 2.1.0), and its hourly medians equal to those pandas computes from the recording."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from adapters import clean_column, write_dataframe
from adapters.csv_reader import read_recording
from adapters.simulator import simulate

SCHEMAS = Path(__file__).parent / "data" / "clif"
SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
DTYPES = {
    "VARCHAR": "str",
    "DATETIME": "datetime64[us, UTC]",
    "DOUBLE": "float64",
    "FLOAT": "float64",
}
CHANNELS = {
    "rpm": "pump_speed_rpm",
    "flow": "blood_flow_lpm",
    "sweep": "sweep_gas_lpm",
    "fdo2": "fdo2",
    "p_ven": "p_venous_mmhg",
    "p_art": "p_post_oxy_mmhg",
    "delta_pressure": "delta_p_mmhg",
}


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "export", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_schema(table: pd.DataFrame, schema_file: str) -> None:
    schema = yaml.safe_load((SCHEMAS / schema_file).read_text())
    names = [c["name"] for c in schema["columns"]]
    assert list(table.columns) == names
    for column in schema["columns"]:
        values = table[column["name"]]
        assert str(values.dtype) == DTYPES[column["data_type"]], column["name"]
        if column["required"]:
            assert values.notna().all(), column["name"]
        if "permissible_values" in column:
            allowed = {str(v) for v in column["permissible_values"]}
            assert set(values.dropna()) <= allowed, column["name"]


def pandas_medians(data: pd.DataFrame) -> pd.DataFrame:
    """Hourly medians of the valid samples, computed independently with pandas."""
    hours = data["timestamp"].dt.floor("h")
    out = {}
    for category, channel in CHANNELS.items():
        raw = data[channel].to_numpy(dtype="float64", na_value=np.nan)
        valid = pd.Series(clean_column(raw, channel), index=data.index)
        out[category] = valid.groupby(hours).median()
    return pd.DataFrame(out)


def test_a_clif_3_export_of_a_sample_matches_the_schema_and_pandas_medians(tmp_path):
    sample = SAMPLES / "weaning_trial.csv"
    done = export(str(sample), "--hospitalization-id", "H-17", "--device-category",
                  "cardiohelp", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(tmp_path / "mcs.parquet")
    check_schema(table, "mcs_schema_3.0.yaml")
    assert set(table["hospitalization_id"]) == {"H-17"} and set(table["config_category"]) == {"v_v"}
    expected = pandas_medians(read_recording(sample).data)
    # the weaning trial's sweep is off for most of an hour: a median of 0 L/min is below
    # CLIF's 0.5 L/min and is left out and counted
    low = expected["sweep"] < 0.5
    assert low.sum() >= 1 and "sweep: " in done.stderr and "left out" in done.stderr
    expected.loc[low, "sweep"] = np.nan
    got = table.pivot(index="recorded_dttm", columns="setting_category", values="setting_value")
    got.index = got.index.as_unit("ns")
    expected.index = pd.DatetimeIndex(expected.index).as_unit("ns")
    for category in CHANNELS:
        pd.testing.assert_series_equal(
            got[category].rename(None), expected[category].rename(None),
            check_names=False, check_freq=False, check_index_type=False,
        )  # fmt: skip
    csv = pd.read_csv(tmp_path / "mcs.csv")
    assert len(csv) == len(table) and csv["recorded_dttm"].iloc[0].endswith("Z")


def test_a_folder_exports_to_one_clif_2_1_table(tmp_path):
    folder = tmp_path / "recs"
    folder.mkdir()
    first = simulate("stable", 2 * 3600, seed=1)
    second = simulate("stable", 2 * 3600, seed=2, start=first["timestamp"].iloc[-1].timestamp() + 1)
    write_dataframe(first, folder / "a.csv")
    write_dataframe(second, folder / "b.csv")
    done = export(str(folder), "--clif-version", "2.1", "--hospitalization-id", "H-2",
                  "--device-category", "rotaflow", "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(tmp_path / "out" / "ecmo_mcs.parquet")
    check_schema(table, "ecmo_mcs_schema_2.1.yaml")
    assert len(table) == 4 and "from 2 recording(s)" in done.stderr
    both = pd.concat([first, second], ignore_index=True)
    expected = pandas_medians(both)
    assert table["device_rate"].tolist() == expected["rpm"].tolist()
    assert table["flow"].tolist() == expected["flow"].tolist()
    assert table["fdO2"].tolist() == expected["fdo2"].tolist()


def test_the_outlier_ranges_are_clifs_own():
    from monitor.reports.clif import OUTLIER_RANGES

    config = yaml.safe_load((SCHEMAS / "outlier_config_ecmo_mcs.yaml").read_text())
    vv = {column: ranges["VV_ECMO"] for column, ranges in config["tables"]["ecmo_mcs"].items()}
    assert {
        "flow": (vv["flow"]["min"], vv["flow"]["max"]),
        "sweep": (vv["sweep"]["min"], vv["sweep"]["max"]),
        "fdo2": (vv["fdO2"]["min"], vv["fdO2"]["max"]),
    } == OUTLIER_RANGES


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--device-category", "toaster"], "not a CLIF 3.0 device category"),
        (["--device-category", "cardiohelp", "--clif-version", "2.1", "--hospitalization-id", " "],
         "needs a --hospitalization-id"),
    ],
)  # fmt: skip
def test_a_bad_request_stops_with_one_sentence(tmp_path, args, says):
    base = ["--hospitalization-id", "H", "--out", str(tmp_path)]
    done = export(str(SAMPLES / "stable.csv"), *base, *args)
    assert done.returncode == 2 and says in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_unusable_file_stops_with_one_sentence(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02 not a recording")
    done = export(str(bad), "--hospitalization-id", "H", "--device-category", "cardiohelp",
                  "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2 and "bad.csv" in done.stderr and "Traceback" not in done.stderr
