"""Units a console may send a channel in, and how each converts to the contract's unit.

A profile file (``profile_files.py``) names the unit of a column; the reader converts
every value to the channel's contract unit (``contract.CHANNELS``) before anything else
sees it. Only exact, physical conversions live here; a unit not listed is refused.
Names match case-insensitively; ``u`` stands for ``µ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import CHANNEL_BY_NAME

_MMHG_PER_KPA = 7.500616827
_MMHG_PER_CMH2O = 0.735559
_G_DL_PER_MMOL_L_HB = 1.6114  # haemoglobin monomer, 16 114.5 g/mol
_MG_DL_PER_UMOL_L_BILIRUBIN = 1 / 17.104  # bilirubin, 584.66 g/mol

#: contract unit -> {accepted unit: (factor, offset)}: value_in_contract = raw * factor + offset
_BY_UNIT: dict[str, dict[str, tuple[float, float]]] = {
    "rpm": {"rpm": (1.0, 0.0), "1/min": (1.0, 0.0), "min-1": (1.0, 0.0)},
    "L/min": {"L/min": (1.0, 0.0), "lpm": (1.0, 0.0), "mL/min": (0.001, 0.0)},
    "mmHg": {
        "mmHg": (1.0, 0.0),
        "kPa": (_MMHG_PER_KPA, 0.0),
        "cmH2O": (_MMHG_PER_CMH2O, 0.0),
    },
    "fraction": {"fraction": (1.0, 0.0), "%": (0.01, 0.0)},
    "%": {"%": (1.0, 0.0), "fraction": (100.0, 0.0)},
    "g/dL": {"g/dL": (1.0, 0.0), "g/L": (0.1, 0.0)},
    "°C": {"°C": (1.0, 0.0), "C": (1.0, 0.0), "degC": (1.0, 0.0), "°F": (5 / 9, -160 / 9)},
    "mg/dL": {"mg/dL": (1.0, 0.0), "mg/L": (0.1, 0.0), "g/L": (100.0, 0.0)},
    "U/L": {"U/L": (1.0, 0.0), "IU/L": (1.0, 0.0), "ukat/L": (60.0, 0.0)},
}
#: Conversions that hold for one channel only (they depend on the substance's molar mass).
_BY_CHANNEL: dict[str, dict[str, tuple[float, float]]] = {
    "hb_g_dl": {"mmol/L": (_G_DL_PER_MMOL_L_HB, 0.0)},
    "bilirubin_mg_dl": {"umol/L": (_MG_DL_PER_UMOL_L_BILIRUBIN, 0.0)},
}


def _fold(unit: str) -> str:
    return unit.strip().replace("µ", "u").replace("μ", "u").casefold()


def accepted_units(channel: str) -> list[str]:
    """The units a profile may give for ``channel`` (the contract's own first)."""
    unit = CHANNEL_BY_NAME[channel].unit
    return [*_BY_UNIT.get(unit, {unit: (1.0, 0.0)}), *_BY_CHANNEL.get(channel, {})]


def unit_factor(channel: str, unit: str) -> tuple[float, float] | None:
    """(factor, offset) taking ``unit`` to ``channel``'s contract unit, or None if unknown."""
    contract = CHANNEL_BY_NAME[channel].unit
    table = {**_BY_UNIT.get(contract, {contract: (1.0, 0.0)}), **_BY_CHANNEL.get(channel, {})}
    folded = {_fold(name): conversion for name, conversion in table.items()}
    return folded.get(_fold(unit))


@dataclass(frozen=True, slots=True)
class Conversion:
    """How one source column's raw numbers become contract values.

    A raw value equal to ``sentinel`` means "no value" (NaN); any other is multiplied by
    ``factor`` and shifted by ``offset`` (the column's scale and unit folded together).
    """

    factor: float = 1.0
    offset: float = 0.0
    sentinel: float | None = None

    @property
    def identity(self) -> bool:
        return self.factor == 1.0 and self.offset == 0.0 and self.sentinel is None

    def value(self, raw: float) -> float:
        if self.sentinel is not None and raw == self.sentinel:
            return float("nan")
        return raw * self.factor + self.offset

    def array(self, raw: np.ndarray) -> np.ndarray:
        out = raw * self.factor + self.offset if (self.factor, self.offset) != (1.0, 0.0) else raw
        if self.sentinel is not None:
            out = np.where(raw == self.sentinel, np.nan, out)
        return out
