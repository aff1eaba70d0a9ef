"""Builders shared by the rules tests: small literal recordings and a two-engine runner.

No tests here. ``recording`` makes a healthy 1 Hz circuit (3200 rpm, 4.2 L/min,
P1 -45, P2 200, P3 175 mmHg, so delta P 25 mmHg) with any channel overridden;
``episodes_of`` runs both engines on it, checks that they agree and returns the episodes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from adapters.contract import CANONICAL_COLUMNS, NUMERIC_COLUMNS, to_datetime_utc
from rules import Episode, analyze, analyze_incremental

START = 1_767_254_400.0  # 2026-01-01T08:00:00Z
HEALTHY = {
    "pump_speed_rpm": 3200.0,
    "blood_flow_lpm": 4.2,
    "p_venous_mmhg": -45.0,
    "p_pre_oxy_mmhg": 200.0,
    "p_post_oxy_mmhg": 175.0,
}

Override = float | np.ndarray | Callable[[np.ndarray], np.ndarray]


def recording(seconds: float, rate_hz: float = 1.0, **channels: Override) -> pd.DataFrame:
    """A canonical recording of ``seconds`` at ``rate_hz``; ``channels`` override the
    healthy values: a number, an array, or a function of the time from the start (s)."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    frame = pd.DataFrame({"timestamp": to_datetime_utc(START + t)})
    for name in NUMERIC_COLUMNS:
        value: Override = channels.get(name, HEALTHY.get(name, np.nan))
        if callable(value):
            value = value(t)
        frame[name] = np.broadcast_to(np.asarray(value, dtype="float64"), t.shape).copy()
    frame["event"] = pd.Series([""] * t.size, dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


def step(at: float, before: float, after: float, until: float | None = None):
    """A value that is ``before``, then ``after`` from ``at`` (until ``until``) seconds."""

    def value(t: np.ndarray) -> np.ndarray:
        inside = (t >= at) & (t < (until if until is not None else np.inf))
        return np.where(inside, after, before)

    return value


def with_event(frame: pd.DataFrame, at_s: float, text: str) -> pd.DataFrame:
    out = frame.copy()
    row = int(
        np.searchsorted(
            out["timestamp"].to_numpy(), out["timestamp"].iloc[0] + pd.Timedelta(seconds=at_s)
        )
    )
    out.loc[row, "event"] = text
    return out


def episodes_of(frame: pd.DataFrame, **kwargs) -> list[Episode]:
    """Episodes from both engines, checked equal."""
    batch = analyze(frame, **kwargs)
    incremental = analyze_incremental(frame, **kwargs)
    assert batch.episodes == incremental.episodes
    assert batch == incremental
    return list(batch.episodes)


def only(episodes: list[Episode], rule: str, priority: str) -> Episode:
    """The single episode of ``rule`` at ``priority``."""
    found = [e for e in episodes if e.rule == rule and e.priority == priority]
    assert len(found) == 1, f"expected one {priority} {rule} episode, got {found}"
    return found[0]


def at(seconds: float) -> float:
    """POSIX time of ``seconds`` after the start of a literal recording."""
    return START + seconds
