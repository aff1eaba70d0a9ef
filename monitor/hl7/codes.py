"""The one code table of the HL7 link: what each OBX is called, in which system, with
which UCUM unit (the README lists it).

- IEEE 11073-10101 (MDC, coding system ``MDC``) where the nomenclature has the quantity:
  blood temperature, venous O2 saturation. The numeric codes (partition 2, SCADA) are as
  monitors report them in IHE PCD-01 messages.
- SNOMED CT (``SCT``) where it has a concept for the circuit, as the German Medical
  Informatics Initiative's intensive care module codes ECMO: blood flow 251288004, gas
  (sweep) flow 79063001, extracorporeal venous pressure 252076005 (drainage, P1),
  extracorporeal arterial pressure 386534000 (return, P3).
- LOINC (``LN``) for laboratory and blood gas results, as the record codes them.
- Otherwise a local code (``99ECMO``, documented here): pump speed, pre-oxygenator
  pressure, delta P, resistance, FdO2, exhaust CO2, and every alarm rule.

The alarm attributes of IHE PCD ACM (event phase, state, priority, type) are MDC codes.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL = "99ECMO"


@dataclass(frozen=True, slots=True)
class Code:
    """An OBX-3 observation identifier and its OBX-6 unit."""

    code: str
    text: str
    system: str
    unit: str  # UCUM
    unit_text: str

    @property
    def identifier(self) -> str:
        """OBX-3 as ``code^text^system``."""
        return f"{self.code}^{self.text}^{self.system}"

    @property
    def units(self) -> str:
        """OBX-6 as ``code^text^UCUM``."""
        return f"{self.unit}^{self.unit_text}^UCUM"


#: Contract channel -> its code, in the order the OBX segments are sent.
OBSERVATIONS: dict[str, Code] = {
    "pump_speed_rpm": Code("PUMP-SPEED", "ECMO pump speed", LOCAL, "/min", "rpm"),
    "blood_flow_lpm": Code("251288004", "ECMO blood flow", "SCT", "L/min", "L/min"),
    "p_venous_mmhg": Code(
        "252076005", "Extracorporeal venous pressure (drainage, P1)", "SCT", "mm[Hg]", "mmHg"
    ),
    "p_pre_oxy_mmhg": Code("P-PRE-OXY", "Pre-oxygenator pressure (P2)", LOCAL, "mm[Hg]", "mmHg"),
    "p_post_oxy_mmhg": Code(
        "386534000", "Extracorporeal arterial pressure (return, P3)", "SCT", "mm[Hg]", "mmHg"
    ),
    "delta_p_mmhg": Code("DELTA-P", "Oxygenator pressure drop (P2 - P3)", LOCAL, "mm[Hg]", "mmHg"),
    "resistance": Code(
        "OXY-RESISTANCE",
        "Oxygenator resistance (delta P / flow)",
        LOCAL,
        "mm[Hg]/(L/min)",
        "mmHg/(L/min)",
    ),
    "sweep_gas_lpm": Code("79063001", "Gas flow (sweep)", "SCT", "L/min", "L/min"),
    "fdo2": Code("FDO2", "Fraction of O2 in the sweep gas", LOCAL, "1", "fraction"),
    "svo2_pct": Code("150332", "MDC_SAT_O2_VEN", "MDC", "%", "%"),
    "hb_g_dl": Code("718-7", "Hemoglobin [Mass/volume] in Blood", "LN", "g/dL", "g/dL"),
    "temp_c": Code("188436", "MDC_TEMP_BLD", "MDC", "Cel", "C"),
    "exhaust_co2_mmhg": Code(
        "EXHAUST-CO2", "CO2 partial pressure in the oxygenator exhaust", LOCAL, "mm[Hg]", "mmHg"
    ),
    # laboratory and blood gas results
    "plasma_free_hb_mg_dl": Code(
        "721-1", "Hemoglobin.free [Mass/volume] in Plasma", "LN", "mg/dL", "mg/dL"
    ),
    "ldh_u_l": Code(
        "2532-0",
        "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma",
        "LN",
        "U/L",
        "U/L",
    ),
    "haptoglobin_mg_dl": Code(
        "4542-7", "Haptoglobin [Mass/volume] in Serum or Plasma", "LN", "mg/dL", "mg/dL"
    ),
    "bilirubin_mg_dl": Code(
        "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "LN", "mg/dL", "mg/dL"
    ),
    "post_oxy_po2_mmhg": Code(
        "POST-OXY-PO2", "PO2 in blood after the oxygenator", LOCAL, "mm[Hg]", "mmHg"
    ),
    "post_oxy_pco2_mmhg": Code(
        "POST-OXY-PCO2", "PCO2 in blood after the oxygenator", LOCAL, "mm[Hg]", "mmHg"
    ),
    "post_oxy_so2_pct": Code("POST-OXY-SO2", "O2 saturation after the oxygenator", LOCAL, "%", "%"),
    "pre_oxy_po2_mmhg": Code(
        "PRE-OXY-PO2", "PO2 in blood before the oxygenator", LOCAL, "mm[Hg]", "mmHg"
    ),
    "pre_oxy_so2_pct": Code("PRE-OXY-SO2", "O2 saturation before the oxygenator", LOCAL, "%", "%"),
    "central_venous_so2_pct": Code("2711-0", "Oxygen saturation in Venous blood", "LN", "%", "%"),
}

#: IHE PCD message profiles (MSH-21).
PROFILE_PCD01 = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.1^ISO"
PROFILE_ACM = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"
#: OBR-4 of an observation report and of an alarm report.
OBR_OBSERVATIONS = "ECMO-CIRCUIT^ECMO circuit observations^99ECMO"
OBR_ALARM = "196616^MDC_EVT_ALARM^MDC"
#: The ACM attributes (OBX-3) of an alarm report.
ALERT_SOURCE = "68480^MDC_ATTR_ALERT_SOURCE^MDC"
EVENT_PHASE = "68165^MDC_ATTR_EVENT_PHASE^MDC"
ALARM_STATE = "68166^MDC_ATTR_ALARM_STATE^MDC"
INACTIVATION_STATE = "68167^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC"
ALARM_PRIORITY = "68168^MDC_ATTR_ALARM_PRIORITY^MDC"
ALERT_TYPE = "68485^MDC_ATTR_ALERT_TYPE^MDC"
#: Priority of the alarm log -> ACM priority (PH high, PM medium, PL low, PN none).
PRIORITIES = {"high": "PH", "medium": "PM", "low": "PL"}


def alarm_code(rule: str, title: str) -> str:
    """OBX-3 of an alarm's event: a local code per rule (no MDC event exists for them)."""
    return f"ALARM-{rule.upper()}^{title}^{LOCAL}"
