"""The truly best budget split, from the world's own response curves: what a recommender's lift is measured
against (regret). Budgets move between campaign x channel lines at a fixed total, each line within a band
around its current spend, from the replay's cutoff to its end; the value is what the replay expects.

A line's spend scaled by x from the cutoff changes its adstock to carry + x * (adstock - carry), where carry
is what the days before the cutoff still contribute, so the expected conversions of any split are exact and
cheap (the same numbers `replay` gives for that split as spend multipliers).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, minimize

from pulsecast.generator.dynamics import hill
from pulsecast.generator.intervention import Intervention, SpendChange
from pulsecast.generator.replay import Baseline


class Objective(StrEnum):
    conversions = "conversions"
    revenue = "revenue"


@dataclass(frozen=True)
class Allocation:
    """Current and optimal spend per line (USD/day on average over the replay) and the expected value of
    each over the replay's days."""

    campaign_ids: list[str]
    channels: list[str]
    current_spend: np.ndarray
    optimal_spend: np.ndarray
    current_value: float
    optimal_value: float

    @property
    def lift(self) -> float:
        """The most any split within the bounds can add: the denominator of regret."""
        return self.optimal_value - self.current_value

    def intervention(self) -> Intervention:
        """The optimal split as an intervention, for the replay."""
        multiplier = self.optimal_spend / self.current_spend
        return Intervention(spend=tuple(
            SpendChange(campaign_id=c, channel=ch, multiplier=float(m))
            for c, ch, m in zip(self.campaign_ids, self.channels, multiplier, strict=True)
        ))


class SplitValue:
    """Expected value over the replay of the lines `pairs` with their spend scaled by x from the cutoff."""

    def __init__(self, base: Baseline, pairs: np.ndarray, objective: Objective = Objective.conversions) -> None:
        plan, curves, expected = base.plan, base.world.pairs, base.replay.expected
        decay = curves.decay[pairs]
        carry = (plan.adstock[0, pairs] - plan.spend[0, pairs]) * decay ** np.arange(len(plan.days))[:, None]
        self._carry, self._own = carry, plan.adstock[:, pairs] - carry
        self._half, self._shape = curves.half_saturation[pairs], curves.shape[pairs]
        per_conversion = (expected.revenue[:, pairs] / np.where(expected.conversions[:, pairs] > 0,
                                                              expected.conversions[:, pairs], 1.0))
        weight = per_conversion if objective is Objective.revenue else 1.0
        self._scale = curves.beta[pairs] * plan.cvr_multiplier[:, pairs] * weight

    def __call__(self, x: np.ndarray) -> float:
        return float((self._scale * hill(self._carry + x * self._own, self._half, self._shape)).sum())


def true_optimum(base: Baseline, campaign_ids: list[str], bound: float = 0.3,
                 objective: Objective = Objective.conversions) -> Allocation:
    """The best split of the lines of `campaign_ids` (one campaign's channels, or a brand's campaigns) at
    their current total, each line within +-`bound` of its current spend. Lines without spend are left out."""
    chosen = set(campaign_ids)
    spend = base.replay.expected.spend.sum(axis=0)
    pairs = np.array([i for i, c in enumerate(base.replay.campaign_ids) if c in chosen and spend[i] > 0], dtype=int)
    if not len(pairs):
        raise ValueError(f"no spend to move among {sorted(chosen)} between the cutoff and the end")
    value = SplitValue(base, pairs, objective)
    current = spend[pairs]
    x = _best_multipliers(value, current, bound)
    days = len(base.plan.days)
    return Allocation([base.replay.campaign_ids[p] for p in pairs], [base.replay.channels[p] for p in pairs],
                      current / days, current * x / days, value(np.ones(len(pairs))), value(x))


def _best_multipliers(value: SplitValue, spend: np.ndarray, bound: float) -> np.ndarray:
    """Multipliers within the band that keep the total; several starts, since a Hill curve with shape > 1 is
    convex below its inflection and the problem may have more than one local optimum."""
    n = len(spend)
    if n == 1:
        return np.ones(1)
    bounds = Bounds(np.full(n, 1 - bound), np.full(n, 1 + bound))
    total = LinearConstraint(spend[None, :] / spend.sum(), 1.0, 1.0)
    reference = value(np.ones(n))
    starts = [np.ones(n)] + [_tilted(spend, i, bound) for i in range(n)]
    best, best_value = np.ones(n), reference
    for start in starts:
        result = minimize(lambda x: -value(x) / reference, start, method="SLSQP", bounds=bounds, constraints=total)
        x = np.clip(result.x, 1 - bound, 1 + bound)
        feasible = abs(x @ spend - spend.sum()) <= 1e-6 * spend.sum()
        if result.success and feasible and value(x) > best_value:
            best, best_value = x, value(x)
    return best


def _tilted(spend: np.ndarray, favoured: int, bound: float) -> np.ndarray:
    """A feasible start that gives line `favoured` as much as the band allows, taken evenly from the others."""
    x = np.ones(len(spend))
    room = np.delete(spend, favoured).sum() * bound
    gain = min(spend[favoured] * bound, room)
    x[favoured] += gain / spend[favoured]
    others = np.arange(len(spend)) != favoured
    x[others] -= gain / np.delete(spend, favoured).sum()
    return x
