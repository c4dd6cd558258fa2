"""Budget pivots (ml/pivots.py, ml/channel_shift.py) on curves with known parameters: spend moves toward the
better channel within the bounds at a fixed total, also across a brand's campaigns at the brand's total; identical
channels stay put; a channel shift appears only where marginal returns differ; the lift interval is ordered; bad
input fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsecast.ml.channel_shift import marginal_returns, recommend_shifts
from pulsecast.ml.pivot_baselines import baseline_pivots, best_roas_rule, equal_split, historical_roas
from pulsecast.ml.pivots import Split, current_spend, recommend, recommend_brands
from pulsecast.ml.response import Curve

SAMPLES = 30


def _curve(channel: str, beta: float, half: float, spend: float, campaign_id: str = "c1", spread: float = 0.05,
           seed: int = 0) -> Curve:
    """A concave curve (shape 1) whose bootstrap refits scatter `spread` around the truth."""
    rng = np.random.default_rng(seed)
    truth = np.array([beta, half, 1.0, 0.3])
    params = np.vstack([truth, truth * np.exp(rng.normal(0, spread, (SAMPLES, 4)) * [1, 1, 0, 0])])
    return Curve(campaign_id, channel, params, np.full(SAMPLES + 1, 50.0), np.full(SAMPLES + 1, spend / 0.7),
                 (0.5 * spend, 2.0 * spend), pd.Timestamp("2026-11-01"))


def _curves(*lines: Curve) -> dict[tuple[str, str], Curve]:
    return {(c.campaign_id, c.channel): c for c in lines}


def test_spend_moves_toward_the_better_channel_within_the_bounds_at_the_same_total():
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("display", 10.0, 200.0, 100.0, seed=1))
    current = {("c1", "search"): 100.0, ("c1", "display"): 100.0}
    [pivot] = recommend(curves, current, bound=0.2)
    moved = dict(zip(pivot.channels, pivot.recommended, strict=True))
    assert moved["search"] == pytest.approx(120.0, rel=1e-3)
    assert moved["display"] == pytest.approx(80.0, rel=1e-3)
    assert pivot.recommended.sum() == pytest.approx(pivot.current.sum())
    assert 0 < pivot.lift_p10 <= pivot.lift_p50 <= pivot.lift_p90
    assert pivot.confidence == 1.0 and not pivot.extrapolated
    assert "+-20%" in pivot.assumptions


def test_identical_channels_keep_the_current_split():
    curves = _curves(_curve("search", 20.0, 150.0, 80.0, spread=0.0), _curve("social", 20.0, 150.0, 80.0, spread=0.0))
    [pivot] = recommend(curves, {("c1", "search"): 80.0, ("c1", "social"): 80.0})
    assert not pivot.moved
    assert pivot.lift_p10 == pivot.lift_p50 == pivot.lift_p90 == 0.0


def test_a_flat_objective_stays_near_the_current_split_by_the_penalty_alone():
    # far below half-saturation a shape-1 curve is a straight line: every split expects the same conversions
    curves = _curves(_curve("search", 1e4, 1e7, 50.0, spread=0.0), _curve("social", 1e4, 1e7, 150.0, spread=0.0))
    [pivot] = recommend(curves, {("c1", "search"): 50.0, ("c1", "social"): 150.0}, min_gain=0.0)
    assert pivot.recommended == pytest.approx(pivot.current, rel=1e-3)


def test_bounds_hold_for_every_channel_and_the_ranking_follows_impact():
    curves = _curves(*(_curve(ch, b, 300.0, s, seed=i) for i, (ch, b, s) in
                       enumerate([("search", 60.0, 50.0), ("social", 5.0, 300.0), ("display", 20.0, 120.0)])),
                     _curve("search", 11.0, 100.0, 100.0, campaign_id="c2"),
                     _curve("display", 10.0, 100.0, 100.0, campaign_id="c2", seed=4))
    current = {("c1", "search"): 50.0, ("c1", "social"): 300.0, ("c1", "display"): 120.0,
               ("c2", "search"): 100.0, ("c2", "display"): 100.0}
    pivots = recommend(curves, current, bound=0.3)
    assert [p.campaign_id for p in pivots] == ["c1", "c2"]
    assert pivots[0].impact >= pivots[1].impact
    for pivot in pivots:
        ratio = pivot.recommended / pivot.current
        assert np.all(ratio >= 0.7 - 1e-9) and np.all(ratio <= 1.3 + 1e-9)
        assert pivot.recommended.sum() == pytest.approx(pivot.current.sum())
        assert pivot.lift_p10 <= pivot.lift_p50 <= pivot.lift_p90


def test_spend_beyond_the_observed_range_is_flagged_and_widened():
    narrow = Curve("c1", "search", _curve("search", 40.0, 200.0, 100.0).params, np.full(SAMPLES + 1, 50.0),
                   np.full(SAMPLES + 1, 100.0 / 0.7), (90.0, 105.0), pd.Timestamp("2026-11-01"))
    curves = _curves(narrow, _curve("display", 10.0, 200.0, 100.0, seed=1))
    [pivot] = recommend(curves, {("c1", "search"): 100.0, ("c1", "display"): 100.0})
    assert pivot.extrapolated


def test_current_spend_is_the_recent_mean_with_missing_days_as_zero():
    days = pd.date_range("2026-10-01", periods=20, freq="D")
    frame = pd.concat([
        pd.DataFrame({"campaign_id": "c1", "channel": "search", "day": days, "spend": 10.0}),
        pd.DataFrame({"campaign_id": "c1", "channel": "social", "day": days[:13], "spend": 50.0}),
    ])
    assert current_spend(frame, days=14) == {("c1", "search"): 10.0, ("c1", "social"): 25.0}  # 7 of 14 days


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"campaign_ids": ["nope"]}, "no response curves for campaign"),
    ({"bound": -0.1}, "bound must be in"),
    ({"bound": 1.0}, "bound must be in"),
    ({"horizon": 0}, "horizon must be"),
])
def test_bad_input_is_refused_clearly(kwargs, message):
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("display", 10.0, 200.0, 100.0))
    with pytest.raises(ValueError, match=message):
        recommend(curves, {("c1", "search"): 100.0, ("c1", "display"): 100.0}, **kwargs)


def test_a_campaign_ending_within_the_horizon_predicts_less_and_an_ended_one_is_left_out():
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("display", 10.0, 200.0, 100.0, seed=1),
                     _curve("search", 40.0, 200.0, 100.0, campaign_id="c2"),
                     _curve("display", 10.0, 200.0, 100.0, campaign_id="c2", seed=1))
    current = {(c, ch): 100.0 for c in ("c1", "c2") for ch in ("search", "display")}
    full = {p.campaign_id: p for p in recommend(curves, current)}
    short = {p.campaign_id: p for p in recommend(curves, current, running={"c1": 7, "c2": 0})}
    assert set(short) == {"c1"}
    assert 0 < short["c1"].lift_p50 < full["c1"].lift_p50 / 2
    assert short["c1"].conversions < full["c1"].conversions / 2


def test_the_vectorised_split_is_the_curves_own_expectation():
    lines = [_curve("search", 40.0, 200.0, 100.0), _curve("display", 10.0, 150.0, 60.0, seed=1)]
    lines[1] = Curve("c1", "display", lines[1].params * [1, 1, 1.8, 2], lines[1].value_per_conversion,
                     lines[1].carry, lines[1].spend_range, lines[1].last_day)  # shape 1.8, decay 0.6
    spend, running, x = np.array([100.0, 60.0]), np.array([28.0, 10.0]), np.array([1.2, 0.7])
    split = Split(lines, spend, running, 28, pool=0.0)
    days = np.arange(28)
    plans = zip(lines, spend, x, running, strict=True)
    by_hand = sum(c.expected(s * m * (days < r)).sum(axis=1) for c, s, m, r in plans)
    assert split(x) == pytest.approx(by_hand, rel=1e-9)


def _brand() -> tuple[dict, dict, dict]:
    """Brand b1: campaign c1 converts four times better per USD than c2; brand b2 has one campaign."""
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("social", 40.0, 200.0, 100.0, seed=1),
                     _curve("search", 10.0, 200.0, 100.0, campaign_id="c2", seed=2),
                     _curve("social", 10.0, 200.0, 100.0, campaign_id="c2", seed=3),
                     _curve("search", 10.0, 200.0, 100.0, campaign_id="c3", seed=4),
                     _curve("social", 40.0, 200.0, 100.0, campaign_id="c3", seed=5))
    current = {key: 100.0 for key in curves}
    return curves, current, {"c1": "b1", "c2": "b1", "c3": "b2"}


def test_a_brand_reallocation_moves_budget_to_the_better_campaign_at_the_brands_total_within_bounds():
    curves, current, brands = _brand()
    [pivot] = recommend_brands(curves, current, brands, bound=0.25)
    assert pivot.scope == "b1" and pivot.campaign_id is None and {c for c, _ in pivot.lines} == {"c1", "c2"}
    moved = dict(zip(pivot.lines, pivot.recommended, strict=True))
    assert moved[("c1", "search")] == pytest.approx(125.0, rel=1e-3)
    assert moved[("c2", "social")] == pytest.approx(75.0, rel=1e-3)
    assert pivot.recommended.sum() == pytest.approx(pivot.current.sum())
    assert pivot.lift_p50 > 0 and "across brand b1" in pivot.assumptions


def test_a_brand_reallocation_keeps_the_total_spend_over_the_horizon_when_a_campaign_ends_early():
    curves, current, brands = _brand()
    [pivot] = recommend_brands(curves, current, brands, bound=0.25, running={"c1": 7})
    days = np.array([7.0 if c == "c1" else 28.0 for c, _ in pivot.lines])
    assert (pivot.recommended * days).sum() == pytest.approx((pivot.current * days).sum())
    ratio = pivot.recommended / pivot.current
    assert np.all(ratio >= 0.75 - 1e-9) and np.all(ratio <= 1.25 + 1e-9)


def test_a_channel_shift_appears_where_marginal_returns_differ_and_not_where_they_are_equal():
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("display", 10.0, 200.0, 100.0, seed=1),
                     _curve("search", 20.0, 150.0, 80.0, campaign_id="c2", spread=0.0),
                     _curve("social", 20.0, 150.0, 80.0, campaign_id="c2", spread=0.0))
    current = {("c1", "search"): 100.0, ("c1", "display"): 100.0, ("c2", "search"): 80.0, ("c2", "social"): 80.0}
    [shift] = recommend_shifts(curves, current)
    assert shift.kind == "channel_shift" and shift.campaign_id == "c1"
    moved = dict(zip(shift.channels, shift.recommended, strict=True))
    assert moved == {"search": pytest.approx(120.0), "display": pytest.approx(80.0)}, "a fifth of display's budget"
    assert shift.lift_p50 > 0 and "from display to search" in shift.assumptions


def test_marginal_returns_are_the_slope_of_each_curve_per_usd():
    line = _curve("search", 40.0, 200.0, 100.0, spread=0.0)
    split = Split([line], np.array([100.0]), np.array([28.0]), 28, pool=0.0)
    slope = (line.expected(np.full(28, 100.5)).sum(axis=1) - line.expected(np.full(28, 99.5)).sum(axis=1)) / 28
    assert marginal_returns(split)[0] == pytest.approx(slope, rel=0.01)


def test_historical_roas_is_revenue_per_usd_over_the_whole_history():
    frame = pd.DataFrame({"campaign_id": "c1", "channel": ["search", "search", "social", "email"],
                          "day": pd.to_datetime(["2026-10-01", "2026-10-02", "2026-10-01", "2026-10-01"]),
                          "spend": [10.0, 30.0, 20.0, 0.0], "revenue": [100.0, 20.0, 60.0, 5.0]})
    assert historical_roas(frame) == {("c1", "search"): 3.0, ("c1", "social"): 3.0}


def test_the_best_roas_baseline_gives_the_best_line_the_band_from_the_others_in_proportion():
    curves = _curves(_curve("search", 40.0, 200.0, 100.0), _curve("social", 10.0, 200.0, 100.0, seed=1),
                     _curve("display", 10.0, 200.0, 100.0, seed=2))
    current = {("c1", "search"): 100.0, ("c1", "social"): 100.0, ("c1", "display"): 200.0}
    roas = {("c1", "search"): 1.0, ("c1", "social"): 4.0, ("c1", "display"): 2.0}  # the spreadsheet disagrees
    [pivot] = baseline_pivots(best_roas_rule(roas), "best ROAS", curves, current, bound=0.3)
    moved = dict(zip(pivot.channels, pivot.recommended, strict=True))
    assert moved == {"social": pytest.approx(130.0), "search": pytest.approx(90.0), "display": pytest.approx(180.0)}
    assert pivot.lift_p50 < 0, "predicted like a pivot: away from the channel the curves favour, a loss"


@pytest.mark.parametrize(("spend", "expected"), [((90.0, 110.0), (100.0, 100.0)), ((50.0, 150.0), (65.0, 135.0))])
def test_the_equal_split_moves_towards_the_mean_as_far_as_the_band_lets_at_the_same_total(spend, expected):
    curves = _curves(_curve("search", 40.0, 200.0, spend[0]), _curve("social", 40.0, 200.0, spend[1], seed=1))
    current = {("c1", "search"): spend[0], ("c1", "social"): spend[1]}
    [pivot] = baseline_pivots(equal_split, "equal split", curves, current, bound=0.3)
    assert dict(zip(pivot.channels, pivot.recommended, strict=True)) == {
        "search": pytest.approx(expected[0], rel=1e-6), "social": pytest.approx(expected[1], rel=1e-6)}


def test_pooled_marginal_returns_rank_lines_by_their_average_return():
    """Fully pooled, each line's slope is its average return times the lines' mean elasticity: a line far below
    saturation (its own curve nearly straight) and one near it rank by conversions per USD alone."""
    straight, bent = _curve("search", 40.0, 5000.0, 100.0, spread=0.0), _curve("social", 10.0, 50.0, 100.0, spread=0.0)
    split = Split([straight, bent], np.array([100.0, 100.0]), np.array([28.0, 28.0]), 28, pool=1.0)
    average = split.per_line(np.ones(2)) / split.budget[:, None]
    returns = marginal_returns(split)
    assert returns[0] / returns[1] == pytest.approx(average[0] / average[1], rel=1e-6)
    own = marginal_returns(Split([straight, bent], np.array([100.0, 100.0]), np.array([28.0, 28.0]), 28, pool=0.0))
    assert own[0] / own[1] != pytest.approx(returns[0] / returns[1], rel=0.05), "pooling changed the basis"
