"""Telemetry in: the contract, column profiles and the sources (serial, CSV replay, simulator).

Knows nothing of rules, Dash or storage (DESIGN.md section 1).
"""

from .contract import (
    BASELINE_EVENTS,
    CANONICAL_COLUMNS,
    CHANNEL_BY_NAME,
    CHANNELS,
    EVENT,
    EVENT_KINDS,
    LAB_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    TELEMETRY_COLUMNS,
    TIMESTAMP,
    Channel,
    Frame,
    artifact_channels,
    artifact_mask,
    complete_values,
    epoch_seconds,
    format_timestamp,
    to_datetime_utc,
    unit_of,
)
from .errors import SourceError, TelemetryError
from .profiles import PROFILES, ColumnProfile, detect_profile, get_profile
from .source import NOT_DELIVERING, Source, SourceState, SourceStatus

__all__ = [
    "BASELINE_EVENTS",
    "CANONICAL_COLUMNS",
    "CHANNELS",
    "CHANNEL_BY_NAME",
    "EVENT",
    "EVENT_KINDS",
    "LAB_COLUMNS",
    "NOT_DELIVERING",
    "NUMERIC_COLUMNS",
    "PROFILES",
    "REQUIRED_COLUMNS",
    "TELEMETRY_COLUMNS",
    "TIMESTAMP",
    "Channel",
    "ColumnProfile",
    "Frame",
    "Source",
    "SourceError",
    "SourceState",
    "SourceStatus",
    "TelemetryError",
    "artifact_channels",
    "artifact_mask",
    "complete_values",
    "detect_profile",
    "epoch_seconds",
    "format_timestamp",
    "get_profile",
    "to_datetime_utc",
    "unit_of",
]
