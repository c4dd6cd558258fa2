"""The facts an insight may rest on, per campaign, taken from this run's outlook and nothing else.

Whatever the insight writer (the LLM or the rules) says must be one of these numbers (`insights` checks it),
so a fact is added here, with its unit, before any insight can mention it.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from pulsecast.ml.outlook.insights import Fact


def campaign_facts(
    pacing: pd.DataFrame,
    goals: pd.DataFrame,
    scenarios: pd.DataFrame,
    risks: pd.DataFrame,
    benchmarks: pd.DataFrame,
) -> dict[str, list[Fact]]:
    """Facts per campaign with a forecast: pace and goal odds, the conversions scenarios, open risks and the
    benchmark gap."""
    if scenarios.empty:
        return {}  # nothing was forecast (too little history): no outlook to write about
    facts: dict[str, list[Fact]] = defaultdict(list)
    forecast = set(scenarios["campaign_id"])
    for row in pacing[pacing["campaign_id"].isin(forecast)].itertuples():
        facts[row.campaign_id] += _present(
            Fact("conversions_to_date", "Conversions so far", row.conversions_to_date, "conversions", "count"),
            Fact("goal_conversions", "Conversion goal", row.goal_conversions, "conversions", "count"),
            Fact(
                "pace_conversions_per_day",
                "Conversions per day, last 7 days",
                row.pace_conversions_per_day,
                "conversions",
                "count",
            ),
            Fact("pace_spend_to_date", "Spend so far", row.spend_to_date, "spend", "money"),
            Fact("pace_budget_status", "Budget pacing", row.budget_status, "spend", "text"),
        )
    for row in goals[goals["campaign_id"].isin(forecast)].itertuples():
        facts[row.campaign_id] += _present(
            Fact(
                "goal_probability",
                "Probability of reaching the goal by the end date",
                row.goal_probability,
                "conversions",
                "probability",
            ),
            Fact("goal_date_p50", "Median day the goal is reached", _iso(row.goal_date_p50), "conversions", "date"),
            Fact(
                "goal_date_linear_pace",
                "Goal day at the linear pace",
                _iso(row.projected_goal_date),
                "conversions",
                "date",
            ),
            Fact(
                "pace_overspend_probability",
                "Probability of overspending the budget",
                row.overspend_probability,
                "spend",
                "probability",
            ),
        )
    for row in _conversion_bands(scenarios).itertuples():
        facts[row.campaign_id] += _present(
            Fact(
                "scenario_realistic_conversions",
                f"Median conversions to come by {row.through_date:%Y-%m-%d}",
                row.realistic,
                "conversions",
                "count",
            ),
            Fact(
                "scenario_pessimistic_conversions",
                "Conversions to come, pessimistic (below)",
                row.pessimistic,
                "conversions",
                "count",
            ),
            Fact(
                "scenario_optimistic_conversions",
                "Conversions to come, optimistic (above)",
                row.optimistic,
                "conversions",
                "count",
            ),
            Fact(
                "scenario_realistic_measured_probability",
                "Share of past outcomes in the realistic band",
                row.realistic_measured,
                "conversions",
                "probability",
            ),
        )
    open_risks = risks[(risks["status"] == "open") & risks["campaign_id"].isin(forecast)]
    for campaign_id, group in open_risks.groupby("campaign_id"):
        top = group.sort_values("confidence", ascending=False).iloc[0]
        facts[campaign_id] += [
            Fact("risk_open_count", "Open risks", len(group), "risks", "count"),
            Fact("risk_top", "Most confident open risk", str(top["summary"]), str(top["risk_type"]), "text"),
            Fact(
                "risk_top_confidence", "Its confidence", float(top["confidence"]), str(top["risk_type"]), "probability"
            ),
        ]
    overall = benchmarks[(benchmarks["channel"] == "all") & benchmarks["campaign_id"].isin(forecast)]
    for row in overall.itertuples():
        facts[row.campaign_id] += _present(
            Fact(
                "benchmark_cpa_gap", "Cost per conversion against the channel benchmarks", row.cpa_gap, "cpa", "share"
            ),
            Fact("benchmark_cpa_driver", "What explains that gap", row.cpa_driver, "cpa", "text"),
        )
    return dict(facts)


def _conversion_bands(scenarios: pd.DataFrame) -> pd.DataFrame:
    """Per campaign, the conversions bands through the end date (the horizon when open ended)."""
    rows = scenarios[scenarios["metric"] == "conversions"].copy()
    rows["rank"] = (rows["span"] != "to_end").astype(int)
    rows = rows[rows["rank"] == rows.groupby("campaign_id")["rank"].transform("min")]
    bands = rows.pivot_table(
        index=["campaign_id", "through_date"],
        columns="scenario",
        values=["lower", "upper", "value", "measured_probability"],
        aggfunc="first",
    )
    return pd.DataFrame(
        {
            "pessimistic": bands[("upper", "pessimistic")],
            "realistic": bands[("value", "realistic")],
            "optimistic": bands[("lower", "optimistic")],
            "realistic_measured": bands[("measured_probability", "realistic")],
        }
    ).reset_index()


def _present(*facts: Fact) -> list[Fact]:
    """Only facts with a value: an unknown is not a fact."""
    return [
        fact for fact in facts if fact.value is not None and not (isinstance(fact.value, float) and pd.isna(fact.value))
    ]


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
