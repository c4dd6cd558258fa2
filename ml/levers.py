"""Creative refresh and audience expansion as effects fitted from the data, each with its own uncertainty.

Per campaign, daily clicks per creative are Poisson with impressions as exposure and the world's two CTR laws
(`generator/dynamics.py`) in their shapes, with free parameters:

    ctr[creative, day] = quality[creative] * (floor + (1 - floor) * exp(-age * rate)) / (1 + exposure * spread)

`age` is the creative's days since its first delivery, `exposure` the campaign's impressions shown before the
day in units of its mean daily impressions. Creative age decays towards a floor; the audience saturates with
what it was already shown. A log-linear model (age and exposure as straight doses) could not tell the two apart:
both grow with time, and its fits on a small world multiplied clicks by 10^8 on a refresh. The shapes, weak
priors (no effect unless the data show one, as in `ml/response.py`) and non-negative rates keep each effect
bounded and in the direction of its law; the Laplace approximation at the posterior mode (the Pearson scale
for overdispersion) gives draws, so each effect has its own interval.

- A refresh on the first simulated day makes every live creative's age start again: its CTR on day h is
  multiplied by factor(h - 1) / factor(age + h), mixed by the creatives' recent clicks.
- An audience `m` times as large divides the exposure per pool user by `m` (the world's saturation is impressions
  shown per pool user): the CTR of a day with exposure x is multiplied by (1 + x * spread) / (1 + x * spread / m).

Both move clicks only: in the world (and in the data) conversions follow the spend's response curve
(`ml/response.py`), not the CTR. No Prefect: frames in, effects out; the pivots reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

MIN_CLICKS = 30
MIN_DAYS = 14
"""Below these a campaign's CTR trend cannot be told from noise (as `ml/outlook/fatigue.py` judges creatives)."""
RECENT_DAYS = 7
"""The days whose clicks weigh the creatives' mix and whose impressions project the exposure."""
QUANTILES = (0.1, 0.5, 0.9)
PRIOR = np.array([[0.5, 0.25], [0.0, 0.05], [0.0, 0.02]])
"""Weak normal priors (mean, sd) on the floor, the age rate per day and the spread per day of delivery shown: no
decay unless the data show one (a rate of 0.05 halves the gap to the floor in two weeks; a spread of 0.02 halves
the CTR after 50 days of delivery)."""
_LOWER, _UPPER = np.array([0.05, 0.0, 0.0]), np.array([1.0, 1.0, 1.0])


class TooLittleData(ValueError):
    """The campaign's creative days cannot support the effect model."""


@dataclass(frozen=True)
class CtrLaw:
    """One campaign's fitted CTR laws: `draws` [1 + samples, 3] of (floor, rate, spread), the mode first; `ages`
    and `weights` the live creatives' age on the last day and share of recent clicks; `exposure` shown through
    the last day and `daily` recent impressions a day, both in units of mean daily impressions."""

    campaign_id: str
    draws: np.ndarray
    std_error: np.ndarray
    ages: np.ndarray
    weights: np.ndarray
    exposure: float
    daily: float

    def age_factor(self, age: np.ndarray) -> np.ndarray:
        """[draws, ...] CTR factor of a creative of the given age(s)."""
        floor, rate = (self.draws[:, i].reshape(-1, *([1] * np.ndim(age))) for i in (0, 1))
        return floor + (1 - floor) * np.exp(-age * rate)


@dataclass(frozen=True)
class Effect:
    """A lever's multiplier on daily clicks: `ratio` [draws, days]; `evidence` what it rests on."""

    lever: str
    ratio: np.ndarray
    evidence: dict[str, float] = field(default_factory=dict)

    def quantiles(self) -> tuple[float, float, float]:
        """P10 / P50 / P90 of the multiplier averaged over the days."""
        low, mid, high = np.quantile(self.ratio.mean(axis=1), QUANTILES)
        return float(low), float(mid), float(high)


def ctr_law(creative_daily: pd.DataFrame, campaign_id: str, samples: int = 50, seed: int = 0) -> CtrLaw:
    """Fit the campaign's CTR laws (`creative_daily`: campaign_id, creative_id, day, impressions, clicks; complete
    days). Too few clicks or days is refused with the counts."""
    rows = creative_daily[(creative_daily["campaign_id"] == campaign_id) & (creative_daily["impressions"] > 0)]
    rows = rows.assign(day=pd.to_datetime(rows["day"])).sort_values(["day", "creative_id"], ignore_index=True)
    clicks, days = float(rows["clicks"].sum()), rows["day"].nunique()
    if clicks < MIN_CLICKS or days < MIN_DAYS:
        raise TooLittleData(
            f"campaign {campaign_id!r} has {clicks:.0f} clicks on {days} days of creative delivery; its CTR "
            f"laws need at least {MIN_CLICKS} clicks and {MIN_DAYS} days"
        )
    per_day = rows.groupby("day")["impressions"].sum()
    unit = float(per_day.mean())
    first = rows.groupby("creative_id")["day"].min()
    age = (rows["day"] - rows["creative_id"].map(first)).dt.days.to_numpy(float)
    exposure = rows["day"].map((per_day.cumsum() - per_day) / unit).to_numpy(float)
    creative = pd.Categorical(rows["creative_id"]).codes
    mode, cov = _fit(rows["clicks"].to_numpy(float), rows["impressions"].to_numpy(float), age, exposure, creative)
    rng = np.random.default_rng(seed)
    draws = np.vstack([mode, np.clip(rng.multivariate_normal(mode, cov, size=samples), _LOWER, _UPPER)])
    last = rows["day"].max()
    recent = rows[rows["day"] > last - pd.Timedelta(days=RECENT_DAYS)]
    live = recent.groupby("creative_id")["clicks"].sum() + 1e-9
    return CtrLaw(
        campaign_id, draws, np.sqrt(np.diag(cov)), (last - first[live.index]).dt.days.to_numpy(float),
        (live / live.sum()).to_numpy(float), float(per_day.sum()) / unit,
        float(per_day[per_day.index > last - pd.Timedelta(days=RECENT_DAYS)].mean()) / unit,
    )


def _fit(clicks: np.ndarray, impressions: np.ndarray, age: np.ndarray, exposure: np.ndarray,
         creative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode of (floor, rate, spread) with one log quality per creative, as least squares on deviance
    residuals plus the priors' standardised distances; the covariance of the three from the Jacobian, scaled by
    the Pearson dispersion."""
    n_creatives = int(creative.max()) + 1
    base = np.log(np.maximum(np.bincount(creative, clicks), 0.5) / np.bincount(creative, impressions))

    def expected(theta: np.ndarray) -> np.ndarray:
        floor, rate, spread = theta[:3]
        factor = floor + (1 - floor) * np.exp(-age * rate)
        return impressions * np.exp(theta[3:][creative]) * factor / (1 + exposure * spread)

    def residuals(theta: np.ndarray) -> np.ndarray:
        mu = np.maximum(expected(theta), 1e-12)
        deviance = 2 * (np.where(clicks > 0, clicks * np.log(np.maximum(clicks, 1e-12) / mu), 0.0) - (clicks - mu))
        return np.concatenate([np.sign(clicks - mu) * np.sqrt(np.maximum(deviance, 0.0)),
                               (theta[:3] - PRIOR[:, 0]) / PRIOR[:, 1]])

    lower = np.r_[_LOWER, np.full(n_creatives, -np.inf)]
    upper = np.r_[_UPPER, np.full(n_creatives, np.inf)]
    solved = least_squares(residuals, np.r_[PRIOR[:, 0], base], bounds=(lower, upper))
    mu = expected(solved.x)
    dispersion = max(float(((clicks - mu) ** 2 / np.maximum(mu, 1e-12)).sum()) / max(len(clicks) - len(solved.x), 1),
                     1.0)
    cov = np.linalg.pinv(solved.jac.T @ solved.jac) * dispersion
    return solved.x[:3], cov[:3, :3]


def creative_refresh_effect(law: CtrLaw, horizon: int) -> Effect:
    """Every live creative refreshed on the first simulated day: its age starts again at zero."""
    day = np.arange(1, horizon + 1)
    fresh = law.age_factor(day - 1.0)  # [draws, days]
    aged = law.age_factor(law.ages[:, None] + day[None, :])  # [draws, creatives, days]
    ratio = fresh * (law.weights[None, :, None] / aged).sum(axis=1)
    return Effect(
        "creative refresh", ratio,
        {"floor": float(law.draws[0, 0]), "rate_per_day": float(law.draws[0, 1]),
         "rate_std_error": float(law.std_error[1]), "mean_creative_age_days": float((law.weights * law.ages).sum())},
    )


def audience_expansion_effect(law: CtrLaw, pool_multiplier: float, horizon: int) -> Effect:
    """The audience pool `pool_multiplier` times as large from the first simulated day (0.8: a fifth smaller)."""
    if not pool_multiplier > 0:
        raise ValueError(f"the audience pool multiplier must be above zero, not {pool_multiplier}")
    exposure = law.exposure + law.daily * np.arange(horizon)  # shown before each simulated day
    spread = law.draws[:, 2:3]
    return Effect(
        "audience change", (1 + exposure * spread) / (1 + exposure * spread / pool_multiplier),
        {"spread_per_day_shown": float(law.draws[0, 2]), "spread_std_error": float(law.std_error[2]),
         "exposure_days_shown": law.exposure, "pool_multiplier": pool_multiplier},
    )
