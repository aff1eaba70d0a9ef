"""The what-if form: every rules setting, grouped by rule, labelled in words with its unit.

Each input starts at the value in force and shows the shipped default beside it; a value
that differs from the default is marked. Running it analyses the open recording again
with the form's settings (or an uploaded TOML file) and compares the two.
"""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Callable

from dash import ALL, MATCH, Dash, Input, Output, State, ctx, dcc, html

from adapters import TelemetryError
from rules import RULE_IDS, RulesConfig, default_config, rule_title

#: Unit suffixes of the settings' names (rules/defaults.toml), longest first.
_UNITS: tuple[tuple[str, str], ...] = (
    ("_ml_kg_min", "mL/kg/min"),
    ("_mg_dl", "mg/dL"),
    ("_u_l", "U/L"),
    ("_mmhg", "mmHg"),
    ("_lpm", "L/min"),
    ("_pct", "%"),
    ("_min", "min"),
    ("_s", "s"),
)
_WORDS = {"pfhb": "PfHb", "ldh": "LDH", "min": "minimum"}
#: Titles of the sections that are not a rule of their own.
_SECTION_TITLES = {"timing": "Timing of every rule", "alarms": "Alarms"}


def section_title(section: str) -> str:
    return rule_title(section) if section in RULE_IDS else _SECTION_TITLES.get(section, section)


def setting_words(key: str) -> tuple[str, str]:
    """A setting's name in words and its unit: ``on_delay_s`` is ("on delay", "s")."""
    unit = ""
    for suffix, name in _UNITS:
        if key.endswith(suffix):
            key, unit = key[: -len(suffix)], name
            break
    text = " ".join(_WORDS.get(word, word) for word in key.split("_"))
    return text[:1].upper() + text[1:], unit


def _field(section: str, key: str, value: float, default: float) -> html.Label:
    words, unit = setting_words(key)
    ident = {"section": section, "key": key}
    return html.Label(
        [
            html.Span(f"{words} ({unit})" if unit else words, className="whatif-key"),
            dcc.Input(id={"type": "whatif", **ident}, type="number", value=value, debounce=True),
            html.Span(f"default {default:g}", className="whatif-default"),
        ],
        id={"type": "whatif-field", **ident},
        className=_field_class(value, default),
        title=f"[{section}] {key}",
    )


def _field_class(value, default: float) -> str:
    changed = value is not None and float(value) != float(default)
    return "whatif-field changed" if changed else "whatif-field"


def whatif_form(in_force: RulesConfig) -> list:
    """The form's groups: one per rule (and timing), each under its title."""
    defaults = default_config().to_dict()
    groups = []
    for section, values in in_force.to_dict().items():
        fields = [
            _field(section, key, value, defaults[section][key])
            for key, value in values.items()
            if not isinstance(value, list)
        ]
        if fields:
            groups.append(
                html.Fieldset(
                    [html.Legend(section_title(section)), *fields],
                    className="whatif-group",
                    **{"data-section": section},
                )
            )
    return groups


def settings_from(upload: str | None, values: list, ids: list[dict]) -> dict[str, dict]:
    """The what-if settings: an uploaded TOML file's, else the form's.

    TelemetryError (one sentence) for a file that is not TOML or an empty input.
    """
    if upload:
        try:
            text = base64.b64decode(upload.split(",", 1)[1]).decode("utf-8")
            return tomllib.loads(text)
        except (ValueError, IndexError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise TelemetryError(f"The uploaded file is not valid TOML ({exc}).") from None
    settings: dict[str, dict] = {}
    for ident, value in zip(ids, values, strict=True):
        if value is None:
            words, unit = setting_words(ident["key"])
            title = section_title(ident["section"])
            raise TelemetryError(
                f"{title}: {words.lower()} needs a number{f' in {unit}' if unit else ''}."
            )
        settings.setdefault(ident["section"], {})[ident["key"]] = float(value)
    return settings


def register(app: Dash, compare_with: Callable[[object, Callable[[], dict]], html.Div]) -> None:
    """The what-if callbacks.

    ``compare_with(key, settings)`` checks the user, analyses the recording of catalog key
    ``key`` with ``settings()`` and renders the comparison (or the refusal).
    """

    @app.callback(
        Output({"type": "whatif-field", "section": MATCH, "key": MATCH}, "className"),
        Input({"type": "whatif", "section": MATCH, "key": MATCH}, "value"),
        prevent_initial_call=True,
    )
    def mark_changed(value):
        ident = ctx.triggered_id
        default = default_config().to_dict().get(ident["section"], {}).get(ident["key"])
        return "whatif-field" if default is None else _field_class(value, default)

    @app.callback(
        Output("whatif-result", "children"),
        Input("whatif-run", "n_clicks"),
        Input("whatif-upload", "contents"),
        State({"type": "whatif", "section": ALL, "key": ALL}, "value"),
        State({"type": "whatif", "section": ALL, "key": ALL}, "id"),
        State("qa-open", "data"),
        prevent_initial_call=True,
    )
    def what_if(_run, upload, values, ids, key):
        uploaded = upload if ctx.triggered_id == "whatif-upload" else None
        return compare_with(key, lambda: settings_from(uploaded, values, ids))
