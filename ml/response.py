"""Response curves per campaign x channel: daily spend -> expected conversions (and revenue), with carry-over
(geometric adstock) and saturation (Hill), the laws the generated world follows (`generator/dynamics.py`).

    conversions[t] ~ Poisson(beta * hill(adstock[t], half_saturation, shape)),
    adstock[t] = spend[t] + decay * adstock[t - 1]

Fitted as a Poisson posterior mode (weak priors, see PRIOR) with `scipy.optimize.least_squares`; uncertainty
from a moving-block bootstrap over days (each resample reweights the days of the loss while the adstock still
runs over the contiguous series), so a caller gets P10 / P50 / P90 of the expected conversions of any daily
spend plan from the spread of refitted curves. Revenue is conversions times the line's value per conversion,
resampled with the same days. No Prefect: a frame in (`read_daily` reads it from the marts), curves out.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.signal import lfilter

from pulsecast.generator.dynamics import hill

COLUMNS = ("campaign_id", "channel", "day", "spend", "conversions", "revenue")
QUANTILES = (0.1, 0.5, 0.9)
BLOCK_DAYS = 7
"""Bootstrap block length: a week keeps weekday patterns and the adstock's serial correlation together."""
WIDEN_PER_LOG = 2.0
"""Outside the observed spend range each interval half-width is multiplied by 1 + WIDEN_PER_LOG * r, where
r = |ln(spend / nearest observed bound)|: 1.3x the highest observed spend widens by 1.52x, 2x by 2.39x."""
_SHAPE, _DECAY, _HALF = (0.5, 4.0), (0.0, 0.9), (0.05, 20.0)
"""Parameter bounds; the half-saturation point relative to the line's mean adstocked spend."""
PRIOR = np.array([[0.0, 1.0], [1.5, 0.75], [0.3, 0.25]])
"""Weak normal priors (mean, sd) on ln(half_saturation / mean adstock), shape and decay: a line spends near its
half-saturation point with a moderate S-shape and carry-over. They decide only what thin data cannot (a line
with a handful of conversions), so the fit is a posterior mode rather than a curve pinned to a bound."""

_DAILY_SQL = """
SELECT campaign_id, channel, day, sum(spend)::DOUBLE AS spend, sum(conversions)::DOUBLE AS conversions,
       sum(revenue)::DOUBLE AS revenue
FROM marts.events_daily
WHERE channel IS NOT NULL
GROUP BY campaign_id, channel, day
ORDER BY campaign_id, channel, day
"""


@dataclass(frozen=True)
class Curve:
    """One line's fitted response: `params` rows are the point fit then the bootstrap refits, columns
    beta (conversions/day at saturation), half_saturation (USD of adstocked spend), shape, decay."""

    campaign_id: str
    channel: str
    params: np.ndarray  # [1 + samples, 4]
    value_per_conversion: np.ndarray  # [1 + samples] revenue per conversion
    carry: np.ndarray  # [1 + samples] adstock on the last observed day
    spend_range: tuple[float, float]  # lowest and highest positive daily spend observed
    last_day: pd.Timestamp

    def plan_days(self, days: int) -> pd.DatetimeIndex:
        """The days a spend plan covers: daily, from the day after the last observed one (the carry-over's)."""
        return pd.date_range(self.last_day + pd.Timedelta(days=1), periods=days, freq="D")

    def expected(self, spend: np.ndarray, from_rest: bool = False) -> np.ndarray:
        """[1 + samples, days] expected conversions of the daily `spend` following the last observed day, or,
        `from_rest`, with no carry-over (the observed days again, for the fit's own plots)."""
        beta, half, shape, decay = self.params.T
        carry = np.zeros_like(self.carry) if from_rest else self.carry
        stock = np.vstack([lfilter([1.0], [1.0, -d], spend, zi=[d * c])[0] for d, c in zip(decay, carry, strict=True)])
        return beta[:, None] * hill(stock, half[:, None], shape[:, None])


def read_daily(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The frame `fit` takes, from the marts through `con` (read-only is enough): `events_daily` is the one mart
    at campaign x channel x day grain (its devices and brands are summed here); events without a channel
    cannot belong to a line."""
    return con.execute(_DAILY_SQL).df()


def fit(frame: pd.DataFrame, samples: int = 50, seed: int = 0) -> dict[tuple[str, str], Curve]:
    """A curve per (campaign_id, channel) of `frame` (one row per line and day; missing days count as no
    spend and no conversions). Lines that never spent or never converted are left out: no curve to fit."""
    _check(frame, COLUMNS)
    rng = np.random.default_rng(seed)
    curves = {}
    for (campaign_id, channel), rows in frame.groupby(["campaign_id", "channel"], sort=True):
        daily = contiguous_days(rows)
        if daily["spend"].sum() > 0 and daily["conversions"].sum() > 0:
            curves[(campaign_id, channel)] = _fit_line(str(campaign_id), str(channel), daily, samples, rng)
    return curves


def predict(curves: dict[tuple[str, str], Curve], plan: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of the expected conversions and revenue per row of `plan` (campaign_id, channel, day, spend;
    each line's days are its curve's `plan_days`, since the carry-over is the last observed day's).

    `extrapolated` marks a positive spend outside the line's observed range; its intervals are widened around
    the median by 1 + WIDEN_PER_LOG * |ln(spend / nearest bound)| (zero spend is not extrapolation: every
    curve passes through the origin, only the carry-over remains)."""
    _check(plan, ("campaign_id", "channel", "day", "spend"))
    parts = []
    for (campaign_id, channel), rows in plan.groupby(["campaign_id", "channel"], sort=False):
        curve = curves.get((campaign_id, channel))
        if curve is None:
            raise ValueError(f"no fitted response curve for campaign {campaign_id!r} on channel {channel!r}")
        rows = rows.sort_values("day")
        expected_days = curve.plan_days(len(rows))
        if not (pd.to_datetime(rows["day"]).to_numpy() == expected_days.to_numpy()).all():
            raise ValueError(f"the plan for campaign {campaign_id!r} on channel {channel!r} must run day by day "
                             f"from {expected_days[0]:%Y-%m-%d}, the day after its last observed day")
        spend = rows["spend"].to_numpy(float)
        conversions = curve.expected(spend)
        revenue = conversions * curve.value_per_conversion[:, None]
        outside = outside_ratio(spend, curve.spend_range)
        widen = widening(outside)
        out = rows[["campaign_id", "channel", "day", "spend"]].copy()
        for name, draws in (("conversions", conversions), ("revenue", revenue)):
            p10, p50, p90 = np.quantile(draws, QUANTILES, axis=0)
            out[f"{name}_p10"] = np.maximum(p50 - (p50 - p10) * widen, 0.0)
            out[f"{name}_p50"] = p50
            out[f"{name}_p90"] = p50 + (p90 - p50) * widen
        out["extrapolated"] = outside > 1.0
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def outside_ratio(spend: np.ndarray, spend_range: tuple[float, float]) -> np.ndarray:
    """How far each daily spend lies outside the observed range, as a ratio (1 inside it; zero spend never
    counts: every curve passes through the origin)."""
    low, high = spend_range
    below = (spend > 0) & (spend < low)
    return np.where(spend > high, spend / high, np.where(below, low / np.where(below, spend, 1.0), 1.0))


def widening(outside: np.ndarray | float) -> np.ndarray | float:
    """The factor on an interval's half-widths at an `outside_ratio`: 1 + WIDEN_PER_LOG * ln(ratio)."""
    return 1 + WIDEN_PER_LOG * np.log(outside)


def _check(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns {missing}; expected {list(columns)}")
    if frame.empty:
        raise ValueError("no rows: a response curve needs at least one campaign x channel with daily data")
    numeric = [c for c in ("spend", "conversions", "revenue") if c in columns]
    values = frame[numeric].to_numpy(float)
    bad = [c for c, ok in zip(numeric, (np.isfinite(values) & (values >= 0)).all(axis=0), strict=True) if not ok]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be finite and non-negative")


def contiguous_days(rows: pd.DataFrame) -> pd.DataFrame:
    """The line's days from its first to its last, missing days as zeros."""
    daily = rows.assign(day=pd.to_datetime(rows["day"])).groupby("day")[["spend", "conversions", "revenue"]].sum()
    days = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
    return daily.reindex(days, fill_value=0.0).astype(float)


def _fit_line(campaign_id: str, channel: str, daily: pd.DataFrame, samples: int, rng: np.random.Generator) -> Curve:
    spend, conversions, revenue = (daily[c].to_numpy() for c in ("spend", "conversions", "revenue"))
    # A line already spending on its first day carries adstock from before the data: its first week stays
    # out of the loss until the carry-over of that unseen history has mostly faded.
    burn_in = BLOCK_DAYS if spend[0] > 0 else 0
    scale = spend[spend > 0].mean()
    start = np.array([np.log(max(conversions.mean(), 1e-3) * 2), 0.0, 1.5, 0.3])
    point = _solve(spend, conversions, scale, np.ones(len(spend)), burn_in, start)
    params, values = [point], [revenue.sum() / conversions.sum()]
    for weights in _block_weights(len(spend), samples, rng):
        params.append(_solve(spend, conversions, scale, weights, burn_in, point))
        values.append((weights * revenue).sum() / max((weights * conversions).sum(), 1e-12))
    natural = np.array([_natural(p, scale) for p in params])
    carry = np.array([lfilter([1.0], [1.0, -d], spend)[-1] for d in natural[:, 3]])
    positive = spend[spend > 0]
    return Curve(campaign_id, channel, natural, np.array(values), carry, (positive.min(), positive.max()),
                 daily.index[-1])


def _solve(spend: np.ndarray, y: np.ndarray, scale: float, weights: np.ndarray, burn_in: int,
           start: np.ndarray) -> np.ndarray:
    """The weighted Poisson posterior mode as least squares: deviance residuals (their squares sum to -2 log
    likelihood) and the priors' standardised distances; parameters ln beta, ln(half_saturation / scale),
    shape, decay."""
    w = np.sqrt(weights)
    w[:burn_in] = 0.0

    def residuals(theta: np.ndarray) -> np.ndarray:
        mu = np.maximum(_mean(theta, spend, scale), 1e-9)
        deviance = 2 * (np.where(y > 0, y * np.log(np.maximum(y, 1e-12) / mu), 0.0) - (y - mu))
        fit_residuals = w * np.sign(y - mu) * np.sqrt(np.maximum(deviance, 0.0))
        return np.concatenate([fit_residuals, (theta[1:] - PRIOR[:, 0]) / PRIOR[:, 1]])

    lower = [-np.inf, np.log(_HALF[0]), _SHAPE[0], _DECAY[0]]
    upper = [np.inf, np.log(_HALF[1]), _SHAPE[1], _DECAY[1]]
    return least_squares(residuals, np.clip(start, lower, upper), bounds=(lower, upper), x_scale=[1, 1, 1, 0.3]).x


def _mean(theta: np.ndarray, spend: np.ndarray, scale: float) -> np.ndarray:
    log_beta, log_half, shape, decay = theta
    stock = lfilter([1.0], [1.0, -decay], spend)
    return np.exp(log_beta) * hill(stock, np.exp(log_half) * scale / (1 - decay), shape)


def _natural(theta: np.ndarray, scale: float) -> np.ndarray:
    log_beta, log_half, shape, decay = theta
    return np.array([np.exp(log_beta), np.exp(log_half) * scale / (1 - decay), shape, decay])


def _block_weights(n: int, samples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """How often each day appears in each moving-block resample of the n days."""
    length = min(BLOCK_DAYS, n)
    blocks = -(-n // length)
    out = []
    for _ in range(samples):
        starts = rng.integers(0, n - length + 1, size=blocks)
        days = (starts[:, None] + np.arange(length)).ravel()[:n]
        out.append(np.bincount(days, minlength=n).astype(float))
    return out
