"""Budget pivots: move daily spend between lines (campaign x channel) at a fixed total so that the fitted
response curves (`ml/response.py`) expect more conversions over the horizon, each line within a band around its
current spend. Two scopes: a campaign's channels (`recommend`) and every line of a brand's campaigns at the
brand's total (`recommend_brands`); `ml/channel_shift.py` makes the one-pair move on marginal returns.

The split maximises the conversions expected under the mean of the bootstrap curves, minus a small quadratic
penalty on movement (see MOVE_PENALTY), from several starts (a Hill curve with shape > 1 is convex below its
inflection). The predicted lift is computed per bootstrap curve, so its P10 / P50 / P90 are those of the
difference, not of two levels; then shrunk for the optimiser's curse and its interval widened (see SHRINK). A
move whose median lift is below MIN_GAIN of the current conversions is not recommended (the current split is
kept and its lift is zero). No Prefect: curves and current spend in, typed recommendations out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, minimize

from pulsecast.generator.dynamics import hill
from pulsecast.ml.response import QUANTILES, Curve, outside_ratio, widening

HORIZON_DAYS = 28
BOUND = 0.3
RECENT_DAYS = 14
"""Current spend is the line's mean daily spend over its last two weeks: recent enough to be the running
budget, long enough to smooth weekday pacing."""
MOVE_PENALTY = 1e-3
"""Penalty, as a share of the current split's expected conversions, per squared full-band move of each
line. It is far below any gain worth acting on, but it makes the current split the unique optimum of a
flat objective (identical channels, or curves the data cannot tell apart), so the optimiser never drifts to a
corner by accident."""
MIN_GAIN = 0.005
"""A recommendation must expect at least 0.5 % more conversions (median over the bootstrap curves) than the
current split; below that the move is within the curves' own error and the current split is kept."""
SHRINK = 0.77
"""The predicted lift is the model's lift times SHRINK: the split is chosen where the fitted curves' marginal
returns differ most, which is where their errors are largest, so the in-sample lift overstates the realised one
(the optimiser's curse). Measured on calibration worlds apart from the scored ones (`bench/pivots.py
--calibrate --seeds 19 23 29` at POOL 0.5: expected lift / predicted median, sum over sum, 0.77)."""
SPREAD = 2.15
"""The interval's half-widths around the shrunk median, times SPREAD: the bootstrap sees the data's noise but
not the model's biases (nor the pooling's). Measured like SHRINK: the spread at which P10-P90 held 80 % of the
expected lifts."""
POOL = 0.5
"""Weight of the pooled-shape model in each line's response (see `Split`): a line's marginal return is
POOL x (its average return x the lines' mean elasticity) + (1 - POOL) x its own curve's slope. The curves'
shapes are what thin data identifies worst, their average returns what it identifies best. Chosen on the
calibration worlds (`bench/pivots.py --calibrate --pool`): 0.5 and 1 captured the same share of the optimum
there (0.93, 0.94), 1 with more harm and an interval that had to be widened 3.8x."""
ELASTICITY_STEP = 0.01
"""Relative spend step of the finite difference that measures a line's elasticity."""
Line = tuple[str, str]


class Kind(StrEnum):
    """What a pivot changes; the creative and audience kinds come from their own effect models."""

    budget_reallocation = "budget_reallocation"
    channel_shift = "channel_shift"
    creative_refresh = "creative_refresh"
    audience_expansion = "audience_expansion"


@dataclass(frozen=True)
class Pivot:
    """One recommended budget move over some lines. Spend in USD per day per line; lift in conversions over the
    horizon, recommended minus current, with quantiles over the bootstrap curves."""

    kind: Kind
    scope: str  # the campaign id, or the brand id of a brand-wide reallocation
    lines: tuple[Line, ...]
    current: np.ndarray
    recommended: np.ndarray
    horizon: int
    conversions: float  # expected over the horizon at the current split (median over the bootstrap curves)
    lift_p10: float
    lift_p50: float
    lift_p90: float
    confidence: float  # share of bootstrap curves under which the move gains
    extrapolated: bool  # some recommended spend outside the line's observed range
    assumptions: str
    noise: float = 0.0  # sd of the Poisson noise a counted lift adds to the expected one

    @property
    def impact(self) -> float:
        """What the ranking orders by: predicted median lift x confidence."""
        return self.lift_p50 * self.confidence

    @property
    def moved(self) -> bool:
        return bool(np.any(self.recommended != self.current))

    @property
    def campaign_id(self) -> str | None:
        """The campaign when all lines belong to one (None for a move across a brand's campaigns)."""
        campaigns = {c for c, _ in self.lines}
        return campaigns.pop() if len(campaigns) == 1 else None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(ch for _, ch in self.lines)


class Split:
    """The expected conversions of some lines over the horizon as a function of their spend multipliers,
    vectorised: at a flat daily spend the adstock is linear in it, stock = x * spend * A + C, with A the
    adstock of the running days and C the fading carry-over, per bootstrap curve.

    With `pool` > 0 each line's response is blended with a straight line through its current expectation whose
    slope is that expectation times the lines' mean elasticity (d log conversions / d log spend): the move then
    leans on which line converts more per USD, measured well, more than on each curve's own shape."""

    def __init__(self, curves: list[Curve], spend: np.ndarray, running: np.ndarray, horizon: int,
                 pool: float | None = None):
        self.curves, self.spend, self.running = curves, spend, running
        self.pool = POOL if pool is None else pool
        t = np.arange(horizon)
        shapes = []
        for curve, days in zip(curves, running, strict=True):
            beta, half, shape, decay = curve.params.T
            powers = decay[:, None] ** t[None, :]
            mask = (t < days).astype(float)
            unit = np.array([np.convolve(mask, p)[:horizon] for p in powers])  # adstock of 1 USD/day
            shapes.append((beta, half, shape, unit, curve.carry[:, None] * powers * decay[:, None]))
        self.beta, self.half, self.shape, self.unit, self.carry = (np.stack(p) for p in zip(*shapes, strict=True))
        ones = np.ones(len(spend))
        self.base = self._curves(ones)
        elasticity = ((self._curves(ones + ELASTICITY_STEP) - self.base) / ELASTICITY_STEP
                      / np.maximum(self.base, 1e-12)).mean(axis=1)
        self.slope = elasticity.mean() * self.base  # [lines, samples] d conversions / d multiplier, pooled shape

    def _curves(self, x: np.ndarray) -> np.ndarray:
        stock = (x * self.spend)[:, None, None] * self.unit + self.carry
        return (self.beta[:, :, None] * hill(stock, self.half[:, :, None], self.shape[:, :, None])).sum(axis=2)

    def per_line(self, x: np.ndarray) -> np.ndarray:
        """[lines, samples] expected conversions over the horizon at multipliers `x`."""
        own = self._curves(x)
        if not self.pool:
            return own
        return self.pool * (self.base + self.slope * (x - 1)[:, None]) + (1 - self.pool) * own

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """[samples] expected conversions of all the lines at multipliers `x`."""
        return self.per_line(x).sum(axis=0)

    @property
    def budget(self) -> np.ndarray:
        """USD each line spends over the horizon at its current daily spend: what the fixed total weighs."""
        return self.spend * self.running


def current_spend(frame: pd.DataFrame, days: int = RECENT_DAYS) -> dict[Line, float]:
    """Mean daily spend per (campaign_id, channel) over the frame's last `days` days (missing days as zero, so
    a line that stopped spending has a current spend of zero)."""
    day = pd.to_datetime(frame["day"])
    recent = frame[day > day.max() - pd.Timedelta(days=days)]
    totals = recent.groupby(["campaign_id", "channel"])["spend"].sum() / days
    return {(str(c), str(ch)): float(v) for (c, ch), v in totals.items()}


def check(curves: Mapping[Line, Curve], campaign_ids: list[str] | None, horizon: int, bound: float) -> list[str]:
    """The campaigns asked for (default: every one with a curve); refuses bad bounds, horizons and campaigns."""
    if not 0 <= bound < 1:
        raise ValueError(f"bound must be in [0, 1) (a share of current spend), got {bound}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least one day, got {horizon}")
    known = sorted({c for c, _ in curves})
    chosen = known if campaign_ids is None else list(campaign_ids)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"no response curves for campaign(s) {unknown}")
    return chosen


def recommend(curves: Mapping[Line, Curve], current: Mapping[Line, float], campaign_ids: list[str] | None = None,
              horizon: int = HORIZON_DAYS, bound: float = BOUND, min_gain: float = MIN_GAIN,
              running: Mapping[str, int] | None = None) -> list[Pivot]:
    """A reallocation per campaign with at least two channels that spend and have a curve, ranked by impact
    (most first). `campaign_ids` defaults to every campaign in `curves`; an unknown one is refused. `running`
    gives the days of the horizon a campaign still delivers (its flight ends; all of them when absent): its
    spend stops after them, only the carry-over remains."""
    chosen = check(curves, campaign_ids, horizon, bound)
    pivots = [reallocate(c, [k for k in curves if k[0] == c], curves, current, horizon, bound, min_gain, running)
              for c in chosen]
    return ranked(pivots)


def recommend_brands(curves: Mapping[Line, Curve], current: Mapping[Line, float], brands: Mapping[str, str],
                     horizon: int = HORIZON_DAYS, bound: float = BOUND, min_gain: float = MIN_GAIN,
                     running: Mapping[str, int] | None = None) -> list[Pivot]:
    """A reallocation across each brand's campaigns (`brands`: campaign -> brand) at the brand's total spend over
    the horizon, every line within the band; brands with fewer than two such campaigns are left out."""
    check(curves, [], horizon, bound)
    pivots = []
    for brand in sorted(set(brands.values())):
        lines = [k for k in curves if brands.get(k[0]) == brand]
        pivot = reallocate(brand, lines, curves, current, horizon, bound, min_gain, running)
        if pivot is not None and len({c for c, _ in pivot.lines}) >= 2:
            pivots.append(pivot)
    return ranked(pivots)


def ranked(pivots: list[Pivot | None]) -> list[Pivot]:
    return sorted((p for p in pivots if p is not None), key=lambda p: -p.impact)


def active(lines: list[Line], current: Mapping[Line, float], running: Mapping[str, int] | None,
           horizon: int) -> tuple[list[Line], np.ndarray, np.ndarray]:
    """The lines that spend now and still run within the horizon, their daily spend and running days."""
    running = running or {}
    days = {k: min(running.get(k[0], horizon), horizon) for k in lines}
    keys = sorted(k for k in lines if current.get(k, 0.0) > 0 and days[k] >= 1)
    return keys, np.array([current[k] for k in keys]), np.array([days[k] for k in keys], dtype=float)


def reallocate(scope: str, lines: list[Line], curves: Mapping[Line, Curve], current: Mapping[Line, float],
               horizon: int, bound: float, min_gain: float, running: Mapping[str, int] | None) -> Pivot | None:
    """The best split of `lines` at their total, or None with fewer than two lines to move between."""
    keys, spend, days = active(lines, current, running, horizon)
    if len(keys) < 2:
        return None
    split = Split([curves[k] for k in keys], spend, days, horizon)
    x = best_multipliers(split, bound)
    assumptions = _assumptions(horizon, days, bound, min_gain, scope if keys[0][0] != scope else None)
    return outcome(Kind.budget_reallocation, scope, keys, split, x, horizon, min_gain, assumptions)


def outcome(kind: Kind, scope: str, keys: list[Line], split: Split, x: np.ndarray, horizon: int,
            min_gain: float, assumptions: str) -> Pivot:
    """The pivot of moving `split`'s lines to multipliers `x`: its lift per bootstrap curve, shrunk and widened
    (SHRINK, SPREAD), kept only above `min_gain` of the current conversions."""
    at_current = split.per_line(np.ones(len(keys)))
    moved = split.per_line(x)
    lift = SHRINK * (moved - at_current).sum(axis=0)
    base = float(np.median(at_current.sum(axis=0)))
    if np.median(lift) < min_gain * base:
        x, lift, moved = np.ones(len(keys)), np.zeros_like(lift), at_current
    p10, p50, p90 = np.quantile(lift, QUANTILES)
    widen = _widening(split.curves, split.spend * x)
    noise = float(np.sqrt(np.abs(moved - at_current).mean(axis=1).sum()))
    return Pivot(kind, scope, tuple(keys), split.spend, split.spend * x, horizon, base,
                 float(p50 - (p50 - p10) * widen * SPREAD), float(p50), float(p50 + (p90 - p50) * widen * SPREAD),
                 float((lift > 0).mean()), widen > 1, assumptions, noise)


def best_multipliers(split: Split, bound: float) -> np.ndarray:
    """Multipliers within the band that keep the total spend over the horizon, maximising the mean expected
    conversions minus the movement penalty; from the current split and from one tilted towards each line."""
    n = len(split.spend)
    if bound == 0:
        return np.ones(n)
    scale = max(float(split(np.ones(n)).mean()), 1e-9)
    weights = split.budget

    def loss(x: np.ndarray) -> float:
        return -(float(split(x).mean()) / scale - MOVE_PENALTY * float((((x - 1) / bound) ** 2).sum()))

    bounds = Bounds(np.full(n, 1 - bound), np.full(n, 1 + bound))
    total = LinearConstraint(weights[None, :] / weights.sum(), 1.0, 1.0)
    best, best_loss = np.ones(n), loss(np.ones(n))
    for start in [np.ones(n)] + [tilted(weights, i, bound) for i in range(n)]:
        result = minimize(loss, start, method="SLSQP", bounds=bounds, constraints=total)
        x = np.clip(result.x, 1 - bound, 1 + bound)
        if abs(x @ weights - weights.sum()) <= 1e-6 * weights.sum() and loss(x) < best_loss:
            best, best_loss = x, loss(x)
    return best


def tilted(weights: np.ndarray, favoured: int, bound: float) -> np.ndarray:
    """A feasible start giving line `favoured` as much as the band allows, taken evenly from the others."""
    x = np.ones(len(weights))
    rest = np.delete(weights, favoured).sum()
    gain = min(weights[favoured] * bound, rest * bound)
    x[favoured] += gain / weights[favoured]
    x[np.arange(len(weights)) != favoured] -= gain / rest
    return x


def _widening(lines: list[Curve], spend: np.ndarray) -> float:
    """The largest interval widening of `ml.response.predict` over the recommended spends: 1 inside every
    line's observed range."""
    ratios = [float(outside_ratio(np.atleast_1d(s), c.spend_range)[0]) for c, s in zip(lines, spend, strict=True)]
    return float(widening(max(ratios)))


def _assumptions(horizon: int, days: np.ndarray, bound: float, min_gain: float, brand: str | None) -> str:
    where = f"across brand {brand}'s campaigns, the brand's total" if brand else "total"
    flight = (f"for all {horizon} days" if days.min() == horizon
              else f"until each campaign's flight ends ({int(days.min())}-{int(days.max())} of {horizon} days)")
    return (f"Daily spend flat at the recommended level {flight} from the day after the last observed one, "
            f"{where} unchanged, each line within +-{bound:.0%} of its mean over the last {RECENT_DAYS} days; "
            f"conversions follow the fitted adstock + Hill curves (mean over bootstrap refits), each blended "
            f"{POOL:.0%} with its average return times the lines' mean elasticity, no calendar, shock or creative "
            f"fatigue effects; the lift is shrunk to {SHRINK:.0%} for the optimiser's curse; a move expecting under "
            f"{min_gain:.1%} more conversions is not made.")
