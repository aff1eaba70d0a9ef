"""The telemetry contract: canonical channels, units, plausible ranges, frames, artifacts.

Everything that reads or writes circuit telemetry speaks these names. See DESIGN.md
section 2. A value outside its channel's plausible range is an *artifact*: it is kept in
recordings and the buffer, marked, and never handed to a clinical rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Channel:
    """One numeric telemetry channel of the contract."""

    name: str
    label: str
    unit: str
    low: float
    high: float
    required: bool = False
    #: Sparse: a result of a sample (lab file, lab entry, a key=value line), not telemetry.
    lab: bool = False
    #: A blood gas result (sparse, like the labs): membrane lung and recirculation rules.
    gas: bool = False


CHANNELS: tuple[Channel, ...] = (
    Channel("pump_speed_rpm", "Pump speed", "rpm", 0, 5000, required=True),
    Channel("blood_flow_lpm", "Blood flow", "L/min", 0, 10, required=True),
    Channel("p_venous_mmhg", "Drainage pressure", "mmHg", -300, 100),
    Channel("p_pre_oxy_mmhg", "Pre-oxygenator pressure", "mmHg", -50, 800, required=True),
    Channel("p_post_oxy_mmhg", "Post-oxygenator pressure", "mmHg", -50, 800, required=True),
    Channel("delta_p_mmhg", "Oxygenator delta P", "mmHg", -50, 400),
    Channel("sweep_gas_lpm", "Sweep gas flow", "L/min", 0, 15),
    Channel("fdo2", "Sweep FdO2", "fraction", 0.21, 1),
    Channel("svo2_pct", "SvO2", "%", 0, 100),
    Channel("hb_g_dl", "Hemoglobin", "g/dL", 2, 25),
    Channel("temp_c", "Blood temperature", "°C", 20, 45),
    # optional: a capnometer on the oxygenator's exhaust gas (CO2 removal)
    Channel("exhaust_co2_mmhg", "Exhaust CO2", "mmHg", 0, 150),
    Channel("plasma_free_hb_mg_dl", "Plasma free Hb", "mg/dL", 0, 2000, lab=True),
    Channel("ldh_u_l", "LDH", "U/L", 0, 50000, lab=True),
    Channel("haptoglobin_mg_dl", "Haptoglobin", "mg/dL", 0, 500, lab=True),
    Channel("bilirubin_mg_dl", "Total bilirubin", "mg/dL", 0, 60, lab=True),
    # blood gases, sparse like the labs: post- and pre-oxygenator samples and the
    # patient's central venous sample (recirculation)
    Channel("post_oxy_po2_mmhg", "Post-oxygenator PO2", "mmHg", 0, 1000, lab=True, gas=True),
    Channel("post_oxy_pco2_mmhg", "Post-oxygenator PCO2", "mmHg", 0, 200, lab=True, gas=True),
    Channel("post_oxy_so2_pct", "Post-oxygenator SO2", "%", 0, 100, lab=True, gas=True),
    Channel("pre_oxy_po2_mmhg", "Pre-oxygenator PO2", "mmHg", 0, 1000, lab=True, gas=True),
    Channel("pre_oxy_so2_pct", "Pre-oxygenator SO2", "%", 0, 100, lab=True, gas=True),
    Channel("central_venous_so2_pct", "Central venous SO2", "%", 0, 100, lab=True, gas=True),
)

CHANNEL_BY_NAME: dict[str, Channel] = {c.name: c for c in CHANNELS}
#: Numeric channel names in contract order.
NUMERIC_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHANNELS)
#: Bit position of each numeric channel in an artifact mask.
CHANNEL_BIT: dict[str, int] = {name: i for i, name in enumerate(NUMERIC_COLUMNS)}
TIMESTAMP = "timestamp"
EVENT = "event"
#: Column order of the canonical CSV format (recordings are written in this order).
CANONICAL_COLUMNS: tuple[str, ...] = (TIMESTAMP, *NUMERIC_COLUMNS, EVENT)
REQUIRED_COLUMNS: tuple[str, ...] = (TIMESTAMP, *(c.name for c in CHANNELS if c.required))
#: Sparse results of samples: the hemolysis labs and the blood gases.
LAB_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHANNELS if c.lab)
#: The hemolysis markers (the hemolysis rule's results).
HEMOLYSIS_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHANNELS if c.lab and not c.gas)
#: Blood gas results (the membrane lung and recirculation rules').
BLOOD_GAS_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHANNELS if c.gas)
#: Channels that arrive with every telemetry sample (everything but the sparse labs).
TELEMETRY_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHANNELS if not c.lab)

#: Circuit events with a meaning for the rules; any other text is a free-text note.
EVENT_KINDS: tuple[str, ...] = (
    "oxygenator_change",
    "pump_head_change",
    "circuit_change",
    "baseline_reset",
    "sweep_off_trial",
)
#: Events after which the oxygenator delta P baseline is re-established (CLINICAL.md).
BASELINE_EVENTS: frozenset[str] = frozenset(
    {"oxygenator_change", "circuit_change", "baseline_reset"}
)


def derive_delta_p(values: Mapping[str, float]) -> float | None:
    """Pre minus post oxygenator pressure, or None when either is missing."""
    pre = values.get("p_pre_oxy_mmhg")
    post = values.get("p_post_oxy_mmhg")
    if pre is None or post is None or math.isnan(pre) or math.isnan(post):
        return None
    return pre - post


def complete_values(values: Mapping[str, float]) -> dict[str, float]:
    """The values with delta P derived when the device did not send it."""
    out = dict(values)
    dp = out.get("delta_p_mmhg")
    if dp is None or math.isnan(dp):
        derived = derive_delta_p(out)
        if derived is not None:
            out["delta_p_mmhg"] = derived
    return out


#: (bit, low, high) of each channel, looked up once: the plausible-range test of
#: :func:`artifact_mask`, :func:`artifact_column`, :func:`clean_value` and
#: :func:`clean_column`, the only places that judge a value's validity.
_CHECKS: dict[str, tuple[int, float, float]] = {
    c.name: (CHANNEL_BIT[c.name], c.low, c.high) for c in CHANNELS
}


def artifact_mask(values: Mapping[str, float]) -> int:
    """Bit mask (see CHANNEL_BIT) of the channels whose value is outside its plausible range."""
    mask = 0
    for name, value in values.items():
        check = _CHECKS.get(name)
        if check is not None and value == value and not check[1] <= value <= check[2]:
            mask |= 1 << check[0]
    return mask


def clean_value(values: Mapping[str, float], mask: int, name: str) -> float | None:
    """A channel's value a clinical rule may see: present, plausible and not marked.

    The one test of validity for a single sample; :func:`clean_column` is the same test
    for a whole column. An artifact is kept in the record but never judged.
    """
    value = values.get(name)
    if value is None:
        return None
    bit, low, high = _CHECKS[name]
    if not low <= value <= high or (mask >> bit) & 1:
        return None  # NaN fails the range test too
    return value


def clean_column(raw: np.ndarray, name: str, mask: np.ndarray | None = None) -> np.ndarray:
    """A whole channel with missing values, artifacts and implausible values as NaN.

    ``mask`` is an optional per-row artifact mask (see :data:`CHANNEL_BIT`); the plausible
    range is always checked. The array form of :func:`clean_value`.
    """
    import numpy as np

    values = np.asarray(raw, dtype="float64")
    bit, low, high = _CHECKS[name]
    good = (values >= low) & (values <= high)
    if mask is not None and len(mask):
        good &= (np.asarray(mask) >> bit) & 1 == 0
    kept = np.count_nonzero(good)
    # NaN is never good: when every value that is not good is NaN already (a channel
    # with gaps, or one this recording does not have), the column is clean as it is
    if kept == values.size or kept + np.count_nonzero(np.isnan(values)) == values.size:
        return values
    return np.where(good, values, np.nan)


def artifact_column(raw: np.ndarray, name: str) -> np.ndarray:
    """True where a channel's value is present but outside its plausible range: an artifact.

    The array form of :func:`artifact_mask`'s test, for marking a whole recording (NaN,
    "not measured", is no artifact). :func:`clean_column` is what a rule may see of it.
    """
    _, low, high = _CHECKS[name]
    return (raw < low) | (raw > high)


def artifact_channels(mask: int) -> tuple[str, ...]:
    """The channel names set in an artifact mask."""
    return tuple(name for name, bit in CHANNEL_BIT.items() if mask >> bit & 1)


@dataclass(frozen=True, slots=True)
class Frame:
    """One telemetry sample, as every source delivers it.

    ``timestamp`` is POSIX seconds (UTC): the device's own time when it sent one, else the
    arrival time. ``received_at`` is the wall-clock arrival time, taken from a monotonic
    base so that a system clock step does not reorder frames; a serial source gives each
    frame a millisecond of its own (``timestamps.next_stamp``). ``values`` holds only the
    channels present in the sample, delta P derived when absent; artifacts are included
    and flagged in ``artifacts`` (see :func:`artifact_mask`).
    """

    timestamp: float
    values: Mapping[str, float]
    event: str | None = None
    received_at: float | None = None
    artifacts: int = 0
    device_timestamp: float | None = None

    @classmethod
    def build(
        cls,
        timestamp: float,
        values: Mapping[str, float],
        event: str | None = None,
        received_at: float | None = None,
        device_timestamp: float | None = None,
    ) -> Frame:
        """A frame with delta P derived and artifacts marked."""
        full = complete_values(values)
        return cls(
            timestamp=timestamp,
            values=full,
            event=event or None,
            received_at=received_at,
            artifacts=artifact_mask(full),
            device_timestamp=device_timestamp,
        )


def format_timestamp(ts: float) -> str:
    """ISO 8601 with a UTC offset and millisecond precision, as recordings store it."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


def unit_of(name: str) -> str:
    channel = CHANNEL_BY_NAME.get(name)
    return channel.unit if channel else ""


def epoch_seconds(timestamps) -> np.ndarray:
    """POSIX seconds (float64) of a tz-aware datetime Series/Index of any resolution.

    pandas 3 may parse to microsecond resolution, so never use ``asi8`` arithmetic that
    assumes nanoseconds; go through a Timedelta division instead.
    """
    import numpy as np
    import pandas as pd

    index = pd.DatetimeIndex(timestamps)
    if index.tz is None:
        index = index.tz_localize("UTC")
    delta = index - pd.Timestamp(0, tz="UTC")
    return np.asarray(delta / pd.Timedelta(seconds=1), dtype="float64")


def to_datetime_utc(seconds) -> pd.DatetimeIndex:
    """Tz-aware UTC DatetimeIndex (microsecond resolution) of POSIX seconds."""
    import numpy as np
    import pandas as pd

    micros = np.round(np.asarray(seconds, dtype="float64") * 1e6).astype("int64")
    return pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize("UTC")
