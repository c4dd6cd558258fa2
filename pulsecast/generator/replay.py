"""Counterfactual replay: the world from a cutoff day to an end day under an intervention, per campaign x
channel x day, as expected values from the truth and as realised counts.

Expected values come from the plan, re-planned with the intervention's levers (adstock, Hill response,
audience saturation and creative fatigue follow the changed delivery). Realised counts are coupled to the
events the generator really emitted: the baseline replay counts them exactly, and a changed cell (a
measure whose expectation the intervention moved from mu0 to mu1) adds Poisson(mu1 - mu0) events or keeps
each event with probability mu1 / mu0, drawn from that cell's own random stream. Cells the intervention
does not move are copied, so replay minus baseline is the intervention's effect and nothing else: exactly
zero for an empty intervention and for every untouched campaign (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import pyarrow as pa

from pulsecast.generator import catalog
from pulsecast.generator.config import WorldConfig, epoch_day
from pulsecast.generator.events import CLICK, CONVERSION, IMPRESSION, ORDER_VALUE_SIGMA, synthesize_day
from pulsecast.generator.intervention import Intervention, resolve
from pulsecast.generator.plan import Plan, plan_days
from pulsecast.generator.streams import Stream, cell_rng
from pulsecast.generator.world import World, build_world

_MEAN_ORDER_FACTOR = float(np.exp(ORDER_VALUE_SIGMA**2 / 2))
"""Mean of the lognormal spread of a conversion's revenue around the brand's order value."""


@dataclass(frozen=True)
class Outcome:
    """Measures per [day, pair]; money in USD."""

    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    spend: np.ndarray
    revenue: np.ndarray

    def minus(self, other: Outcome) -> Outcome:
        return Outcome(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Replay:
    days: np.ndarray  # epoch days, cutoff to end
    campaign_ids: list[str]  # per pair
    channels: list[str]  # per pair
    expected: Outcome
    realised: Outcome

    def minus(self, baseline: Replay) -> Replay:
        """The intervention's effect: this replay minus the baseline, cell by cell."""
        return Replay(self.days, self.campaign_ids, self.channels, self.expected.minus(baseline.expected),
                      self.realised.minus(baseline.realised))

    def table(self) -> pa.Table:
        """One row per date x campaign x channel, `expected_*` and `realised_*` per measure."""
        n_days, n_pairs = self.expected.impressions.shape
        columns = {
            "date": pa.array(np.repeat(self.days, n_pairs).astype("datetime64[D]")),
            "campaign_id": pa.array(np.tile(self.campaign_ids, n_days)),
            "channel": pa.array(np.tile(self.channels, n_days)),
        }
        for kind, outcome in (("expected", self.expected), ("realised", self.realised)):
            columns |= {f"{kind}_{f.name}": getattr(outcome, f.name).ravel() for f in fields(outcome)}
        return pa.table(columns)


@dataclass(frozen=True)
class Baseline:
    """The world as generated from the cutoff: its plan and the emitted events' counts, computed once and
    shared by every replay against it."""

    config: WorldConfig
    world: World
    plan: Plan
    replay: Replay


def baseline(config: WorldConfig, cutoff: date, end: date) -> Baseline:
    """The world of `config` replayed without intervention over [cutoff, end]: what generation produced.

    Realised counts count the events of the sessions starting on each day (the generator's day chunks, before
    delivery delays and re-sends); expected values are the plan's and leave out the tracking outages."""
    if end < cutoff:
        raise ValueError(f"the replay ends ({end}) before its cutoff ({cutoff})")
    world = build_world(config, config.anchor_day())
    first, last = epoch_day(cutoff), epoch_day(end)
    plan = plan_days(world, first, last, config.high_growth)
    realised = _stack([_emitted(world, plan, day) for day in plan.days])
    pairs = world.pairs
    campaign_ids = np.array(world.campaigns.ids)[pairs.campaign].tolist()
    channels = np.array(catalog.CHANNEL_NAMES)[pairs.channel].tolist()
    return Baseline(config, world, plan, Replay(plan.days, campaign_ids, channels, _expected(world, plan), realised))


def replay(base: Baseline, intervention: Intervention) -> Replay:
    """The same days under `intervention`, effective from the baseline's cutoff (its first day)."""
    world, cutoff = base.world, int(base.plan.days[0])
    plan = plan_days(world, cutoff, int(base.plan.days[-1]), base.config.high_growth,
                     resolve(intervention, world, cutoff))
    expected = _expected(world, plan)
    realised = _couple(world.seed, base.plan.days, base.replay.expected, base.replay.realised, expected)
    return Replay(base.replay.days, base.replay.campaign_ids, base.replay.channels, expected, realised)


def _expected(world: World, plan: Plan) -> Outcome:
    """Expectations from the truth; clicks before within-day frequency fatigue, which depends on how
    individual users happen to repeat (the realised clicks include it)."""
    pairs, campaigns = world.pairs, world.campaigns
    ctr = np.array([catalog.CHANNELS[c].ctr for c in pairs.channel])
    clicks = plan.impressions * ctr * _creative_mix(world, plan)[:, pairs.campaign] * plan.ctr_multiplier
    order_value = world.brands.order_value[campaigns.brand[pairs.campaign]] * _MEAN_ORDER_FACTOR
    return Outcome(plan.impressions, clicks, plan.conversions, plan.spend, plan.conversions * order_value)


def _creative_mix(world: World, plan: Plan) -> np.ndarray:
    """[day, campaign] CTR factor of the creatives as the ad server rotates them (delivery-weighted)."""
    slots = world.campaigns.creatives
    shares = np.diff(plan.creative_cdf, axis=-1, prepend=0.0)
    factor = np.where(slots >= 0, plan.creative_factor[:, np.maximum(slots, 0)], 0.0)
    return (shares * factor).sum(axis=-1)


def _emitted(world: World, plan: Plan, day: int) -> Outcome:
    """Counts and money of the events the generator emits for the sessions starting on `day`."""
    chunk = synthesize_day(world, plan, int(day))
    n = len(world.pairs.campaign)

    def total(kind: int, weights: np.ndarray | None = None) -> np.ndarray:
        rows = chunk.kind == kind
        return np.bincount(chunk.pair[rows], None if weights is None else weights[rows], minlength=n).astype(float)

    return Outcome(total(IMPRESSION), total(CLICK), total(CONVERSION), total(IMPRESSION, chunk.cost) / 1e6,
                   total(CONVERSION, chunk.revenue) / 1e6)


def _stack(days: list[Outcome]) -> Outcome:
    return Outcome(**{f.name: np.vstack([getattr(d, f.name) for d in days]) for f in fields(Outcome)})


def _couple(seed: int, days: np.ndarray, mu0: Outcome, base: Outcome, mu1: Outcome) -> Outcome:
    """Realised counts under the new expectations, coupled to the baseline's; money follows the counts at
    the baseline cell's own price per unit (the expected one where the baseline had none)."""
    counts = {}
    for measure, name in enumerate(("impressions", "clicks", "conversions")):
        before, after, realised = getattr(mu0, name), getattr(mu1, name), getattr(base, name)
        out = realised.copy()
        for d, p in zip(*np.nonzero(before != after), strict=True):
            rng = cell_rng(seed, Stream.replay, int(days[d]), int(p), measure)
            if after[d, p] >= before[d, p]:
                out[d, p] += rng.poisson(after[d, p] - before[d, p])
            else:
                out[d, p] = rng.binomial(int(realised[d, p]), after[d, p] / before[d, p])
        counts[name] = out
    spend = _follow(base.spend, base.impressions, counts["impressions"], mu1.spend, mu1.impressions)
    revenue = _follow(base.revenue, base.conversions, counts["conversions"], mu1.revenue, mu1.conversions)
    return Outcome(counts["impressions"], counts["clicks"], counts["conversions"], spend, revenue)


def _follow(money: np.ndarray, count: np.ndarray, new_count: np.ndarray, expected_money: np.ndarray,
            expected_count: np.ndarray) -> np.ndarray:
    """Money of the new count: unchanged cells keep the baseline's money exactly."""
    unit = np.where(count > 0, money / np.maximum(count, 1),
                    expected_money / np.where(expected_count > 0, expected_count, 1.0))
    return np.where(new_count == count, money, money + (new_count - count) * unit)
