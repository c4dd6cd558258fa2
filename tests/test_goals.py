"""The goal view and pacing risk on a real DuckDB warehouse with synthetic forecasts of known noise."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
import scenarios_support as support

from pulsecast.ml.outlook import goals as gl
from pulsecast.ml.outlook import scenarios as sc
from pulsecast.ml.outlook.findings import RiskType, Severity

END = support.CUTOFF + timedelta(days=20)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(4)
    backtests = pd.concat([support.backtest(rng, m, series=10, sigma=0.2) for m in sc.METRICS], ignore_index=True)
    # 10 conversions a day for 20 days: ~200 more; spend 50 a day: ~1000 more
    forecasts = {
        (c, m): (10.0 if m == "conversions" else 50.0) for c in ("hit", "miss", "open", "done") for m in sc.METRICS
    }
    daily = support.daily_totals({c: {"conversions": 40.0, "spend": 500.0} for c in ("hit", "miss", "open", "done")})
    pacing = pd.DataFrame(
        [
            support.pacing_row("hit", end_date=END, goal_conversions=100, budget=1500.0, status="on_track"),
            support.pacing_row("miss", end_date=END, goal_conversions=1000, budget=5000.0, status="behind"),
            support.pacing_row("open", goal_conversions=150, daily_budget=10.0, projected_goal_date=date(2026, 12, 12)),
            support.pacing_row(
                "done",
                end_date=END,
                goal_conversions=30,
                conversions_to_date=40,
                goal_reached_date=date(2026, 11, 20),
                status="goal_reached",
            ),
            support.pacing_row("later", start_date=date(2027, 1, 1), end_date=date(2027, 2, 1), goal_conversions=10),
        ]
    )
    path = support.warehouse(tmp_path_factory.mktemp("goals") / "w.duckdb", backtests, forecasts, daily, pacing)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def rows(world) -> pd.DataFrame:
    return gl.goals(world, run_id="r1").set_index("campaign_id")


def test_goal_probability_is_one_when_certain_to_hit_and_zero_when_certain_to_miss(rows):
    assert sorted(rows.reset_index().columns) == sorted(gl.COLUMNS)
    assert rows.loc["hit", "goal_probability"] > 0.99
    assert rows.loc["miss", "goal_probability"] < 0.01
    assert rows.loc["hit", "remaining_conversions"] == 60.0
    # 60 left at about 10 a day: around the 6th day, P10 <= P50 <= P90
    p10, p50, p90 = (rows.loc["hit", f"goal_date_p{p}"] for p in (10, 50, 90))
    assert p10 <= p50 <= p90 and abs((p50 - support.CUTOFF).days - 6) <= 1
    assert rows.loc["miss", ["goal_date_p10", "goal_date_p50", "goal_date_p90"]].isna().all()


def test_open_ended_dates_only_and_a_reached_goal_is_certain(rows):
    open_ended = rows.loc["open"]
    assert (
        pd.isna(open_ended["goal_probability"]) and abs((open_ended["goal_date_p50"] - support.CUTOFF).days - 11) <= 1
    )
    assert open_ended["projected_goal_date"] == date(2026, 12, 12)  # the mart's linear projection beside
    done = rows.loc["done"]
    assert done["basis"] == "reached" and done["goal_probability"] == 1.0
    assert done["goal_date_p10"] == done["goal_date_p90"] == date(2026, 11, 20)
    assert rows.loc["later", "basis"] == "no_forecast" and pd.isna(rows.loc["later", "goal_probability"])


def test_budget_probabilities(rows):
    # 500 spent + ~1000 more against 1500: on budget; against 5000: under; open: 10 a day x 14 vs ~50 a day: over
    assert rows.loc["hit", "overspend_probability"] < 0.2 and rows.loc["hit", "underspend_probability"] < 0.2
    assert rows.loc["miss", "underspend_probability"] > 0.99
    assert rows.loc["open", "budget_basis"] == "horizon" and rows.loc["open", "budget_target"] == 140.0
    assert rows.loc["open", "overspend_probability"] > 0.99


def test_pacing_findings(world, rows):
    scenarios = sc.scenarios(world)
    pacing = world.execute("SELECT * FROM marts.campaign_pacing").df()
    findings = {(f.campaign_id, f.subject): f for f in gl.pacing_findings(rows.reset_index(), scenarios, pacing)}
    assert ("hit", "goal_conversions") not in findings and ("done", "goal_conversions") not in findings
    miss = findings[("miss", "goal_conversions")]
    assert miss.risk_type is RiskType.pacing and miss.severity is Severity.high and miss.confidence > 0.99
    assert miss.evidence["goal_conversions"] == 1000 and miss.evidence["pace_status"] == "behind"
    assert miss.window_end.date() == END and miss.window_start.date() == support.CUTOFF + timedelta(days=1)
    assert f"{miss.evidence['median_conversions_at_end']:g}" in miss.summary
    assert findings[("miss", "budget_underspend")].severity is Severity.high
    assert not {subject for campaign, subject in findings if campaign == "open"}, (
        "an open-ended campaign's daily budget is a plan, not a limit: no budget finding"
    )
    assert not {subject for campaign, subject in findings if campaign == "hit"}
