"""Telemetry in: the contract, column profiles and the sources (serial, CSV replay,
simulator, a fake for tests), and the one rule for frame times.

Knows nothing of rules, Dash or storage (DESIGN.md section 1).
"""

import importlib

from .contract import (
    BASELINE_EVENTS,
    BLOOD_GAS_COLUMNS,
    CANONICAL_COLUMNS,
    CHANNEL_BIT,
    CHANNEL_BY_NAME,
    CHANNELS,
    EVENT,
    EVENT_KINDS,
    HEMOLYSIS_COLUMNS,
    LAB_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    TELEMETRY_COLUMNS,
    TIMESTAMP,
    Channel,
    Frame,
    artifact_channels,
    artifact_column,
    artifact_mask,
    clean_column,
    clean_value,
    complete_values,
    epoch_seconds,
    format_timestamp,
    to_datetime_utc,
    unit_of,
)
from .csv_reader import ReadReport, Recording, read_recording
from .encoders import FrameEncoder
from .errors import SourceError, TelemetryError
from .fake import FakeSource
from .labs import LabError, lab_value, read_labs
from .profiles import PROFILES, ColumnProfile, detect_profile, get_profile
from .recording import HEADER_LINE, format_frame_row, inert_text, write_dataframe
from .replay import ReplaySource
from .source import NOT_DELIVERING, Source, SourceState, SourceStatus
from .timestamps import FrameClock, next_stamp

__all__ = [
    "BASELINE_EVENTS",
    "BLOOD_GAS_COLUMNS",
    "CANONICAL_COLUMNS",
    "CHANNELS",
    "CHANNEL_BIT",
    "CHANNEL_BY_NAME",
    "DEFAULT_START",
    "EVENT",
    "EVENT_KINDS",
    "HEADER_LINE",
    "HEMOLYSIS_COLUMNS",
    "LAB_COLUMNS",
    "NOT_DELIVERING",
    "NUMERIC_COLUMNS",
    "PROFILES",
    "REQUIRED_COLUMNS",
    "SCENARIOS",
    "TELEMETRY_COLUMNS",
    "TIMESTAMP",
    "Channel",
    "ColumnProfile",
    "FakeSource",
    "Frame",
    "FrameClock",
    "FrameEncoder",
    "LabError",
    "ReadReport",
    "Recording",
    "ReplaySource",
    "SerialSource",
    "Source",
    "SourceError",
    "SourceState",
    "SourceStatus",
    "TelemetryError",
    "artifact_channels",
    "artifact_column",
    "artifact_mask",
    "clean_column",
    "clean_value",
    "complete_values",
    "detect_profile",
    "epoch_seconds",
    "format_frame_row",
    "format_timestamp",
    "get_profile",
    "inert_text",
    "lab_value",
    "next_stamp",
    "read_labs",
    "read_recording",
    "simulate",
    "stream_to_port",
    "to_datetime_utc",
    "unit_of",
    "write_csv",
    "write_dataframe",
]


#: Names loaded on first use: the serial port and the simulator pull in pyserial and the
#: circuit model, which reading and analysing a recording never needs.
_LAZY = {
    "SerialSource": "serial_source",
    "DEFAULT_START": "simulator",
    "SCENARIOS": "simulator",
    "simulate": "simulator",
    "stream_to_port": "simulator",
    "write_csv": "simulator",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
