"""The two habits a budget pivot must beat, under the same band and total, predicted with the same curves:

- best historical ROAS (the spreadsheet habit): the campaign's channel with the highest revenue per USD over
  the history gets as much more budget as the band allows, taken evenly (in proportion to budget) from the others;
- the equal split: every channel moves towards the campaign's mean daily spend, as far as the band lets it.

They are what `bench/pivots.py` replays beside the pivots, so the closed loop says what the curves add.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from pulsecast.ml.pivots import BOUND, HORIZON_DAYS, Kind, Line, Pivot, Split, active, check, outcome, ranked, tilted
from pulsecast.ml.response import Curve

Rule = Callable[[list[Line], Split, float], np.ndarray]


def historical_roas(frame: pd.DataFrame) -> dict[Line, float]:
    """Revenue per USD of spend per (campaign_id, channel) over the whole frame (lines that never spent: none)."""
    totals = frame.groupby(["campaign_id", "channel"])[["revenue", "spend"]].sum()
    totals = totals[totals["spend"] > 0]
    return {(str(c), str(ch)): float(r) for (c, ch), r in (totals["revenue"] / totals["spend"]).items()}


def best_roas_rule(roas: Mapping[Line, float]) -> Rule:
    """Multipliers giving the best-ROAS line the whole band, taken from the others in proportion to budget."""
    def rule(keys: list[Line], split: Split, bound: float) -> np.ndarray:
        return tilted(split.budget, int(np.argmax([roas.get(k, 0.0) for k in keys])), bound)
    return rule


def equal_split(keys: list[Line], split: Split, bound: float) -> np.ndarray:
    """Multipliers moving every line towards the lines' mean daily spend, clipped to the band, at the same total
    spend over the horizon (the clip's scale found by bisection)."""
    target = split.spend.mean() / split.spend
    weights = split.budget

    def multipliers(scale: float) -> np.ndarray:
        return np.clip(scale * target, 1 - bound, 1 + bound)

    low, high = 0.0, 1 / target.min() * (1 + bound)
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if multipliers(middle) @ weights < weights.sum() else (low, middle)
    return multipliers((low + high) / 2)


def baseline_pivots(rule: Rule, name: str, curves: Mapping[Line, Curve], current: Mapping[Line, float],
                    campaign_ids: list[str] | None = None, horizon: int = HORIZON_DAYS, bound: float = BOUND,
                    running: Mapping[str, int] | None = None) -> list[Pivot]:
    """The `rule`'s move for every campaign with two or more lines to move between, always made (no minimum
    gain), its lift predicted like a pivot's."""
    pivots = []
    for campaign in check(curves, campaign_ids, horizon, bound):
        keys, spend, days = active([k for k in curves if k[0] == campaign], current, running, horizon)
        if len(keys) >= 2:
            split = Split([curves[k] for k in keys], spend, days, horizon)
            x = rule(keys, split, bound)
            pivots.append(outcome(Kind.budget_reallocation, campaign, keys, split, x, horizon, -np.inf, name))
    return ranked(pivots)
