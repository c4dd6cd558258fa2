"""The daily plan: expected volumes, spend and response per campaign x channel, before any randomness of
individual events. It is the ground truth analysts compare their models with, and the input of the
event synthesis.

A day's plan depends only on the world and that day (adstock and saturation are recomputed from each
campaign's launch), so a day planned for live mode equals the same day planned for a backfill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulsecast.generator.dynamics import adstock, creative_age_factor, hill, lifecycle, saturation_factor
from pulsecast.generator.intervention import Levers
from pulsecast.generator.seasons import growth_trend, holiday_effects, weekday_factors, yearly_seasonality
from pulsecast.generator.streams import Stream, cumulative_shares, stream_rng
from pulsecast.generator.world import World

PACING_NOISE = 0.08
"""Day-to-day wobble of delivery per campaign x channel (lognormal sigma)."""
CREATIVE_ROTATION_POWER = 4
"""Ad servers shift delivery to creatives that still perform: weight = quality * age_factor**power."""


@dataclass(frozen=True)
class Plan:
    days: np.ndarray  # contiguous epoch days
    pace: np.ndarray  # [day, campaign] lifecycle pacing 0..1
    impressions: np.ndarray  # [day, pair] expected impressions
    spend: np.ndarray  # [day, pair] planned spend, USD
    adstock: np.ndarray  # [day, pair]
    response: np.ndarray  # [day, pair] Hill saturation of adstock, 0..1
    conversions: np.ndarray  # [day, pair] expected conversions
    ctr_multiplier: np.ndarray  # [day, pair] competitor shocks x audience saturation
    cvr_multiplier: np.ndarray  # [day, pair] holidays x competitor shocks
    saturation: np.ndarray  # [day, campaign]
    cost_multiplier: np.ndarray  # [day] auction prices follow demand
    creative_factor: np.ndarray  # [day, creative] CTR multiplier from quality and age
    creative_cdf: np.ndarray  # [day, campaign, slot] cumulative share of delivery per creative slot

    def row(self, day: int) -> int:
        return int(day - self.days[0])


def plan_days(world: World, first_day: int, last_day: int, high_growth: float, levers: Levers | None = None) -> Plan:
    """Plan every day in [first_day, last_day]; history from the earliest launch feeds adstock/saturation.
    `levers` replays the world under an intervention: from its cutoff, delivery follows the changed spend
    and the response, saturation and creative fatigue follow the changed delivery."""
    levers = levers or Levers.none(world)
    pairs, campaigns = world.pairs, world.campaigns
    origin = min(first_day, int(campaigns.start.min()))
    days = np.arange(origin, last_day + 1)
    pace = lifecycle(days, campaigns.start, campaigns.end, campaigns.ramp_days)
    traffic, conversion = holiday_effects(days, world.holidays)
    calendar = yearly_seasonality(days) * growth_trend(days, world.backfill_start_day) * traffic
    noise = np.vstack([
        stream_rng(world.seed, Stream.plan, int(d)).lognormal(0.0, PACING_NOISE, size=len(pairs.campaign))
        for d in days
    ])
    impressions = (pairs.base_impressions * pace[:, pairs.campaign] * weekday_factors(days)[:, pairs.channel]
                   * calendar[:, None] * noise * high_growth)
    cost_multiplier = np.sqrt(traffic)
    planned_spend = impressions * pairs.cpm / 1000 * cost_multiplier[:, None]
    factor = levers.spend_factor(days, planned_spend)
    impressions, spend = impressions * factor, planned_spend * factor
    stock = adstock(spend, pairs.decay)
    response = hill(stock, pairs.half_saturation, pairs.shape)
    shock_ctr, shock_cvr = _shock_multipliers(world, days)
    cvr_multiplier = conversion[:, None] * shock_cvr
    n_campaigns = len(campaigns.ids)
    per_campaign = np.zeros((len(days), n_campaigns))
    np.add.at(per_campaign.T, pairs.campaign, impressions.T)
    shown_before = np.cumsum(per_campaign, axis=0) - per_campaign
    pool = world.brands.pool_size[campaigns.brand] * levers.pool_factor(days)
    saturation = saturation_factor(shown_before / pool)
    creative_factor, creative_cdf = _creative_rotation(world, days, levers.refresh_day)
    keep = slice(first_day - origin, None)
    return Plan(
        days=days[keep], pace=pace[keep], impressions=impressions[keep], spend=spend[keep],
        adstock=stock[keep], response=response[keep],
        conversions=(pairs.beta * response * cvr_multiplier)[keep],
        ctr_multiplier=(shock_ctr * saturation[:, pairs.campaign])[keep], cvr_multiplier=cvr_multiplier[keep],
        saturation=saturation[keep], cost_multiplier=cost_multiplier[keep],
        creative_factor=creative_factor[keep], creative_cdf=creative_cdf[keep],
    )


def _shock_multipliers(world: World, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs, shocks = world.pairs, world.shocks
    ctr = np.ones((len(days), len(pairs.campaign)))
    cvr = np.ones_like(ctr)
    pair_brand = world.campaigns.brand[pairs.campaign]
    for i, kind in enumerate(shocks.target_kind):
        active = (days >= shocks.start[i]) & (days <= shocks.end[i])
        if not active.any():
            continue
        hit = (pairs.channel if kind == "channel" else pair_brand) == shocks.target[i]
        mask = active[:, None] & hit[None, :]
        ctr[mask] *= shocks.ctr_effect[i]
        cvr[mask] *= shocks.cvr_effect[i]
    return ctr, cvr


def _creative_rotation(world: World, days: np.ndarray, refresh_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Creative CTR factors and delivery shares; a refreshed creative's age counts from its refresh day."""
    creatives, slots = world.creatives, world.campaigns.creatives
    refreshed = (days[:, None] >= refresh_day[None, :]) & (creatives.launch < refresh_day)[None, :]
    age = days[:, None] - np.where(refreshed, refresh_day[None, :], creatives.launch[None, :])
    aged = creative_age_factor(age, creatives.tau)
    factor = creatives.quality * aged
    weight = np.where(age >= 0, factor * aged ** (CREATIVE_ROTATION_POWER - 1), 0.0)
    slot_weight = np.where(slots >= 0, weight[:, np.maximum(slots, 0)], 0.0)  # [day, campaign, slot]
    return factor, cumulative_shares(slot_weight)
