"""Creative refresh and audience expansion pivots: what refreshing a campaign's creatives, or widening its audience
pool, is predicted to bring over the horizon, for the campaigns where the problem each solves was found.

The effect is the campaign's fitted CTR law (`ml/levers.py`): a [draws, days] multiplier on clicks. The lift is
the campaign's recent clicks per day times (multiplier - 1), summed over the days it still delivers, per draw, so
its P10 / P50 / P90 carry the law's uncertainty. It is a lift in clicks: in the generated world, and in its data,
conversions follow the spend's response curve, not the CTR (`ml/simulation.py`), so a conversion lift read off
the clicks would be invented. The ranking still needs one unit: it counts a click at the campaign's recent
conversions per click (what the clicks are worth if they convert like today's), and the assumptions say so.
No Prefect: creative days in, typed recommendations out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pulsecast.ml import levers
from pulsecast.ml.pivots import MIN_GAIN, Kind, Pivot

POOL_CHANGE = 0.25
"""The audience expansion recommended: a pool a quarter larger, a widening of targeting a person can make."""
VALUE_DAYS = 14
"""The days over which the campaign's conversions per click are measured (as the budget pivots' current spend)."""


def recommend_levers(wanted: Mapping[str, list[Kind]], creatives: pd.DataFrame, daily: pd.DataFrame,
                     running: Mapping[str, int], horizon: int, min_gain: float = MIN_GAIN) -> list[Pivot]:
    """The lever pivots `wanted` (campaign -> creative_refresh and/or audience_expansion), each kept when its
    median lift reaches `min_gain` of the clicks expected without it. `creatives`: the creative days `ctr_law`
    fits; `daily`: the campaign x channel days with conversions; `running`: the days of the horizon each campaign
    still delivers. A campaign whose creative days cannot support the law, or that stops delivering, gets none."""
    pivots = []
    for campaign, kinds in sorted(wanted.items()):
        days = min(running.get(campaign, horizon), horizon)
        if days < 1:
            continue
        try:
            law = levers.ctr_law(creatives, campaign)
        except levers.TooLittleData:
            continue
        clicks, per_click = recent_clicks(creatives, daily, campaign)
        for kind in kinds:
            pivot = _pivot(kind, law, clicks, per_click, days, horizon)
            if pivot.lift_p50 >= min_gain * clicks * days:
                pivots.append(pivot)
    return pivots


def recent_clicks(creatives: pd.DataFrame, daily: pd.DataFrame, campaign: str) -> tuple[float, float]:
    """The campaign's clicks per day over the CTR law's recent days, and its conversions per click over the last
    VALUE_DAYS days."""
    mine = creatives[creatives["campaign_id"] == campaign]
    day = pd.to_datetime(mine["day"])
    last = day.max()
    clicks = float(mine.loc[day > last - pd.Timedelta(days=levers.RECENT_DAYS), "clicks"].sum()) / levers.RECENT_DAYS
    since = last - pd.Timedelta(days=VALUE_DAYS)
    clicked = float(mine.loc[day > since, "clicks"].sum())
    converted = daily.loc[(daily["campaign_id"] == campaign) & (pd.to_datetime(daily["day"]) > since), "conversions"]
    return clicks, float(converted.sum()) / clicked if clicked > 0 else 0.0


def _pivot(kind: Kind, law: levers.CtrLaw, clicks: float, per_click: float, days: int, horizon: int) -> Pivot:
    if kind == Kind.creative_refresh:
        effect = levers.creative_refresh_effect(law, horizon)
        words = (f"creatives aged {law.ages.min():.0f}-{law.ages.max():.0f} days "
                 f"({(law.weights * law.ages).sum():.0f} on average, by recent clicks)", "refresh every live creative")
        cause = (f"the fitted age decay (CTR towards {law.draws[0, 0]:.0%} of a new creative's at "
                 f"{law.draws[0, 1]:.3f} a day) starts again for every live creative")
    else:
        effect = levers.audience_expansion_effect(law, 1 + POOL_CHANGE, horizon)
        words = (f"the current audience pool, {law.exposure:.0f} days of delivery shown to it",
                 f"widen the audience pool by {POOL_CHANGE:.0%}")
        cause = (f"the fitted saturation (CTR divided by 1 + {law.draws[0, 2]:.4f} per day of delivery shown) "
                 f"spreads over a pool {1 + POOL_CHANGE:.2f} times as large")
    lift = clicks * (effect.ratio[:, :days] - 1).sum(axis=1)
    p10, p50, p90 = np.quantile(lift, levers.QUANTILES)
    flight = f"all {horizon} days" if days == horizon else f"{days} of {horizon} days (until the flight ends)"
    assumptions = (
        f"From the day after the last observed one, {cause}; clicks without it at the campaign's mean of "
        f"{clicks:,.1f} a day over its last {levers.RECENT_DAYS} days, spend unchanged, for {flight}; quantiles over "
        f"the CTR law's Laplace draws, no curse correction (nothing is optimised). The lift is in clicks: in these "
        f"data conversions follow spend, not the CTR, so no conversion gain is predicted; the rank counts a click "
        f"at the campaign's {per_click:.4f} conversions per click over its last {VALUE_DAYS} days."
    )
    return Pivot(kind, law.campaign_id, (), np.zeros(0), np.zeros(0), horizon, None, float(p10), float(p50),
                 float(p90), float((lift > 0).mean()), False, assumptions, measure="clicks",
                 conversions_per_unit=per_click, words=words)
