"""Vectorised synthesis of one day of events from the day's plan.

The unit is a user session on a publisher, bought by one campaign x channel: it holds content views (each
may pay the publisher's owner), ad impressions around them, clicks seconds after impressions and
conversions minutes after clicks. Events of a session are less than 30 minutes apart, and a user's
sessions of the day are pushed apart so that more than 30 minutes separate them.

A day chunk holds the sessions starting in (day 00:00, day+1 00:00] UTC; their events may spill a few hours
into the next day. Everything is drawn from the (seed, day) stream, so a chunk is the same whichever run
generates it. Separation is enforced within a chunk only: a session spilling past midnight can merge with
the same user's first session of the next chunk (about 0.1% of sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulsecast.generator import catalog
from pulsecast.generator.dynamics import frequency_factor
from pulsecast.generator.plan import Plan
from pulsecast.generator.seasons import hour_cdf
from pulsecast.generator.streams import Stream, pick, stream_rng
from pulsecast.generator.world import World

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SESSION_GAP_MS = 30 * 60_000
MAX_VIEWS = 12
WATCH_CAP_DS = 15_000  # 25 minutes, in deciseconds: consecutive views stay < 30 minutes apart
USER_SKEW = 2.0
"""Pool index = size * u**skew: a few heavy users, a long tail of occasional ones."""
DEVICE_STICKINESS = 0.9
"""Share of a user's sessions on the device they usually use for the channel."""
COST_SIGMA = 0.25  # auction price spread around the pair's CPM
ORDER_VALUE_SIGMA = 0.45  # spread of a conversion's revenue around the brand's order value

IMPRESSION, CLICK, CONVERSION, VIEW, EARNING = range(len(catalog.EVENT_TYPES))
_CH = catalog.CHANNELS
_CTR = np.array([c.ctr for c in _CH])
_EXTRA_IMPRESSIONS = np.array([c.extra_impressions for c in _CH])
_IMPRESSIONS_PER_SESSION = np.array([c.impressions_per_session for c in _CH])
_BASE_VIEWS = np.array([c.base_views for c in _CH])
_EXTRA_VIEWS = np.array([c.extra_views for c in _CH])
_WATCH_LOG_MEDIAN = np.log([c.watch_median_s for c in _CH])
_WATCH_SIGMA = np.array([c.watch_sigma for c in _CH])
_EARN_SHARE = np.array([c.earn_share for c in _CH])
_VALUE_PER_SECOND = np.array([c.value_per_second for c in _CH])
_DEVICE_CDF = np.cumsum([c.device_mix for c in _CH], axis=1)
_DEVICE_CDF[:, -1] = 1.0
_HOUR_CDF = hour_cdf()
_GOLDEN = 0.6180339887498949


@dataclass(frozen=True)
class EventChunk:
    """Events as integer codes (indexes into the world's entities, -1 for none); money in micro-USD."""

    day: int
    ts: np.ndarray  # epoch milliseconds, UTC
    kind: np.ndarray  # index into catalog.EVENT_TYPES
    pair: np.ndarray  # campaign x channel index
    device: np.ndarray
    publisher: np.ndarray
    topic: np.ndarray
    creative: np.ndarray
    user: np.ndarray
    owner: np.ndarray
    cost: np.ndarray
    revenue: np.ndarray
    amount: np.ndarray
    watch_ds: np.ndarray  # watch time in deciseconds

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class _Sessions:
    pair: np.ndarray
    campaign: np.ndarray
    channel: np.ndarray
    user: np.ndarray
    device: np.ndarray
    publisher: np.ndarray
    topic: np.ndarray
    start: np.ndarray  # ms after the day's midnight, in (0, DAY_MS]
    impressions: np.ndarray
    views: np.ndarray


def synthesize_day(world: World, plan: Plan, day: int) -> EventChunk:
    """All events of the sessions starting on `day`, ordered by time; index order defines event ids."""
    rng = stream_rng(world.seed, Stream.events, day)
    row = plan.row(day)
    sessions = _draw_sessions(world, plan.impressions[row], rng)
    parts = _session_events(world, plan, row, sessions, rng)
    start = day * DAY_MS + _separate_sessions(sessions, parts)
    session, offset, cause = parts.pop("session"), parts.pop("offset"), parts.pop("cause")
    lost = _lost_in_outage(world, sessions.campaign[session], start[session] + cause, rng.random(len(start))[session])
    kept = np.flatnonzero((start[session] <= (day + 1) * DAY_MS) & ~lost)
    kept = kept[np.lexsort((parts["kind"][kept], (start[session] + offset)[kept]))]
    session = session[kept]
    return EventChunk(
        day=day, ts=start[session] + offset[kept], pair=sessions.pair[session], device=sessions.device[session],
        publisher=sessions.publisher[session], topic=sessions.topic[session], user=sessions.user[session],
        **{name: values[kept] for name, values in parts.items()},
    )


def _draw_sessions(world: World, impressions: np.ndarray, rng: np.random.Generator) -> _Sessions:
    pairs, brands, publishers = world.pairs, world.brands, world.publishers
    counts = rng.poisson(impressions / _IMPRESSIONS_PER_SESSION[pairs.channel])
    pair = np.repeat(np.arange(len(counts)), counts)
    n = len(pair)
    campaign, channel = pairs.campaign[pair], pairs.channel[pair]
    brand = world.campaigns.brand[campaign]
    user = (brands.pool_offset[brand] + (brands.pool_size[brand] * rng.random(n) ** USER_SKEW).astype(np.int64))
    user %= world.n_users
    usual_device = (user * _GOLDEN) % 1.0
    device = pick(np.where(rng.random(n) < DEVICE_STICKINESS, usual_device, rng.random(n)), _DEVICE_CDF[channel])
    publisher = publishers.by_channel[channel, pick(rng.random(n), publishers.cdf_by_channel[channel])]
    topic = publishers.topics[publisher, (rng.random(n) * publishers.topic_count[publisher]).astype(np.int64)]
    start = pick(rng.random(n), _HOUR_CDF[device]) * HOUR_MS + rng.integers(1, HOUR_MS + 1, size=n)
    n_impressions = 1 + rng.poisson(_EXTRA_IMPRESSIONS[channel])
    n_views = np.minimum(_BASE_VIEWS[channel] + rng.poisson(_EXTRA_VIEWS[channel]), MAX_VIEWS)
    order = np.lexsort((start, user))  # per user in time order: frequency and separation rely on it
    return _Sessions(pair[order], campaign[order], channel[order], user[order], device[order],
                     publisher[order], topic[order], start[order], n_impressions[order], n_views[order])


def _session_events(world: World, plan: Plan, row: int, s: _Sessions, rng: np.random.Generator) -> dict:
    """Events of every session as columns: offset (ms) from the session start, and the offset of the
    event that caused it (the impression behind a click or conversion, the view behind an earning)."""
    view_session = np.repeat(np.arange(len(s.pair)), s.views)
    view_channel = s.channel[view_session]
    watch_ds = np.clip(np.round(10 * rng.lognormal(_WATCH_LOG_MEDIAN[view_channel], _WATCH_SIGMA[view_channel])),
                       10, WATCH_CAP_DS).astype(np.int64)
    watch_ms = watch_ds * 100
    view_offset = _group_cumsum(rng.integers(3_000, 40_001, size=len(view_session)) + watch_ms, s.views) - watch_ms

    imp_session = np.repeat(np.arange(len(s.pair)), s.impressions)
    imp_offset = _impression_offsets(s, imp_session, view_offset, watch_ms, rng)
    imp_pair, imp_campaign = s.pair[imp_session], s.campaign[imp_session]
    slot = pick(rng.random(len(imp_session)), plan.creative_cdf[row][imp_campaign])
    creative = world.campaigns.creatives[imp_campaign, slot]
    frequency = _daily_frequency(imp_campaign, s.user[imp_session], imp_session, imp_offset)
    ctr = (_CTR[s.channel[imp_session]] * plan.creative_factor[row][creative] * frequency_factor(frequency)
           * plan.ctr_multiplier[row][imp_pair])
    cost = np.round(world.pairs.cpm[imp_pair] * plan.cost_multiplier[row] * 1000
                    * rng.lognormal(0.0, COST_SIGMA, size=len(imp_session))).astype(np.int64)

    clicked = np.flatnonzero(rng.random(len(imp_session)) < ctr)
    click_offset = imp_offset[clicked] + np.clip(rng.lognormal(np.log(8_000), 0.6, size=len(clicked)),
                                                 1_000, 120_000).astype(np.int64)
    source, conv_offset = _conversions(plan.conversions[row], imp_pair, clicked, imp_offset, click_offset, rng)
    order_value = world.brands.order_value[world.campaigns.brand[imp_campaign[source]]]
    revenue = np.round(order_value * rng.lognormal(0.0, ORDER_VALUE_SIGMA, size=len(source)) * 1e6).astype(np.int64)

    earned = np.flatnonzero(rng.random(len(view_session)) < _EARN_SHARE[view_channel])
    owner = world.publishers.owner[s.publisher[view_session[earned]]]
    amount = np.round(world.owners.revenue_share[owner] * watch_ds[earned] / 10
                      * _VALUE_PER_SECOND[view_channel[earned]] * 1e6).astype(np.int64)

    n_imp, n_click, n_conv, n_view, n_earn = len(imp_session), len(clicked), len(source), len(view_session), len(earned)
    return {
        "session": np.concatenate([imp_session, imp_session[clicked], imp_session[source], view_session,
                                   view_session[earned]]),
        "offset": np.concatenate([imp_offset, click_offset, conv_offset, view_offset, view_offset[earned]
                                  + watch_ms[earned]]),
        "cause": np.concatenate([imp_offset, imp_offset[clicked], imp_offset[source], view_offset,
                                 view_offset[earned]]),
        "kind": np.repeat(np.arange(5, dtype=np.int8), [n_imp, n_click, n_conv, n_view, n_earn]),
        "creative": np.concatenate([creative, creative[clicked], creative[source], _none(n_view + n_earn)]),
        "owner": np.concatenate([_none(n_imp + n_click + n_conv + n_view), owner]),
        "cost": np.concatenate([cost, _none(n_click + n_conv + n_view + n_earn)]),
        "revenue": np.concatenate([_none(n_imp + n_click), revenue, _none(n_view + n_earn)]),
        "amount": np.concatenate([_none(n_imp + n_click + n_conv + n_view), amount]),
        "watch_ds": np.concatenate([_none(n_imp + n_click + n_conv), watch_ds, _none(n_earn)]),
    }


def _conversions(expected: np.ndarray, imp_pair: np.ndarray, clicked: np.ndarray, imp_offset: np.ndarray,
                 click_offset: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Conversions that meet the response curve's expectation per campaign x channel: after clicks where
    there are clicks, otherwise (view-through) after impressions. Returns the source impressions and offsets."""
    clicks = np.bincount(imp_pair[clicked], minlength=len(expected))
    p_click = np.clip(expected / np.maximum(clicks, 1), 0.0, 0.9)
    impressions = np.bincount(imp_pair, minlength=len(expected))
    p_view = np.clip((expected - clicks * p_click) / np.maximum(impressions, 1), 0.0, 0.5)
    after_click = rng.random(len(clicked)) < p_click[imp_pair[clicked]]
    after_view = np.flatnonzero(rng.random(len(imp_pair)) < p_view[imp_pair])
    source = np.concatenate([clicked[after_click], after_view])
    start = np.concatenate([click_offset[after_click], imp_offset[after_view]])
    delay = np.clip(rng.lognormal(np.log(240_000), 0.8, size=len(source)), 10_000, 1_500_000).astype(np.int64)
    return source, start + delay


def _impression_offsets(s: _Sessions, imp_session: np.ndarray, view_offset: np.ndarray, watch_ms: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Pre-roll before each view, then mid-rolls; sessions without content get ads seconds to minutes apart."""
    n = len(imp_session)
    position = np.arange(n) - np.repeat(np.cumsum(s.impressions) - s.impressions, s.impressions)
    views = s.views[imp_session]
    first_view = (np.cumsum(s.views) - s.views)[imp_session]
    view = np.where(views > 0, first_view + position % np.maximum(views, 1), len(view_offset))
    at_view = np.append(view_offset, 0)[view]
    watched = np.append(watch_ms, 0)[view]
    with_views = np.where(position < views, at_view - rng.integers(500, 3_001, size=n),
                          at_view + (rng.random(n) * watched).astype(np.int64))
    gaps = rng.integers(5_000, 180_001, size=n)
    without_views = _group_cumsum(gaps, s.impressions) - gaps
    return np.where(views > 0, with_views, without_views)


def _daily_frequency(campaign: np.ndarray, user: np.ndarray, session: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """1 for a user's first impression of the campaign that day, 2 for the second, ... (sessions are in
    user-then-time order, so session index then offset is time order within a user)."""
    order = np.lexsort((offset, session, campaign))
    c, u = campaign[order], user[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (u[1:] != u[:-1])
    starts = np.flatnonzero(new)
    rank = np.arange(len(order)) - starts[np.cumsum(new) - 1]
    frequency = np.empty(len(order), dtype=np.int64)
    frequency[order] = rank + 1
    return frequency


def _separate_sessions(s: _Sessions, parts: dict) -> np.ndarray:
    """Session starts, pushed so each of a user's sessions begins > 30 min after the previous one ended.

    The recurrence start'[i] = max(start[i], start'[i-1] + length[i-1]) is solved without a loop:
    with C[i] the within-user sum of earlier lengths, start'[i] = C[i] + running max of (start - C).
    """
    n = len(s.pair)
    if n == 0:
        return s.start
    duration = np.zeros(n, dtype=np.int64)
    np.maximum.at(duration, parts["session"], parts["offset"])
    length = duration + SESSION_GAP_MS + 1_000
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = s.user[1:] != s.user[:-1]
    group = np.cumsum(new_user) - 1
    counts = np.bincount(group)
    before = _group_cumsum(length, counts) - length
    relative = s.start - before
    span = int(relative.max() - relative.min()) + 1
    lifted = relative + group * span
    return before + np.maximum.accumulate(lifted) - group * span


def _lost_in_outage(world: World, campaign: np.ndarray, cause_ts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Events swallowed by the injected tracking outages: a `depth` share of the campaign's sessions loses
    every event whose cause (the impression behind a click or conversion, else the event itself) falls in
    the window, so no click survives without its impression."""
    dips = world.dips
    lost = np.zeros(len(campaign), dtype=bool)
    if not len(campaign):
        return lost
    for i in np.flatnonzero((dips.end_ms > cause_ts.min()) & (dips.start_ms < cause_ts.max())):
        lost |= ((campaign == dips.campaign[i]) & (cause_ts > dips.start_ms[i]) & (cause_ts <= dips.end_ms[i])
                 & (u < dips.depth[i]))
    return lost


def _none(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at each group of `counts` consecutive values."""
    total = np.cumsum(values)
    before = np.concatenate([[0], total])[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)
