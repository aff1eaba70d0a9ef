"""The rules configuration: shipped defaults from CLINICAL.md, site overrides, clear errors."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from adapters.errors import TelemetryError
from rules import ConfigError, analyze, default_config, load_config
from tests.test_rules_support import at, only, recording, step


def test_defaults_are_the_clinical_reference_numbers():
    config = load_config()
    assert (config.delta_p_rise.medium_mmhg, config.delta_p_rise.high_mmhg) == (30, 40)
    assert config.delta_p_rise.on_delay_s == 15
    assert config.delta_p_rise.baseline_window_min == 30
    assert (config.flow_drop.medium_pct, config.flow_drop.high_pct) == (20, 35)
    assert config.flow_drop.on_delay_s == 10
    assert config.flow_drop.speed_tolerance_pct == 5
    assert config.flow_low.high_lpm == 1.0
    assert config.flow_low.minimum_ml_kg_min == 50
    pressures = config.drainage_pressure_low
    assert (pressures.medium_mmhg, pressures.high_mmhg, pressures.on_delay_s) == (-80, -100, 5)
    returns = config.post_oxy_pressure_high
    assert (returns.medium_mmhg, returns.high_mmhg, returns.on_delay_s) == (300, 350, 5)
    labs = config.hemolysis
    assert (labs.pfhb_medium_mg_dl, labs.pfhb_high_mg_dl) == (50, 100)
    assert (labs.ldh_factor, labs.ldh_limit_u_l) == (2.5, 1000)
    assert (labs.haptoglobin_low_mg_dl, labs.bilirubin_high_mg_dl) == (30, 2)
    assert (config.data_stale.live_quiet_s, config.data_stale.recording_gap_s) == (5, 10)
    assert config.alarms.latching == ("high",)
    assert default_config() is load_config()


def test_every_shipped_setting_is_commented_in_the_toml_file():
    text = resources.files("rules").joinpath("defaults.toml").read_text(encoding="utf-8")
    sections = tomllib.loads(text)
    assert set(sections) == set(default_config().to_dict())
    assert text.count("#") > 40


def test_site_file_overrides_one_threshold_and_keeps_the_rest(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[post_oxy_pressure_high]\nhigh_mmhg = 320\n", encoding="utf-8")
    config = load_config(site)
    assert config.post_oxy_pressure_high.high_mmhg == 320.0
    assert config.post_oxy_pressure_high.medium_mmhg == 300.0
    assert config.delta_p_rise.high_mmhg == 40.0
    assert config.sources == ("defaults.toml", str(site))

    data = recording(1200, p_post_oxy_mmhg=step(600, 175, 330))
    assert [e.priority for e in analyze(data).episodes] == ["medium"]
    episodes = list(analyze(data, config).episodes)
    assert only(episodes, "post_oxy_pressure_high", "high").start == at(605)


def test_integer_values_are_accepted_for_numbers(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[delta_p_rise]\non_delay_s = 20\n", encoding="utf-8")
    assert load_config(site).delta_p_rise.on_delay_s == 20.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[delta_p_rise]\nhigh = 45\n", ["unknown key 'high'", "[delta_p_rise]", "high_mmhg"]),
        ("[delta_p]\nhigh_mmhg = 45\n", ["unknown section [delta_p]"]),
        ('[delta_p_rise]\nhigh_mmhg = "45"\n', ["[delta_p_rise] high_mmhg", "must be a number"]),
        ("[delta_p_rise]\nhigh_mmhg = true\n", ["[delta_p_rise] high_mmhg", "must be a number"]),
        ("[flow_drop]\non_delay_s = -1\n", ["[flow_drop] on_delay_s", "cannot be negative"]),
        ("[timing]\nhold_fraction = 1.5\n", ["[timing] hold_fraction", "at most 1"]),
        ('[alarms]\nlatching = ["urgent"]\n', ["[alarms] latching", "'urgent'"]),
        ("[delta_p_rise\nhigh_mmhg = 45\n", ["not a valid TOML file"]),
        ("delta_p_rise = 45\n", ["[delta_p_rise] table"]),
    ],
)
def test_a_bad_site_file_is_one_sentence_naming_file_and_key(tmp_path, text, words):
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(site)
    message = str(caught.value)
    assert message.startswith(str(site))
    for word in words:
        assert word in message
    assert "\n" not in message
    assert isinstance(caught.value, TelemetryError)


def test_missing_site_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nowhere.toml")


def test_override_checks_like_a_file():
    config = default_config().override({"flow_low": {"high_lpm": 1.5}}, source="what-if")
    assert config.flow_low.high_lpm == 1.5
    with pytest.raises(ConfigError, match="what-if: unknown key 'low_lpm'"):
        default_config().override({"flow_low": {"low_lpm": 1.5}}, source="what-if")
