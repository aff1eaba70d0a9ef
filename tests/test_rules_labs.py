"""Lab results are validated in one place (adapters.labs.lab_value): a lab file, a lab
table handed to the analysis and a result entered by hand accept the same names and
units and refuse the same values, with the same sentences."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from adapters.contract import LAB_COLUMNS
from adapters.errors import TelemetryError
from adapters.labs import lab_value, read_labs
from rules import IncrementalEngine, analyze
from tests.test_rules_support import at, only, recording

NAMES = {
    "PfHb": "plasma_free_hb_mg_dl",
    "plasma free hemoglobin": "plasma_free_hb_mg_dl",
    "Plasma_Free_Hb": "plasma_free_hb_mg_dl",
    "fhb": "plasma_free_hb_mg_dl",
    "LDH": "ldh_u_l",
    "lactate dehydrogenase": "ldh_u_l",
    "hapto": "haptoglobin_mg_dl",
    "haptoglobin_mg_dl": "haptoglobin_mg_dl",
    "total_bilirubin": "bilirubin_mg_dl",
    "TBil": "bilirubin_mg_dl",
}


def test_every_lab_channel_is_known_by_its_own_name():
    assert {lab_value(name, 1.0)[0] for name in LAB_COLUMNS} == set(LAB_COLUMNS)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_a_name_a_lab_file_accepts_is_accepted_when_entered_by_hand(name, tmp_path):
    path = tmp_path / "labs.csv"
    path.write_text(f"timestamp,analyte,value,unit\n2026-01-01T09:00:00Z,{name},1.5,\n")
    table, report = read_labs(path)
    assert (list(table["analyte"]), report.rejected_rows) == ([NAMES[name]], 0)
    engine = IncrementalEngine()
    engine.add_lab(name, 1.5, at(0))  # refused for hapto, LDH's long name, TBil ... before
    assert lab_value(name, 1.5) == (NAMES[name], 1.5)


def test_units_are_converted_the_same_way_in_a_file_a_table_and_by_hand(tmp_path):
    path = tmp_path / "labs.csv"
    path.write_text("timestamp,analyte,value,unit\n2026-01-01T09:00:00Z,pfhb,1.3,g/L\n")
    table, _ = read_labs(path)
    assert table["value"].tolist() == [pytest.approx(130.0)]
    assert lab_value("bilirubin", 34.2, "µmol/L") == ("bilirubin_mg_dl", pytest.approx(2.0))
    # a table handed to the analysis in g/L was refused ("convert it first") before
    labs = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([at(600)], unit="s", utc=True),
            "analyte": ["PfHb"],
            "value": [1.3],
            "unit": ["g/L"],
        }
    )
    high = only(list(analyze(recording(1800), labs=labs).episodes), "hemolysis", "high")
    assert high.peak == pytest.approx(130.0)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "words"),
    [
        ("sodium", 140.0, None, "Unknown lab analyte 'sodium'; use one of plasma_free_hb_mg_dl"),
        ("pfhb", 5.0, "mmol/L", "cannot be converted to mg/dL"),
        ("ldh", "lots", None, "'lots' is not a number"),
        ("ldh", math.nan, None, "not a finite number"),
        ("ldh", math.inf, None, "not a finite number"),
        ("ldh", -5.0, None, "outside the plausible range 0 to 50000 U/L"),
    ],
)
def test_a_result_that_cannot_be_used_is_one_sentence_everywhere(analyte, value, unit, words):
    with pytest.raises(TelemetryError, match=words) as raised:
        lab_value(analyte, value, unit)
    assert str(raised.value).endswith(".")
    engine = IncrementalEngine()
    with pytest.raises(ValueError, match=words):  # what the session's callers catch
        engine.add_lab(analyte, value, at(0), unit)


def test_a_lab_file_reports_each_unusable_row_with_the_same_sentence(tmp_path):
    path = tmp_path / "labs.csv"
    path.write_text(
        "timestamp,analyte,value,unit\n"
        "2026-01-01T09:00:00Z,pfhb,8,mg/dL\n"
        "2026-01-01T09:10:00Z,sodium,140,mmol/L\n"
        "2026-01-01T09:20:00Z,ldh,-5,U/L\n"
        "2026-01-01T09:30:00Z,pfhb,5,mmol/L\n"
    )
    table, report = read_labs(path)
    assert len(table) == 1 and report.rejected_rows == 3
    problems = {p.line: (p.column, p.message) for p in report.problems}
    assert problems[3][0] == "analyte" and "Unknown lab analyte 'sodium'" in problems[3][1]
    assert problems[4][0] == "value" and "outside the plausible range" in problems[4][1]
    assert problems[5][0] == "unit" and "cannot be converted to mg/dL" in problems[5][1]
