"""The serial protocols' vocabulary: names, control bytes, short keys and the checksum.

What a device and this monitor must agree on, byte for byte, whichever side is speaking:
the parsers (``protocols.py``) read it and the encoders (``encoders.py``) write it. See
DESIGN.md section 3. Nothing here parses or encodes; it only names.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from .errors import SourceError

#: The protocols a serial device may speak.
PROTOCOLS: tuple[str, ...] = ("delimited", "keyvalue", "framed")

#: Start and end of a framed packet: ``STX payload checksum ETX``.
STX, ETX = 0x02, 0x03
CR, LF = 0x0D, 0x0A
#: The line ending a device sends (parsers also accept a lone CR or LF).
LINE_END = b"\r\n"

#: key=value names for the device time and the event (``TS=...``, ``EVENT=...``).
TIME_KEY = "TS"
EVENT_KEY = "EVENT"
#: Short key=value names of the channels that have one; canonical names are accepted too.
SHORT_KEYS: dict[str, str] = {
    "pump_speed_rpm": "RPM",
    "blood_flow_lpm": "FLOW",
    "p_venous_mmhg": "P1",
    "p_pre_oxy_mmhg": "P2",
    "p_post_oxy_mmhg": "P3",
    "delta_p_mmhg": "DP",
    "sweep_gas_lpm": "SWEEP",
    "fdo2": "FDO2",
    "svo2_pct": "SVO2",
    "hb_g_dl": "HB",
    "temp_c": "TEMP",
}


def checksum(payload: bytes) -> int:
    """A framed packet's checksum: the XOR of its payload bytes, sent as two hex digits."""
    return reduce(xor, payload, 0)


def check_protocol(protocol: str) -> None:
    """Raise SourceError, naming the choices, unless ``protocol`` is one of PROTOCOLS."""
    if protocol not in PROTOCOLS:
        known = ", ".join(PROTOCOLS)
        raise SourceError(f"Unknown serial protocol {protocol!r}; choose one of: {known}.")
