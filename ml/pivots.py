"""Budget pivots: within a campaign, move daily spend between its channels at a fixed total so that the fitted
response curves (`ml/response.py`) expect more conversions over the horizon, each channel within a band
around its current spend.

The split maximises the conversions expected under the mean of the bootstrap curves, minus a small quadratic
penalty on movement (see MOVE_PENALTY), from several starts (a Hill curve with shape > 1 is convex below its
inflection). The predicted lift is computed per bootstrap curve, so its P10 / P50 / P90 are those of the
difference, not of two levels; a move whose median lift is below MIN_GAIN of the current conversions is not
recommended (the current split is kept and its lift is zero). No Prefect: curves and current spend in,
typed recommendations out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, minimize

from pulsecast.ml.response import QUANTILES, Curve, outside_ratio, widening

HORIZON_DAYS = 28
BOUND = 0.3
RECENT_DAYS = 14
"""Current spend is the line's mean daily spend over its last two weeks: recent enough to be the running
budget, long enough to smooth weekday pacing."""
MOVE_PENALTY = 1e-3
"""Penalty, as a share of the current split's expected conversions, per squared full-band move of each
channel. It is far below any gain worth acting on, but it makes the current split the unique optimum of a
flat objective (identical channels, or curves the data cannot tell apart), so the optimiser never drifts to a
corner by accident."""
MIN_GAIN = 0.005
"""A recommendation must expect at least 0.5 % more conversions (median over the bootstrap curves) than the
current split; below that the move is within the curves' own error and the current split is kept."""


@dataclass(frozen=True)
class Pivot:
    """One campaign's budget reallocation. Spend in USD per day per channel; lift in conversions over the
    horizon, recommended minus current, with quantiles over the bootstrap curves."""

    campaign_id: str
    channels: tuple[str, ...]
    current: np.ndarray
    recommended: np.ndarray
    horizon: int
    conversions: float  # expected over the horizon at the current split (median over the bootstrap curves)
    lift_p10: float
    lift_p50: float
    lift_p90: float
    confidence: float  # share of bootstrap curves under which the move gains
    extrapolated: bool  # some recommended spend outside the channel's observed range
    assumptions: str

    @property
    def impact(self) -> float:
        """What the ranking orders by: predicted median lift x confidence."""
        return self.lift_p50 * self.confidence

    @property
    def moved(self) -> bool:
        return bool(np.any(self.recommended != self.current))


def current_spend(frame: pd.DataFrame, days: int = RECENT_DAYS) -> dict[tuple[str, str], float]:
    """Mean daily spend per (campaign_id, channel) over the frame's last `days` days (missing days as zero, so
    a line that stopped spending has a current spend of zero)."""
    day = pd.to_datetime(frame["day"])
    recent = frame[day > day.max() - pd.Timedelta(days=days)]
    totals = recent.groupby(["campaign_id", "channel"])["spend"].sum() / days
    return {(str(c), str(ch)): float(v) for (c, ch), v in totals.items()}


def recommend(curves: Mapping[tuple[str, str], Curve], current: Mapping[tuple[str, str], float],
              campaign_ids: list[str] | None = None, horizon: int = HORIZON_DAYS, bound: float = BOUND,
              min_gain: float = MIN_GAIN, running: Mapping[str, int] | None = None) -> list[Pivot]:
    """A pivot per campaign with at least two channels that spend and have a curve, ranked by impact (most
    first). `campaign_ids` defaults to every campaign in `curves`; an unknown one is refused. `running` gives
    the days of the horizon a campaign still delivers (its flight ends; all of them when absent): its spend
    stops after them, only the carry-over remains."""
    if not 0 <= bound < 1:
        raise ValueError(f"bound must be in [0, 1) (a share of current spend), got {bound}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least one day, got {horizon}")
    known = sorted({c for c, _ in curves})
    chosen = known if campaign_ids is None else list(campaign_ids)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"no response curves for campaign(s) {unknown}")
    running = running or {}
    pivots = [_campaign(c, curves, current, horizon, min(running.get(c, horizon), horizon), bound, min_gain)
              for c in chosen]
    return sorted((p for p in pivots if p is not None), key=lambda p: -p.impact)


def _campaign(campaign_id: str, curves: Mapping[tuple[str, str], Curve], current: Mapping[tuple[str, str], float],
              horizon: int, running: int, bound: float, min_gain: float) -> Pivot | None:
    keys = [k for k in sorted(curves) if k[0] == campaign_id and current.get(k, 0.0) > 0]
    if len(keys) < 2 or running < 1:
        return None
    lines = [curves[k] for k in keys]
    spend = np.array([current[k] for k in keys])
    days = (np.arange(horizon) < running).astype(float)
    at_current = _conversions(lines, spend, days)  # [samples]
    x = _best_multipliers(lines, spend, days, bound, at_current.mean())
    lift = _conversions(lines, spend * x, days) - at_current
    p10, p50, p90 = np.quantile(lift, QUANTILES)
    if p50 < min_gain * np.median(at_current):
        x, p10, p50, p90, lift = np.ones(len(keys)), 0.0, 0.0, 0.0, np.zeros_like(lift)
    widen = _widening(lines, spend * x)
    return Pivot(campaign_id, tuple(k[1] for k in keys), spend, spend * x, horizon,
                 float(np.median(at_current)), float(p50 - (p50 - p10) * widen),
                 float(p50), float(p50 + (p90 - p50) * widen), float((lift > 0).mean()), widen > 1,
                 _assumptions(horizon, running, bound, min_gain))


def _conversions(lines: list[Curve], spend: np.ndarray, days: np.ndarray) -> np.ndarray:
    """[samples] expected conversions of the campaign over the horizon at a flat daily `spend` per line on the
    `days` it runs (a 0/1 mask)."""
    return sum(c.expected(s * days).sum(axis=1) for c, s in zip(lines, spend, strict=True))


def _best_multipliers(lines: list[Curve], spend: np.ndarray, days: np.ndarray, bound: float,
                      reference: float) -> np.ndarray:
    """Multipliers within the band that keep the total, maximising the mean expected conversions minus the
    movement penalty; from the current split and from one tilted towards each channel."""
    n = len(spend)
    if bound == 0:
        return np.ones(n)
    scale = max(reference, 1e-9)

    def loss(x: np.ndarray) -> float:
        gain = _conversions(lines, spend * x, days).mean() / scale
        return -(gain - MOVE_PENALTY * float((((x - 1) / bound) ** 2).sum()))

    bounds = Bounds(np.full(n, 1 - bound), np.full(n, 1 + bound))
    total = LinearConstraint(spend[None, :] / spend.sum(), 1.0, 1.0)
    best, best_loss = np.ones(n), loss(np.ones(n))
    for start in [np.ones(n)] + [_tilted(spend, i, bound) for i in range(n)]:
        result = minimize(loss, start, method="SLSQP", bounds=bounds, constraints=total)
        x = np.clip(result.x, 1 - bound, 1 + bound)
        if abs(x @ spend - spend.sum()) <= 1e-6 * spend.sum() and loss(x) < best_loss:
            best, best_loss = x, loss(x)
    return best


def _tilted(spend: np.ndarray, favoured: int, bound: float) -> np.ndarray:
    """A feasible start giving channel `favoured` as much as the band allows, taken evenly from the others."""
    x = np.ones(len(spend))
    rest = np.delete(spend, favoured).sum()
    gain = min(spend[favoured] * bound, rest * bound)
    x[favoured] += gain / spend[favoured]
    x[np.arange(len(spend)) != favoured] -= gain / rest
    return x


def _widening(lines: list[Curve], spend: np.ndarray) -> float:
    """The largest interval widening of `ml.response.predict` over the recommended spends: 1 inside every
    channel's observed range."""
    ratios = [float(outside_ratio(np.atleast_1d(s), c.spend_range)[0]) for c, s in zip(lines, spend, strict=True)]
    return float(widening(max(ratios)))


def _assumptions(horizon: int, running: int, bound: float, min_gain: float) -> str:
    return (f"Daily spend flat at the recommended level for {running} of the {horizon} days from the day after the "
            f"last observed one, total unchanged, each channel within +-{bound:.0%} of its mean over the last "
            f"{RECENT_DAYS} days; "
            f"conversions follow the fitted adstock + Hill curves (mean over bootstrap refits), no calendar, "
            f"shock or creative fatigue effects; a move expecting under {min_gain:.1%} more conversions is not made.")
