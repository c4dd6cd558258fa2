"""Budget pivots (ml/pivots.py) on curves with known parameters: spend moves toward the better channel within
the bounds at a fixed total, identical channels stay put, the lift interval is ordered, bad input fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsecast.ml.pivots import current_spend, recommend
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
