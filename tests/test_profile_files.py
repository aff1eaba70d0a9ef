"""A console the project does not know, described in a TOML profile file, without code.

The file names the columns or keys, the channel of each, units and scale, a "no value"
sentinel, the delimiter and the decimal mark; ``--profile FILE.toml`` takes it for
``analyze``, ``run --replay`` and ``run --serial``. A bad file is refused in one sentence
naming the file and the key. The built-in profiles are such files.
"""

from __future__ import annotations

import math
import tomllib

import pytest

from adapters import TelemetryError
from adapters.contract import CHANNELS, EVENT, TIMESTAMP
from adapters.csv_reader import read_recording
from adapters.profiles import PROFILES, get_profile
from adapters.protocols import make_parser, protocol_for_profile
from adapters.wire import SHORT_KEYS
from monitor.cli import main

ACME = """
name = "acme"
description = "Acme console export: semicolons, decimal commas, hundredths of a L/min"
delimiter = ";"
decimal = ","
not_available = -32000

[columns]
Zeit = "timestamp"
Drehzahl = "pump_speed_rpm"
Fluss = { channel = "blood_flow_lpm", scale = 0.01 }
Pvor = { channel = "p_pre_oxy_mmhg", unit = "kPa" }
Pnach = { channel = "p_post_oxy_mmhg", unit = "kPa" }
Temp = { channel = "temp_c", scale = 0.1 }
Notiz = "event"
"""
ACME_ROWS = [
    "Zeit;Drehzahl;Fluss;Pvor;Pnach;Temp;Notiz",
    "2026-01-01T08:00:00Z;3200;412;26,7;24,0;370;",
    "2026-01-01T08:00:01Z;3200;-32000;26,7;24,0;371;Kanüle geprüft",
    "2026-01-01T08:00:02Z;3210;415;26,8;24,1;-32000;",
]


def profile_file(tmp_path, text: str = ACME, name: str = "acme.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def acme_export(tmp_path):
    path = tmp_path / "acme-export.csv"
    path.write_text("\n".join(ACME_ROWS) + "\n", encoding="utf-8")
    return path


def test_a_site_profile_reads_its_consoles_export_in_contract_units(tmp_path):
    recording = read_recording(acme_export(tmp_path), str(profile_file(tmp_path)))
    data = recording.data
    assert recording.report.profile == "acme" and recording.report.rejected_rows == 0
    assert data["blood_flow_lpm"].iloc[0] == pytest.approx(4.12)
    assert math.isnan(data["blood_flow_lpm"].iloc[1])  # -32000: no value, not an artifact
    assert data["p_pre_oxy_mmhg"].iloc[0] == pytest.approx(26.7 * 7.500617, rel=1e-6)
    assert data["temp_c"].tolist()[:2] == pytest.approx([37.0, 37.1])
    assert math.isnan(data["temp_c"].iloc[2])
    assert data["event"].iloc[1] == "Kanüle geprüft"
    assert recording.report.artifacts == 0


def test_analyze_takes_a_profile_file(tmp_path, capsys):
    out = tmp_path / "analysis.json"
    argv = ["analyze", str(acme_export(tmp_path)), "--profile", str(profile_file(tmp_path))]
    assert main([*argv, "--out", str(out)]) == 0
    assert '"samples": 3' in out.read_text()


def test_a_keyvalue_console_in_tenths_is_read_through_a_profile_file(tmp_path):
    text = """
protocol = "keyvalue"
not_available = -32000
[columns]
SPD = "pump_speed_rpm"
QB = { channel = "blood_flow_lpm", unit = "mL/min" }
PIN = "p_pre_oxy_mmhg"
POUT = "p_post_oxy_mmhg"
TB = { channel = "temp_c", scale = 0.1 }
"""
    path = profile_file(tmp_path, text, "site-kv.toml")
    assert protocol_for_profile(str(path)) == "keyvalue"
    parser = make_parser("keyvalue", str(path))
    [frame, bad] = parser.feed(
        b"SPD=3100 QB=4120 PIN=200 POUT=180 TB=371\r\nSPD=3100 QB=-32000\r\n"
    )
    assert frame.values == pytest.approx(
        {
            "pump_speed_rpm": 3100,
            "blood_flow_lpm": 4.12,
            "p_pre_oxy_mmhg": 200,
            "p_post_oxy_mmhg": 180,
            "temp_c": 37.1,
        }
    )
    assert "missing blood flow" in bad.reason  # the sentinel is no value at all


def test_a_profile_may_extend_a_built_in_one(tmp_path):
    text = 'extends = "generic"\nname = "generic-hundredths"\n[columns]\nFlow = { channel = "blood_flow_lpm", scale = 0.01 }\n'
    profile = get_profile(str(profile_file(tmp_path, text, "g.toml")))
    assert profile.rename_map(["RPM", "Flow", "P2", "P3", "time"]) == {
        "RPM": "pump_speed_rpm",
        "Flow": "blood_flow_lpm",
        "P2": "p_pre_oxy_mmhg",
        "P3": "p_post_oxy_mmhg",
        "time": "timestamp",
    }
    assert profile.conversion("flow").value(412) == pytest.approx(4.12)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[columns]\nRPM = "pump_speed"\n', "'RPM'", "does not know"),
        (
            '[columns]\nFlow = { channel = "blood_flow_lpm", unit = "gal/h" }\n',
            "'gal/h'",
            "cannot be converted",
        ),
        ('[columns]\nRPM = "pump_speed_rpm"\nRPM = "blood_flow_lpm"\n', "'RPM'", "given twice"),
        ('[columns]\nRPM = "pump_speed_rpm"\nrpm = "blood_flow_lpm"\n', "'rpm'", "given twice"),
        ('colour = "blue"\n[columns]\nRPM = "pump_speed_rpm"\n', "'colour'", "unknown key"),
        (
            '[columns]\nFlow = { channel = "blood_flow_lpm", scale = "x" }\n',
            "'Flow'",
            "must be a number",
        ),
        ('delimiter = ","\ndecimal = ","\n[columns]\nRPM = "pump_speed_rpm"\n', "','", "differ"),
        ('[columns\nRPM = "pump_speed_rpm"\n', "", "not valid TOML"),
    ],
)
def test_a_bad_profile_is_refused_in_one_sentence_naming_the_file_and_the_key(
    tmp_path, text, key, problem
):
    path = profile_file(tmp_path, text, "bad.toml")
    with pytest.raises(TelemetryError) as caught:
        get_profile(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and key in message and problem in message
    assert message.count(". ") == 0 and len(message) <= 300


@pytest.mark.parametrize("command", ["analyze", "replay", "serial"])
def test_every_command_refuses_a_bad_profile_with_exit_2(tmp_path, capsys, command):
    bad = profile_file(tmp_path, '[columns]\nRPM = "pump_speed"\n', "bad.toml")
    sample = acme_export(tmp_path)
    argv = {
        "analyze": ["analyze", str(sample)],
        "replay": ["run", "--replay", str(sample), "--data-dir", str(tmp_path / "d")],
        "serial": ["run", "--serial", "loop://", "--data-dir", str(tmp_path / "d")],
    }[command]
    assert main([*argv, "--profile", str(bad)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert str(bad) in line and "'RPM'" in line


def test_the_built_in_profiles_are_profile_files(tmp_path):
    from adapters import profiles

    folder = profiles._BUILTIN_FOLDER
    assert sorted(p.stem for p in folder.glob("*.toml")) == sorted(PROFILES)
    for name, profile in PROFILES.items():
        document = tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
        assert document["name"] == name
        copied = profile_file(tmp_path, (folder / f"{name}.toml").read_text(), f"{name}.toml")
        if "extends" not in document:  # a site may copy a built-in file and edit it
            assert get_profile(str(copied)).mapping == profile.mapping
    canonical = PROFILES["canonical"].mapping
    assert (
        {c.name for c in CHANNELS} | {TIMESTAMP, EVENT} == set(canonical) == set(canonical.values())
    )
    keyvalue = {k.lower(): v for k, v in PROFILES["keyvalue"].mapping.items()}
    assert all(keyvalue[short.lower()] == name for name, short in SHORT_KEYS.items())
    assert (
        PROFILES["framed"].protocol == "framed"
        and PROFILES["framed"].mapping == PROFILES["keyvalue"].mapping
    )
