"""Counterfactual replay of the generated world: the baseline is what generation produced, and an
intervention's difference from it is its effect alone (common random numbers)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.generator.config import epoch_day
from pulsecast.generator.dynamics import adstock, hill
from pulsecast.generator.intervention import AudienceChange, CreativeRefresh, Intervention, SpendChange
from pulsecast.generator.replay import Replay, baseline, replay

CONFIG = WorldConfig(seed=11, days=30, campaigns=10, events_per_day=6_000, end=datetime(2026, 11, 21, tzinfo=UTC),
                     file_format="parquet", late_share=0.05, duplicate_share=0.03)
CUTOFF, END = date(2026, 11, 5), date(2026, 11, 19)
"""Whole day chunks inside the backfill (22 Oct, 21 Nov]: every event of their sessions is in the files."""


@pytest.fixture(scope="module")
def base():
    return baseline(CONFIG, CUTOFF, END)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Unique events of the backfill with their day chunk (from the id), and the plan truth."""
    root = tmp_path_factory.mktemp("world")
    generate_backfill(CONFIG, root / "landing", root / "truth")
    events = pq.read_table(sorted((root / "landing").glob("events_*.parquet"))).to_pandas()
    events = events.drop_duplicates("event_id")
    events["chunk"] = pd.to_datetime(events["event_id"].str.split("-").str[2]).dt.date
    plan = pq.read_table(next((root / "truth").glob("plan_*.parquet"))).to_pandas()
    plan["date"] = pd.to_datetime(plan["date"]).dt.date
    return events, plan


def frame(result: Replay) -> pd.DataFrame:
    table = result.table().to_pandas()
    table["date"] = pd.to_datetime(table["date"]).dt.date
    return table.set_index(["date", "campaign_id", "channel"])


def active_pair(base) -> tuple[str, str, int]:
    """The campaign x channel with the most spend over the replay, and its column."""
    spend = base.replay.expected.spend.sum(axis=0)
    pair = int(spend.argmax())
    assert spend[pair] > 0
    return base.replay.campaign_ids[pair], base.replay.channels[pair], pair


def test_baseline_counts_exactly_the_generated_events(base, generated):
    events, _ = generated
    window = events[(events["chunk"] >= CUTOFF) & (events["chunk"] <= END)]
    realised = frame(base.replay)
    for event_type, measure in (("impression", "impressions"), ("click", "clicks"), ("conversion", "conversions")):
        counted = window[window["event_type"] == event_type].groupby(["chunk", "campaign_id", "channel"]).size()
        replayed = realised[f"realised_{measure}"]
        assert replayed.sum() == counted.sum() > 0
        assert (replayed[replayed > 0] == counted.reindex(replayed[replayed > 0].index)).all()
    money = window.groupby(["chunk", "campaign_id", "channel"])[["cost", "revenue"]].sum().astype(float)
    assert np.isclose(realised["realised_spend"].sum(), money["cost"].sum())
    assert np.isclose(realised["realised_revenue"].sum(), money["revenue"].sum())


def test_baseline_expectations_are_the_plan_truth(base, generated):
    _, plan = generated
    plan = plan[(plan["date"] >= CUTOFF) & (plan["date"] <= END)].set_index(["date", "campaign_id", "channel"])
    expected = frame(base.replay).reindex(plan.index)
    assert (expected["expected_impressions"] == plan["expected_impressions"]).all()
    assert (expected["expected_spend"] == plan["planned_spend"]).all()
    assert (expected["expected_conversions"] == plan["expected_conversions"]).all()


def test_empty_intervention_replays_the_baseline_exactly(base):
    effect = frame(replay(base, Intervention()).minus(base.replay))
    assert (effect == 0).all().all()


def test_replay_is_deterministic(base):
    campaign, channel, _ = active_pair(base)
    intervention = Intervention(spend=(SpendChange(campaign_id=campaign, channel=channel, multiplier=1.5),))
    assert frame(replay(base, intervention)).equals(frame(replay(base, intervention)))


def test_an_intervention_leaves_every_other_campaign_identical(base):
    campaign, channel, _ = active_pair(base)
    intervention = Intervention(
        spend=(SpendChange(campaign_id=campaign, channel=channel, multiplier=1.6),),
        audience=(AudienceChange(campaign_id=campaign, multiplier=2.0),),
        creative_refresh=(CreativeRefresh(campaign_id=campaign, day=CUTOFF),),
    )
    effect = frame(replay(base, intervention).minus(base.replay))
    others = effect[effect.index.get_level_values("campaign_id") != campaign]
    assert len(others) and (others == 0).all().all()
    touched = effect.xs((campaign, channel), level=("campaign_id", "channel"))
    assert touched["expected_impressions"].sum() > 0
    assert touched["realised_impressions"].sum() > 0
    assert touched["realised_spend"].sum() > 0


def test_more_spend_buys_conversions_with_the_hill_curves_diminishing_returns(base):
    campaign, channel, pair = active_pair(base)
    conversions = [replay(base, Intervention(spend=(SpendChange(campaign_id=campaign, channel=channel,
                                                                multiplier=m),))).expected.conversions[:, pair].sum()
                   for m in (1.0, 4.0, 8.0, 12.0)]
    gains = np.diff(conversions)
    assert (gains > 0).all()
    assert gains[1] < gains[0] and gains[2] < gains[1]


def test_expected_conversions_follow_the_true_response_curve(base):
    campaign, channel, pair = active_pair(base)
    result = replay(base, Intervention(spend=(SpendChange(campaign_id=campaign, channel=channel, multiplier=1.3),)))
    plan, pairs = base.plan, base.world.pairs
    carry = (plan.adstock[0, pair] - plan.spend[0, pair]) * pairs.decay[pair] ** np.arange(len(plan.days))
    stock = carry + adstock(1.3 * plan.spend[:, [pair]], pairs.decay[[pair]])[:, 0]
    response = hill(stock, pairs.half_saturation[pair], pairs.shape[pair])
    assert np.allclose(result.expected.conversions[:, pair], pairs.beta[pair] * response * plan.cvr_multiplier[:, pair])


def test_absolute_daily_spend_sets_the_spend(base):
    campaign, channel, _ = active_pair(base)
    result = frame(replay(base, Intervention(spend=(SpendChange(campaign_id=campaign, channel=channel,
                                                                daily_spend=500.0),))))
    spend = result.xs((campaign, channel), level=("campaign_id", "channel"))["expected_spend"]
    assert np.allclose(spend[spend > 0], 500.0)


def test_creative_refresh_restores_ctr(base):
    world, creatives = base.world, base.world.creatives
    aged = creatives.launch < epoch_day(CUTOFF) - 20
    delivering = base.replay.expected.impressions.sum(axis=0) > 0
    campaigns = [c for c in set(creatives.campaign[aged])
                 if delivering[world.pairs.campaign == c].any() and (creatives.launch[creatives.campaign == c]
                                                                     < epoch_day(CUTOFF)).all()]
    campaign = world.campaigns.ids[campaigns[0]]
    refreshed = replay(base, Intervention(creative_refresh=(CreativeRefresh(campaign_id=campaign, day=CUTOFF),)))
    rows = [i for i, c in enumerate(refreshed.campaign_ids) if c == campaign]

    def ctr(result: Replay) -> float:
        return result.expected.clicks[:, rows].sum() / result.expected.impressions[:, rows].sum()

    assert ctr(refreshed) > 1.1 * ctr(base.replay)
    assert refreshed.expected.impressions[:, rows].sum() == base.replay.expected.impressions[:, rows].sum()
    assert refreshed.realised.clicks[:, rows].sum() > base.replay.realised.clicks[:, rows].sum()


def test_a_larger_audience_pool_relieves_saturation(base):
    campaign, _, _ = active_pair(base)
    rows = [i for i, c in enumerate(base.replay.campaign_ids) if c == campaign]
    wider = replay(base, Intervention(audience=(AudienceChange(campaign_id=campaign, multiplier=3.0),)))
    assert wider.expected.clicks[:, rows].sum() > base.replay.expected.clicks[:, rows].sum()


def test_a_bad_intervention_is_refused(base):
    with pytest.raises(ValueError, match="does not buy"):
        replay(base, Intervention(spend=(SpendChange(campaign_id="cmp-001", channel="nowhere", multiplier=2),)))
    with pytest.raises(ValueError, match="unknown campaign"):
        replay(base, Intervention(audience=(AudienceChange(campaign_id="cmp-999", multiplier=2),)))
    with pytest.raises(ValueError, match="before the cutoff"):
        replay(base, Intervention(creative_refresh=(CreativeRefresh(campaign_id="cmp-001", day=date(2026, 11, 1)),)))
    with pytest.raises(ValueError, match="exactly one"):
        SpendChange(campaign_id="cmp-001", channel="search")
    with pytest.raises(ValueError, match="before its cutoff"):
        baseline(CONFIG, END, CUTOFF)
