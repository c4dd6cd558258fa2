"""Creative refresh and audience expansion pivots (ml/lever_pivots.py, ml/outlook/pivots.py): on creative days
with planted CTR laws, the real detectors open their risks and each pivot appears where its condition is planted
and nowhere else; its lift is in clicks, ranked with the budget pivots in conversions."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from levers_support import planted

from pulsecast.ml.outlook import audience, fatigue, risks
from pulsecast.ml.outlook.pivots import lever_pivots, pivot_rows
from pulsecast.ml.pivots import Kind, Pivot

HORIZON = 14
PLANTED = {"fading": (1 / 15, 0.0), "saturating": (0.0, 0.02), "calm": (0.0, 0.0)}
"""Campaign -> (creative age decay rate, audience spread): fatigue in the first, saturation in the second."""
CONVERSIONS_PER_CLICK = 0.05


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The campaigns' creative days, their days with conversions, their flights, and the alert log the
    detectors leave: creative fatigue and audience fatigue found on what was planted."""
    creatives = pd.concat([planted(rate, spread, seed=i, campaign=c, daily=40_000)
                           for i, (c, (rate, spread)) in enumerate(PLANTED.items())], ignore_index=True)
    days = creatives.groupby(["campaign_id", "day"], as_index=False)[["impressions", "clicks"]].sum()
    daily = days.assign(channel="search", conversions=days["clicks"] * CONVERSIONS_PER_CLICK)
    rng = np.random.default_rng(0)
    step = np.where(days["campaign_id"] == "saturating", 0.05, 0.0)  # the same people shown the ads ever more often
    age = (days["day"] - days["day"].min()).dt.days
    reach = days.assign(frequency=2 + step * age + rng.normal(0, 0.01, len(days)))
    found = fatigue.fatigue_findings(creatives) + audience.audience_fatigue(reach)
    log = risks.merge_findings(pd.DataFrame(columns=list(risks.COLUMNS)), found, "run-1", datetime(2026, 3, 22))
    flights = pd.DataFrame({"campaign_id": list(PLANTED), "brand_id": "b1", "end_date": None})
    return creatives, daily, flights, log


def test_each_lever_pivot_appears_where_its_condition_is_planted_and_nowhere_else(world):
    creatives, daily, flights, log = world
    opened = {(c, t) for c, t in zip(log["campaign_id"], log["risk_type"], strict=True)}
    assert ("fading", "creative_fatigue") in opened and ("saturating", "audience_fatigue") in opened
    assert not any(c == "calm" for c, _ in opened), "nothing planted, nothing found"
    assert ("saturating", "creative_fatigue") in opened, "every creative's CTR falls as the audience saturates"

    found = lever_pivots(log, creatives, daily, flights, list(PLANTED), HORIZON)
    assert {(p.scope, p.kind) for p in found} == {("fading", Kind.creative_refresh),
                                                  ("saturating", Kind.audience_expansion)}, \
        "the CTR law puts the saturating campaign's decline on its audience: a refresh would not gain"
    for pivot in found:
        assert pivot.measure == "clicks" and pivot.conversions is None and not pivot.lines
        assert 0 < pivot.lift_p10 <= pivot.lift_p50 <= pivot.lift_p90 and pivot.confidence > 0.9
        assert pivot.conversions_per_unit == pytest.approx(CONVERSIONS_PER_CLICK)
        assert "conversions follow spend, not the CTR" in pivot.assumptions
    without_risks = log.assign(status="resolved")
    assert lever_pivots(without_risks, creatives, daily, flights, list(PLANTED), HORIZON) == [], "no open risk"
    assert lever_pivots(log, creatives, daily, flights, ["calm"], HORIZON) == [], "out of scope"


def test_a_lever_pivot_counts_only_the_days_its_campaign_still_delivers(world):
    creatives, daily, flights, log = world
    full = {p.scope: p for p in lever_pivots(log, creatives, daily, flights, list(PLANTED), HORIZON)}
    last = pd.to_datetime(creatives["day"]).max()
    ending = flights.assign(end_date=[last + pd.Timedelta(days=4), last, None])
    short = {p.scope: p for p in lever_pivots(log, creatives, daily, ending, list(PLANTED), HORIZON)}
    assert set(short) == {"fading"}, "the saturating campaign's flight ended on the last day"
    assert 0 < short["fading"].lift_p50 < full["fading"].lift_p50 / 2, "4 of 14 days"
    assert "4 of 14 days (until the flight ends)" in short["fading"].assumptions


def test_lever_rows_rank_with_the_budget_pivots_in_conversions_and_have_no_moves(world):
    creatives, daily, flights, log = world
    found = lever_pivots(log, creatives, daily, flights, list(PLANTED), HORIZON)
    refresh = next(p for p in found if p.kind == Kind.creative_refresh)
    worth = refresh.lift_p50 * refresh.confidence * CONVERSIONS_PER_CLICK
    budget = Pivot(Kind.budget_reallocation, "calm", (("calm", "search"), ("calm", "social")), np.array([10.0, 10.0]),
                   np.array([12.0, 8.0]), HORIZON, 100.0, 1.0, worth / 2, 2 * worth, 1.0, False, "flat spend")
    rows, moves = pivot_rows([budget, *found], {"fading": "b1", "saturating": "b1", "calm": "b1"}, "mlflow-run")
    first = rows.iloc[0]
    assert (first["kind"], first["campaign_id"], first["measure"]) == ("creative_refresh", "fading", "clicks")
    assert first["impact"] == pytest.approx(worth) and first["rank"] == 1
    assert first["recommended"] == "refresh every live creative" and pd.isna(first["response_run_id"])
    assert "clicks over 14 days" in first["summary"] and first["level"] == "campaign"
    assert rows.loc[rows["kind"] == "budget_reallocation", "measure"].tolist() == ["conversions"]
    assert set(moves["pivot_id"]) == {"budget_reallocation/calm"}, "the lever kinds move no spend"
