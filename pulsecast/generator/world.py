"""The entities of the simulated world and their hidden parameters, built deterministically from the config.

Entities depend only on the seed; their calendar (flights, launches, shocks, outages) hangs on the anchor
day, so the same config run by backfill and by live mode on the same day describes the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulsecast.generator import catalog
from pulsecast.generator.config import WorldConfig
from pulsecast.generator.dynamics import hill, lifecycle
from pulsecast.generator.seasons import Holiday, holiday_calendar
from pulsecast.generator.streams import Stream, cumulative_shares, stream_rng

OPEN_ENDED = 1_000_000
"""End day of campaigns without an end date (far beyond any horizon)."""
HORIZON_BEFORE_DAYS = 60
HORIZON_AFTER_DAYS = 365
"""Shocks and outages are scheduled from 60 days before the backfill to a year after the anchor."""
TYPICAL_UPLIFT = 1.1
"""Average of the calendar multipliers; budgets and response curves are sized for it."""
TYPICAL_CTR_FACTOR = 0.5
"""Average of the CTR multipliers (frequency, creative age, saturation, shocks) in a running world."""
MAX_CREATIVES = 5
MIN_USERS = 2_000

_CHANNEL_INDEX = {name: i for i, name in enumerate(catalog.CHANNEL_NAMES)}


@dataclass(frozen=True)
class Brands:
    ids: list[str]
    names: list[str]
    industries: list[str]
    order_value: np.ndarray
    pool_offset: np.ndarray  # first user index of the brand's audience pool
    pool_size: np.ndarray


@dataclass(frozen=True)
class Campaigns:
    ids: list[str]
    names: list[str]
    brand: np.ndarray
    objective: list[str]
    start: np.ndarray  # epoch day of first delivery
    end: np.ndarray  # epoch day of last delivery, OPEN_ENDED if none
    ramp_days: np.ndarray
    daily_budget: np.ndarray
    budget: np.ndarray
    goal_conversions: np.ndarray
    target_cpa: np.ndarray
    creatives: np.ndarray  # [campaign, MAX_CREATIVES] creative index, -1 where unused

    def channels(self, pairs: Pairs) -> list[list[str]]:
        names = [[] for _ in self.ids]
        for campaign, channel in zip(pairs.campaign, pairs.channel, strict=True):
            names[campaign].append(catalog.CHANNEL_NAMES[channel])
        return names


@dataclass(frozen=True)
class Pairs:
    """Campaign x channel lines: the unit that buys media and has a response curve."""

    campaign: np.ndarray
    channel: np.ndarray
    base_impressions: np.ndarray  # expected impressions per day at full pace and neutral calendar
    cpm: np.ndarray
    decay: np.ndarray  # adstock carry-over per day
    half_saturation: np.ndarray  # Hill K, in adstocked spend (USD)
    shape: np.ndarray  # Hill S
    beta: np.ndarray  # conversions per day at full saturation


@dataclass(frozen=True)
class Creatives:
    ids: list[str]
    campaign: np.ndarray
    launch: np.ndarray  # epoch day
    quality: np.ndarray  # CTR multiplier
    tau: np.ndarray  # fatigue time constant, days


@dataclass(frozen=True)
class Publishers:
    ids: list[str]
    channel: np.ndarray
    owner: np.ndarray
    by_channel: np.ndarray  # [channel, k] publisher index, -1 padding
    cdf_by_channel: np.ndarray  # [channel, k] cumulative pick probability
    topics: np.ndarray  # [publisher, n_topics] topic index, -1 padding
    topic_count: np.ndarray


@dataclass(frozen=True)
class Owners:
    ids: list[str]
    names: list[str]
    kinds: list[str]
    revenue_share: np.ndarray


@dataclass(frozen=True)
class Shocks:
    """Competitor pushes: while active they depress CTR and CVR of a channel or a brand."""

    target_kind: list[str]  # "channel" or "brand"
    target: np.ndarray  # channel or brand index
    start: np.ndarray  # epoch day, inclusive
    end: np.ndarray  # epoch day, inclusive
    ctr_effect: np.ndarray
    cvr_effect: np.ndarray


@dataclass(frozen=True)
class Dips:
    """Tracking outages: a share `depth` of a campaign's events is lost between start and end."""

    campaign: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray
    depth: np.ndarray


@dataclass(frozen=True)
class World:
    seed: int
    anchor_day: int
    backfill_start_day: int
    n_users: int
    brands: Brands
    campaigns: Campaigns
    pairs: Pairs
    creatives: Creatives
    publishers: Publishers
    owners: Owners
    shocks: Shocks
    dips: Dips
    holidays: list[Holiday]

    @property
    def horizon(self) -> tuple[int, int]:
        return self.backfill_start_day - HORIZON_BEFORE_DAYS, self.anchor_day + HORIZON_AFTER_DAYS

    def user_ids(self) -> list[str]:
        return [f"u-{i:07d}" for i in range(self.n_users)]


def build_world(config: WorldConfig, anchor_day: int) -> World:
    rng = stream_rng(config.seed, Stream.world)
    backfill_start = anchor_day - config.days
    first, last = backfill_start - HORIZON_BEFORE_DAYS, anchor_day + HORIZON_AFTER_DAYS
    n_users = max(MIN_USERS, 2 * config.events_per_day)
    brands = _brands(rng, min(8, config.campaigns), n_users)
    owners = _owners(rng)
    publishers = _publishers(rng, len(owners.ids))
    flights = _flights(rng, config, backfill_start)
    pair_campaign, pair_channel, share = _channel_mix(rng, flights["objective"])
    base = _calibrate(config, flights, pair_campaign, pair_channel, share, backfill_start, anchor_day)
    pairs = _response_curves(rng, pair_campaign, pair_channel, base)
    creatives, campaign_creatives = _creatives(rng, flights["start"], flights["end"])
    campaigns = _campaigns(rng, flights, brands, pairs, campaign_creatives)
    return World(
        seed=config.seed, anchor_day=anchor_day, backfill_start_day=backfill_start, n_users=n_users,
        brands=brands, campaigns=campaigns, pairs=pairs, creatives=creatives, publishers=publishers,
        owners=owners, shocks=_shocks(rng, first, last, len(brands.ids), pair_channel),
        dips=_dips(rng, campaigns, first, last), holidays=holiday_calendar(first, last),
    )


def _brands(rng: np.random.Generator, count: int, n_users: int) -> Brands:
    chosen = rng.choice(len(catalog.BRANDS), size=count, replace=False)
    profiles = [catalog.BRANDS[i] for i in chosen]
    return Brands(
        ids=[f"br-{i + 1:02d}" for i in range(count)],
        names=[p.name for p in profiles],
        industries=[p.industry for p in profiles],
        order_value=np.array([p.order_value for p in profiles]),
        pool_offset=rng.integers(0, n_users, size=count),
        pool_size=(n_users * rng.uniform(0.15, 0.35, size=count)).astype(np.int64),
    )


def _owners(rng: np.random.Generator) -> Owners:
    profiles = catalog.OWNERS
    return Owners(
        ids=[f"own-{i + 1:02d}" for i in range(len(profiles))],
        names=[p.name for p in profiles],
        kinds=[p.kind for p in profiles],
        revenue_share=np.array([round(rng.uniform(*p.share_range), 3) for p in profiles]),
    )


def _publishers(rng: np.random.Generator, n_owners: int) -> Publishers:
    """Every owner gets at least one publisher whose views pay, so every owner earns."""
    profiles = catalog.PUBLISHERS
    channel = np.array([_CHANNEL_INDEX[p.channel] for p in profiles])
    paying = np.array([catalog.CHANNELS[c].earn_share > 0 for c in channel])
    owner = rng.integers(0, n_owners, size=len(profiles))
    paying_idx = rng.permutation(np.flatnonzero(paying))
    owner[paying_idx] = np.arange(len(paying_idx)) % n_owners
    width = max(np.bincount(channel))
    by_channel = np.full((len(catalog.CHANNELS), width), -1)
    weights = np.zeros((len(catalog.CHANNELS), width))
    for c in range(len(catalog.CHANNELS)):
        members = np.flatnonzero(channel == c)
        by_channel[c, : len(members)] = members
        weights[c, : len(members)] = rng.lognormal(0.0, 0.5, size=len(members))
    topic_index = {t: i for i, t in enumerate(catalog.TOPICS)}
    topics = np.full((len(profiles), len(catalog.TOPICS)), -1)
    counts = np.zeros(len(profiles), dtype=np.int64)
    for i, p in enumerate(profiles):
        own = [topic_index[t] for t in (p.topics or catalog.TOPICS)]
        topics[i, : len(own)] = own
        counts[i] = len(own)
    return Publishers([p.slug for p in profiles], channel, owner, by_channel, cumulative_shares(weights), topics,
                      counts)


def _flights(rng: np.random.Generator, config: WorldConfig, backfill_start: int) -> dict[str, np.ndarray]:
    """Schedule: a quarter always-on (started before the history), the rest launching across it and a
    month beyond, so backfill shows launches and endings and live mode still sees new campaigns."""
    n = config.campaigns
    always_on = rng.random(n) < 0.25
    always_on[0] = True
    start = np.where(
        always_on,
        backfill_start - rng.integers(5, 60, size=n),
        backfill_start + rng.integers(-30, config.days + 30, size=n),
    )
    open_ended = always_on | (rng.random(n) < 0.15)
    end = np.where(open_ended, OPEN_ENDED, start + rng.integers(21, 121, size=n))
    return {
        "start": start,
        "end": end,
        "ramp_days": rng.uniform(2.0, 7.0, size=n),
        "weight": rng.lognormal(0.0, 0.6, size=n),
        "objective": rng.choice(len(catalog.OBJECTIVES), size=n, p=[0.3, 0.3, 0.4]),
    }


def _channel_mix(rng: np.random.Generator, objective: np.ndarray) -> tuple[np.ndarray, ...]:
    campaign, channel, share = [], [], []
    for c, goal in enumerate(objective):
        weights = catalog.OBJECTIVE_CHANNEL_WEIGHTS[catalog.OBJECTIVES[goal]]
        k = rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25])
        names = list(weights)
        p = np.array([weights[x] for x in names])
        picked = sorted(rng.choice(len(names), size=k, replace=False, p=p / p.sum()))
        split = rng.dirichlet(np.full(k, 4.0))
        for j, name_idx in enumerate(picked):
            campaign.append(c)
            channel.append(_CHANNEL_INDEX[names[name_idx]])
            share.append(split[j])
    return np.array(campaign), np.array(channel), np.array(share)


def _events_per_impression(channel: np.ndarray) -> np.ndarray:
    """Expected events of all types that accompany one impression on each channel."""
    out = []
    for c in channel:
        p = catalog.CHANNELS[c]
        views = p.views_per_session / p.impressions_per_session
        out.append(1.0 + TYPICAL_CTR_FACTOR * p.ctr * (1 + p.cvr) + views * (1 + p.earn_share))
    return np.array(out)


def _calibrate(config: WorldConfig, flights: dict, campaign: np.ndarray, channel: np.ndarray,
               share: np.ndarray, backfill_start: int, anchor_day: int) -> np.ndarray:
    """Base impressions per pair so that the backfill averages `events_per_day` before calendar effects."""
    days = np.arange(backfill_start, anchor_day)
    pace = lifecycle(days, flights["start"], flights["end"], flights["ramp_days"])[:, campaign]
    relative = flights["weight"][campaign] * share
    events = (pace * relative * _events_per_impression(channel)).sum(axis=1).mean()
    return relative * config.events_per_day / max(events, 1e-9)


def _response_curves(rng: np.random.Generator, campaign: np.ndarray, channel: np.ndarray,
                     base: np.ndarray) -> Pairs:
    """Adstock + Hill per pair, scaled so typical spend converts at the channel's typical CVR."""
    profiles = [catalog.CHANNELS[c] for c in channel]
    cpm = np.array([p.cpm for p in profiles]) * rng.lognormal(0.0, 0.15, size=len(channel))
    decay = np.array([rng.uniform(*p.decay_range) for p in profiles])
    typical_spend = base * TYPICAL_UPLIFT * cpm / 1000
    typical_stock = typical_spend / (1 - decay)
    half = typical_stock * rng.uniform(0.6, 1.5, size=len(channel))
    shape = rng.uniform(1.0, 2.5, size=len(channel))
    clicks = base * TYPICAL_UPLIFT * TYPICAL_CTR_FACTOR * np.array([p.ctr for p in profiles])
    beta = clicks * np.array([p.cvr for p in profiles]) / hill(typical_stock, half, shape)
    return Pairs(campaign, channel, base, cpm, decay, half, shape, beta)


def _creatives(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> tuple[Creatives, np.ndarray]:
    """2-5 creatives per campaign: one or two at launch, the rest as refreshes during the flight."""
    ids, campaign, launch = [], [], []
    table = np.full((len(start), MAX_CREATIVES), -1)
    for c in range(len(start)):
        total = int(rng.integers(2, MAX_CREATIVES + 1))
        initial = 1 + int(rng.random() < 0.4)
        refreshes = total - initial
        if end[c] == OPEN_ENDED:
            offsets = np.cumsum(rng.uniform(18, 40, size=refreshes))
        else:
            span = end[c] - start[c]
            offsets = span * (np.arange(1, refreshes + 1) + rng.uniform(-0.2, 0.2, size=refreshes)) / total
        days = np.concatenate([np.zeros(initial), np.maximum(offsets, 1)]).astype(int) + start[c]
        for k, day in enumerate(days):
            table[c, k] = len(ids)
            ids.append(f"cr-{c + 1:03d}-{k + 1}")
            campaign.append(c)
            launch.append(day)
    n = len(ids)
    creatives = Creatives(
        ids, np.array(campaign), np.array(launch),
        quality=np.clip(rng.lognormal(0.0, 0.2, size=n), 0.5, 2.0),
        tau=rng.uniform(12.0, 35.0, size=n),
    )
    return creatives, table


def _campaigns(rng: np.random.Generator, flights: dict, brands: Brands, pairs: Pairs,
               creatives: np.ndarray) -> Campaigns:
    n = len(flights["start"])
    brand = rng.permutation(np.arange(n) % len(brands.ids))
    spend = np.bincount(pairs.campaign, pairs.base_impressions * pairs.cpm / 1000, minlength=n)
    daily_budget = np.round(spend * TYPICAL_UPLIFT * rng.uniform(0.9, 1.15, size=n), 2)
    flight_days = np.where(flights["end"] == OPEN_ENDED, 365, flights["end"] - flights["start"] + 1)
    budget = np.round(daily_budget * flight_days, 2)
    typical_stock = pairs.base_impressions * TYPICAL_UPLIFT * pairs.cpm / 1000 / (1 - pairs.decay)
    conversions = pairs.beta * hill(typical_stock, pairs.half_saturation, pairs.shape)
    per_day = np.bincount(pairs.campaign, conversions, minlength=n)
    goal = np.maximum(1, np.round(per_day * flight_days * rng.uniform(0.85, 1.15, size=n))).astype(np.int64)
    target_cpa = np.round(budget / goal * rng.uniform(0.85, 1.1, size=n), 2)
    themes = rng.choice(len(catalog.CAMPAIGN_THEMES), size=n)
    objective = [catalog.OBJECTIVES[o] for o in flights["objective"]]
    return Campaigns(
        ids=[f"cmp-{i + 1:03d}" for i in range(n)],
        names=[f"{brands.names[b]} {catalog.CAMPAIGN_THEMES[t]}" for b, t in zip(brand, themes, strict=True)],
        brand=brand, objective=objective, start=flights["start"], end=flights["end"],
        ramp_days=flights["ramp_days"], daily_budget=daily_budget, budget=budget, goal_conversions=goal,
        target_cpa=target_cpa, creatives=creatives,
    )


def _shocks(rng: np.random.Generator, first: int, last: int, n_brands: int, channels_used: np.ndarray) -> Shocks:
    """Back-to-back cycles of 3-9 shock days and 6-17 quiet days: every month has at least one shock."""
    kinds, targets, starts, ends = [], [], [], []
    used = np.unique(channels_used)
    day = first + int(rng.integers(2, 12))
    while day < last:
        length = int(rng.integers(3, 10))
        on_channel = rng.random() < 0.5
        kinds.append("channel" if on_channel else "brand")
        targets.append(int(rng.choice(used)) if on_channel else int(rng.integers(0, n_brands)))
        starts.append(day)
        ends.append(day + length - 1)
        day += length + int(rng.integers(6, 18))
    n = len(starts)
    return Shocks(kinds, np.array(targets), np.array(starts), np.array(ends),
                  ctr_effect=rng.uniform(0.45, 0.75, size=n), cvr_effect=rng.uniform(0.7, 0.9, size=n))


def _dips(rng: np.random.Generator, campaigns: Campaigns, first: int, last: int) -> Dips:
    """About one outage per campaign every 40 flight days, 2-10 hours long, losing 60-90% of events."""
    hour_ms, day_ms = 3_600_000, 86_400_000
    campaign, start = [], []
    for c in range(len(campaigns.ids)):
        lo, hi = max(first, campaigns.start[c]), min(last, campaigns.end[c])
        count = rng.poisson(max(hi - lo + 1, 0) / 40) if hi >= lo else 0
        days = rng.integers(lo, hi + 1, size=count) if count else np.zeros(0, int)
        campaign.extend([c] * count)
        start.extend(days * day_ms + rng.integers(0, 24, size=count) * hour_ms)
    n = len(campaign)
    start_ms = np.array(start, dtype=np.int64)
    return Dips(np.array(campaign, dtype=np.int64), start_ms,
                start_ms + rng.integers(2, 11, size=n) * hour_ms, rng.uniform(0.6, 0.9, size=n))
