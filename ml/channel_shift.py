"""Channel shift: within a campaign, move a fixed share of budget from the channel whose next dollar returns least
to the one whose next dollar returns most, where the fitted curves say the two differ clearly.

What distinguishes it from a budget reallocation (`ml/pivots.py`): the reallocation optimises every channel's
spend jointly and may move a little everywhere; the shift is one move between two channels, triggered by a
measured gap in marginal return per USD (the slope of each response curve at its current spend) and sized by a
fixed step, not by an optimiser: the "move 20 % from display to search" a person would make, with its
prediction. The two are alternatives for the same campaign: their lifts do not add.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pulsecast.ml.pivots import (
    BOUND,
    ELASTICITY_STEP,
    HORIZON_DAYS,
    MIN_GAIN,
    Kind,
    Line,
    Pivot,
    Split,
    active,
    check,
    outcome,
    ranked,
)
from pulsecast.ml.response import Curve

SHIFT_SHARE = 0.2
"""The step: a fifth of the lower-return channel's budget (never more than the band allows either side)."""
MIN_RATIO = 1.25
"""The higher marginal return must be at least 1.25x the lower one (means over the bootstrap curves)..."""
MIN_AGREEMENT = 0.8
"""...and higher under at least 80 % of the bootstrap curves: a gap the curves' own error cannot explain."""


def marginal_returns(split: Split) -> np.ndarray:
    """[lines, samples] extra conversions over the horizon per extra USD spent, at the current spend."""
    base = split.per_line(np.ones(len(split.spend)))
    bumped = split.per_line(np.ones(len(split.spend)) + ELASTICITY_STEP)
    return (bumped - base) / (ELASTICITY_STEP * split.budget)[:, None]


def recommend_shifts(curves: Mapping[Line, Curve], current: Mapping[Line, float],
                     campaign_ids: list[str] | None = None, horizon: int = HORIZON_DAYS, bound: float = BOUND,
                     min_gain: float = MIN_GAIN, running: Mapping[str, int] | None = None) -> list[Pivot]:
    """A shift per campaign whose channels' marginal returns differ clearly, ranked by impact."""
    chosen = check(curves, campaign_ids, horizon, bound)
    return ranked([_shift(c, curves, current, horizon, bound, min_gain, running) for c in chosen])


def _shift(campaign_id: str, curves: Mapping[Line, Curve], current: Mapping[Line, float], horizon: int,
           bound: float, min_gain: float, running: Mapping[str, int] | None) -> Pivot | None:
    keys, spend, days = active([k for k in curves if k[0] == campaign_id], current, running, horizon)
    if len(keys) < 2 or bound == 0:
        return None
    split = Split([curves[k] for k in keys], spend, days, horizon)
    returns = marginal_returns(split)
    mean = returns.mean(axis=1)
    high, low = int(np.argmax(mean)), int(np.argmin(mean))
    agreement = float((returns[high] > returns[low]).mean())
    if mean[high] < MIN_RATIO * max(mean[low], 0.0) or agreement < MIN_AGREEMENT or mean[high] <= 0:
        return None
    budget = split.budget
    moved = min(SHIFT_SHARE, bound) * budget[low]
    moved = min(moved, bound * budget[high])
    x = np.ones(len(keys))
    x[low], x[high] = 1 - moved / budget[low], 1 + moved / budget[high]
    ratio = "more than 10" if mean[low] <= 0 or mean[high] > 10 * mean[low] else f"{mean[high] / mean[low]:.1f}"
    assumptions = (f"Moves {moved / days[low]:,.2f} USD/day from {keys[low][1]} to {keys[high][1]}: the next USD on "
                   f"{keys[high][1]} returns {ratio}x the conversions of one on {keys[low][1]} (higher under "
                   f"{agreement:.0%} of the bootstrap curves); other channels and the total unchanged, conversions "
                   f"follow the fitted adstock + Hill curves, pooled and shrunk as a reallocation's; an "
                   f"alternative to the campaign's budget_reallocation, not in addition to it.")
    return outcome(Kind.channel_shift, campaign_id, keys, split, x, horizon, min_gain, assumptions)
