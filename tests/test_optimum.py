"""The true optimal split from the world's response curves: within the bounds, at the same total, better than
any other split, and realised as predicted by the replay's expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from pulsecast.generator import WorldConfig
from pulsecast.generator.optimum import Objective, SplitValue, true_optimum
from pulsecast.generator.replay import baseline, replay

CONFIG = WorldConfig(seed=11, days=30, campaigns=10, events_per_day=6_000, end=datetime(2026, 11, 21, tzinfo=UTC))
CAMPAIGN = "cmp-001"  # three channels with spend between the cutoff and the end


@pytest.fixture(scope="module")
def base():
    return baseline(CONFIG, date(2026, 11, 5), date(2026, 11, 19))


def test_the_optimum_keeps_the_total_and_the_bounds(base):
    allocation = true_optimum(base, [CAMPAIGN], bound=0.3)
    assert len(allocation.channels) == 3
    assert np.isclose(allocation.optimal_spend.sum(), allocation.current_spend.sum())
    ratio = allocation.optimal_spend / allocation.current_spend
    assert (ratio >= 0.7 - 1e-9).all() and (ratio <= 1.3 + 1e-9).all()
    assert allocation.lift > 0


def test_no_other_split_within_the_bounds_does_better(base):
    allocation = true_optimum(base, [CAMPAIGN], bound=0.3)
    rows = np.array([i for i, c in enumerate(base.replay.campaign_ids) if c == CAMPAIGN])
    value = SplitValue(base, rows)
    spend = allocation.current_spend
    rng = np.random.default_rng(0)
    tried = 0
    for _ in range(2_000):
        x = rng.uniform(0.7, 1.3, size=len(spend))
        x[-1] = (spend.sum() - x[:-1] @ spend[:-1]) / spend[-1]
        if 0.7 <= x[-1] <= 1.3:
            tried += 1
            assert value(x) <= allocation.optimal_value + 1e-9
    assert tried > 100


def test_wider_bounds_never_capture_less(base):
    lifts = [true_optimum(base, [CAMPAIGN], bound=b).lift for b in (0.1, 0.3, 0.6)]
    assert (np.diff(lifts) >= -1e-9).all()


def test_the_replay_realises_the_optimal_lift_in_expectation(base):
    allocation = true_optimum(base, [CAMPAIGN, "cmp-003"], objective=Objective.revenue)
    replayed = replay(base, allocation.intervention()).minus(base.replay)
    rows = [i for i, c in enumerate(base.replay.campaign_ids) if c in {CAMPAIGN, "cmp-003"}]
    assert np.isclose(replayed.expected.revenue[:, rows].sum(), allocation.lift)
    assert np.isclose(replayed.expected.spend[:, rows].sum(), 0.0, atol=1e-6)


def test_lines_without_spend_cannot_be_optimised(base):
    spend = base.replay.expected.spend.sum(axis=0)
    busy = {c for c, s in zip(base.replay.campaign_ids, spend, strict=True) if s > 0}
    idle = sorted(set(base.replay.campaign_ids) - busy)
    assert idle
    with pytest.raises(ValueError, match="no spend"):
        true_optimum(base, idle[:1])
