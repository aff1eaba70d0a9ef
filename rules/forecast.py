"""The delta P forecast: when the rise at the current flow reaches each limit.

Advice, never an alarm (CLINICAL.md, Foresight: Lubnow 2014). From the Theil-Sen fit of
the resistance bins of the last 12 h (``trendfit.py``), when the delta P rise at the
current flow (the last bin's median flow) reaches the medium and the high limits of
``delta_p_rise`` in force: resistance = baseline resistance + limit / flow. The range
comes from the slope's confidence bounds, the lines pivoting at the fit's middle. Only
while the slope is positive beyond chance (its lower bound above zero), from at least
``min_fit_h`` of bins, before the crossing and within ``horizon_h``; otherwise no
forecast, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import format_timestamp

from .config import RulesConfig
from .definition import micros
from .lifecycle import Priority
from .threshold import fmt
from .trendfit import DAY_S, Bins, Fit, fit_bins

# -- the forecast ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    """When the delta P rise at the current flow reaches one limit, as seen at ``time``.

    ``eta`` (POSIX s) and its range ``eta_low``..``eta_high`` are None when there is no
    forecast; ``reason`` then says why. ``slope_per_day`` is the resistance slope
    (mmHg/(L/min) per day) of the fit, when there is one.
    """

    time: float
    priority: Priority
    limit_mmhg: float
    eta: float | None = None
    eta_low: float | None = None
    eta_high: float | None = None
    slope_per_day: float | None = None
    flow_lpm: float | None = None
    baseline_resistance: float | None = None
    fit: Fit | None = None
    reason: str = ""

    @property
    def rule(self) -> str:
        return "delta_p_rise"

    def to_dict(self) -> dict:
        """The ``forecasts`` entry of the analyze JSON."""

        def iso(t):
            return None if t is None else format_timestamp(t)

        return {
            "time": iso(self.time),
            "rule": self.rule,
            "priority": self.priority.value,
            "eta": iso(self.eta),
            "eta_low": iso(self.eta_low),
            "eta_high": iso(self.eta_high),
            "resistance_slope_per_day": self.slope_per_day,
        }

    def text(self) -> str:
        """For the page: "+30 mmHg in about 9 h (7-12 h)", or why there is none."""
        head = f"+{fmt(self.limit_mmhg)} mmHg"
        if self.eta is None:
            return f"{head}: {self.reason}"
        hours = [(t - self.time) / 3600.0 for t in (self.eta, self.eta_low, self.eta_high)]
        about, low, high = (_hours(h) for h in hours)
        return f"{head} in about {about} h ({low}-{high} h)"

    def projection(self, times: np.ndarray) -> np.ndarray:
        """The delta P the fit projects at ``times`` (POSIX s) at the current flow."""
        if self.fit is None or self.flow_lpm is None:
            return np.full(np.shape(times), np.nan)
        values = self.fit.level + self.fit.slope * (np.asarray(times) - self.fit.center) / DAY_S
        return values * self.flow_lpm


def shown_forecast(forecasts: list[Forecast]) -> Forecast | None:
    """The one forecast a tile shows: the lowest limit with an ETA, else the lowest one."""
    for forecast in forecasts:
        if forecast.eta is not None:
            return forecast
    return forecasts[0] if forecasts else None


def _hours(h: float) -> str:
    return f"{h:.1f}" if h < 1.95 else f"{h:.0f}"


def forecast_fit(
    bins: Bins, config: RulesConfig, now: float, cache: dict | None = None
) -> Fit | None:
    """The forecast's fit at ``now``: the bins that ended in the ``fit_h`` before it, at
    least ``min_fit_h`` of them. ``cache``: see :func:`trendfit.fit_bins`."""
    f, bin_min = config.forecast, config.resistance_trend.bin_min
    bin_s = bin_min * 60.0
    window = round(f.fit_h * 3600.0 / bin_s)
    end = micros(now) // micros(bin_s)  # the bin now falls in: the window ends before it
    block_s = f.block_min * 60.0
    return fit_bins(
        bins, window, bin_s, f.min_fit_h, f.confidence_pct, block_s, end=end, cache=cache
    )


def forecasts_at(
    time: float,
    bins: Bins,
    baseline_resistance: float | None,
    config: RulesConfig,
    fit: Fit | bool | None = False,
    cache: dict | None = None,
) -> list[Forecast]:
    """The forecast for the medium and the high delta P limits at ``time``, from
    ``bins`` (closed by then, since the baseline) and the baseline resistance in force.
    ``fit``: the fit of those bins if already computed (False: compute it, with
    ``cache``)."""
    f, dp = config.forecast, config.delta_p_rise
    limits = ((Priority.MEDIUM, dp.medium_mmhg), (Priority.HIGH, dp.high_mmhg))
    if fit is False:  # no fit is needed before a baseline and a bin
        ready = baseline_resistance is not None and bins.index.size
        fit = forecast_fit(bins, config, time, cache) if ready else None
    flow = float(bins.flow[-1]) if bins.index.size else None
    out = []
    for priority, limit in limits:
        common = {"time": time, "priority": priority, "limit_mmhg": limit}
        if baseline_resistance is None or flow is None:
            out.append(Forecast(**common, reason="waiting for the baseline"))
            continue
        if fit is None:
            reason = f"too little data since the baseline (needs {f.min_fit_h:g} h)"
            out.append(Forecast(**common, flow_lpm=flow, reason=reason))
            continue
        more = {
            "slope_per_day": fit.slope,
            "flow_lpm": flow,
            "baseline_resistance": baseline_resistance,
            "fit": fit,
        }
        target = baseline_resistance + limit / flow
        if fit.low <= 0:
            out.append(Forecast(**common, **more, reason="no rise beyond chance"))
            continue
        if fit.at(time) >= target:
            out.append(Forecast(**common, **more, reason="reached"))
            continue
        eta, soon, late = (fit.reaching(target, s) for s in (fit.slope, fit.high, fit.low))
        if eta is None or eta - time > f.horizon_h * 3600.0:
            reason = f"none foreseen within {f.horizon_h:g} h"
            out.append(Forecast(**common, **more, reason=reason))
            continue
        soon = max(soon, time) if soon is not None else time
        out.append(Forecast(**common, **more, eta=eta, eta_low=soon, eta_high=late))
    return out
