"""Response curves of the world: how spend, exposure and time turn into engagement.

These are the formulas the ground truth describes; analysts' models (MMM, fatigue detection, pacing) should
be able to recover their parameters from the emitted events.
"""

from __future__ import annotations

import numpy as np

FREQUENCY_DECAY = 0.35
"""CTR of the n-th impression of a campaign to one user in a day: FLOOR + (1-FLOOR)*exp(-DECAY*(n-1))."""
FREQUENCY_FLOOR = 0.30
CREATIVE_AGE_FLOOR = 0.50
"""A creative's CTR decays towards half of its launch CTR with a creative-specific time constant tau."""
FATIGUED_BELOW = 0.75
"""A creative counts as fatigued (truth window) once its age factor drops below this."""
SATURATION_SCALE = 15.0
"""Audience saturation: CTR halves once a campaign has shown SATURATION_SCALE impressions per pool user."""
RAMP_TAPER_DAYS = 7


def adstock(spend: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Geometric carry-over along axis 0 (days): a[t] = spend[t] + decay * a[t-1]."""
    stock = np.empty_like(spend, dtype=float)
    carry = np.zeros(spend.shape[1])
    for t in range(spend.shape[0]):
        carry = spend[t] + decay * carry
        stock[t] = carry
    return stock


def hill(x: np.ndarray, half_saturation: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Diminishing returns: 0 at no spend, 0.5 at the half-saturation point, towards 1 beyond it."""
    ratio = np.power(np.maximum(x, 0.0) / half_saturation, shape)
    return ratio / (1.0 + ratio)


def frequency_factor(frequency: np.ndarray) -> np.ndarray:
    return FREQUENCY_FLOOR + (1 - FREQUENCY_FLOOR) * np.exp(-FREQUENCY_DECAY * (frequency - 1))


def creative_age_factor(age_days: np.ndarray, tau: np.ndarray) -> np.ndarray:
    age = np.maximum(age_days, 0)
    return CREATIVE_AGE_FLOOR + (1 - CREATIVE_AGE_FLOOR) * np.exp(-age / tau)


def fatigue_onset_days(tau: np.ndarray) -> np.ndarray:
    """Age at which creative_age_factor crosses FATIGUED_BELOW."""
    return np.ceil(-tau * np.log((FATIGUED_BELOW - CREATIVE_AGE_FLOOR) / (1 - CREATIVE_AGE_FLOOR))).astype(int)


def saturation_factor(impressions_per_pool_user: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + impressions_per_pool_user / SATURATION_SCALE)


def lifecycle(days: np.ndarray, start: np.ndarray, end: np.ndarray, ramp_days: np.ndarray) -> np.ndarray:
    """[day, campaign] delivery pacing: 0 outside the flight, ramping up after launch, tapering to the end."""
    age = days[:, None] - start[None, :]
    remaining = end[None, :] - days[:, None]
    ramp = 1.0 - np.exp(-(age + 1) / ramp_days[None, :])
    taper = np.clip((remaining + 1) / RAMP_TAPER_DAYS, 0.3, 1.0)
    return np.where((age >= 0) & (remaining >= 0), ramp * taper, 0.0)
