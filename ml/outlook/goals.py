"""The goal view ("at this pace, 50 conversions by Nov 15", with a probability) and pacing risk.

From the same cumulative distributions as the scenarios (`outlook.scenarios`): the probability of reaching the
conversion goal by the end date, the P10 / P50 / P90 day the goal is reached (P(reached by day d) rises with d;
the P10 day is the early one, reached by then one time in ten), and the probabilities of spending more than the
budget or less than it (by `BUDGET_TOLERANCE`), beside the pacing mart's linear projection. An open-ended
campaign gets dates only (there is no deadline to reach by) and its budget is its daily budget over the horizon.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml.outlook.findings import Finding, RiskType, Severity
from pulsecast.ml.outlook.scenarios import CumulativeDistribution, Outlook, build_outlook, read_inputs

DATE_LEVELS = (0.1, 0.5, 0.9)
OPEN_ENDED_DAYS = 365
"""How far ahead an open-ended campaign's goal dates are looked for."""
BUDGET_TOLERANCE = 0.1
"""Spend within +/- this share of the budget counts as delivered (the pacing mart's 0.9 / 1.1 ratios)."""
SEVERITY = ((0.8, Severity.high), (0.5, Severity.medium), (0.25, Severity.low))
"""A pacing finding's severity by the probability of the problem; below the last, no finding."""

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "campaign_id": ("VARCHAR", "Campaign (one row per campaign with a conversion goal or a budget)."),
    "cutoff": ("DATE", "Last complete day of the forecast the probabilities come from (null without one)."),
    "end_date": ("DATE", "Planned last day (null: open ended)."),
    "basis": (
        "VARCHAR",
        "forecast (probabilities from the cumulative distribution), reached (goal already met), ended (the flight "
        "is over), no_forecast (not started or not forecast).",
    ),
    "goal_conversions": ("BIGINT", "Target conversions (null: no goal)."),
    "conversions_to_date": ("DOUBLE", "Conversions through the cutoff (the mart's, when there is no forecast)."),
    "remaining_conversions": ("DOUBLE", "goal_conversions - conversions_to_date, never below 0."),
    "goal_probability": (
        "DOUBLE",
        "Probability of reaching the goal by the end date (1 once reached, 0 once ended short; null open ended).",
    ),
    "goal_date_p10": ("DATE", "Day by which the goal is reached with probability 0.1 (early); null if not by the end."),
    "goal_date_p50": ("DATE", "Day by which the goal is reached with probability 0.5; null if not by the end."),
    "goal_date_p90": ("DATE", "Day by which the goal is reached with probability 0.9 (late); null if not by the end."),
    "goal_dates_extrapolated": ("BOOLEAN", "Some goal date lies past the backtested horizon."),
    "pace_conversions_per_day": ("DOUBLE", "The mart's linear pace (campaign_pacing)."),
    "projected_goal_date": ("DATE", "The mart's linear projection of the goal date."),
    "pace_status": ("VARCHAR", "The mart's status (on_track, behind, goal_reached, missed, ...)."),
    "budget_basis": (
        "VARCHAR",
        "flight (budget by the end date) or horizon (open ended: daily budget x horizon days).",
    ),
    "budget_target": ("DOUBLE", "The spend the campaign should deliver on budget_basis."),
    "spend_to_date": ("DOUBLE", "Spend through the cutoff (counted in the flight basis only)."),
    "spend_p50": ("DOUBLE", "Median spend on budget_basis (to date + the span's median)."),
    "overspend_probability": ("DOUBLE", "P(spend > budget_target x (1 + tolerance))."),
    "underspend_probability": ("DOUBLE", "P(spend < budget_target x (1 - tolerance))."),
    "projected_spend_at_end": ("DOUBLE", "The mart's linear projection of spend at the end date."),
    "budget_status": ("VARCHAR", "The mart's budget status."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}


def reach_curve(distribution: CumulativeDistribution, remaining: float, days: int) -> np.ndarray:
    """P(goal reached by day k) for k = 1..days: non-decreasing, since totals only grow."""
    curve = np.array([float(distribution.prob_at_least(k, remaining)) for k in range(1, days + 1)])
    return np.maximum.accumulate(curve)


def reach_dates(curve: np.ndarray, cutoff: date) -> list[date | None]:
    """The first day the curve reaches each of `DATE_LEVELS` (None if it never does)."""
    dates = []
    for level in DATE_LEVELS:
        hit = np.flatnonzero(curve >= level)
        dates.append(cutoff + timedelta(days=int(hit[0]) + 1) if len(hit) else None)
    return dates


def _date(value) -> date | None:
    return pd.Timestamp(value).date() if pd.notna(value) else None


def goal_row(campaign: pd.Series, conversions: CumulativeDistribution | None) -> dict:
    """The goal part of one campaign's row."""
    goal = campaign["goal_conversions"]
    row = {"basis": "no_forecast", "goal_conversions": None if pd.isna(goal) else int(goal)}
    row["conversions_to_date"] = float(campaign["conversions_to_date"])
    if conversions is not None:
        row["basis"] = "forecast"
        row["conversions_to_date"] = conversions.to_date
    if pd.isna(goal) or goal <= 0:
        return row
    remaining = max(float(goal) - row["conversions_to_date"], 0.0)
    row["remaining_conversions"] = remaining
    reached = _date(campaign["goal_reached_date"])
    if reached is not None or remaining == 0:
        when = reached or (conversions.cutoff if conversions else None)
        return (
            row
            | {"basis": "reached", "goal_probability": 1.0, "remaining_conversions": 0.0}
            | dict(zip(["goal_date_p10", "goal_date_p50", "goal_date_p90"], [when] * 3, strict=True))
        )
    end = _date(campaign["end_date"])
    if conversions is None:
        ended = end is not None and end < pd.Timestamp(campaign["as_of"]).date()
        return row | ({"basis": "ended", "goal_probability": 0.0} if ended else {})
    days = (end - conversions.cutoff).days if end else OPEN_ENDED_DAYS
    curve = reach_curve(conversions, remaining, days)
    dates = reach_dates(curve, conversions.cutoff)
    horizon_end = conversions.cutoff + timedelta(days=conversions.extrapolates_after)
    return row | {
        "goal_probability": float(curve[-1]) if end else None,
        "goal_date_p10": dates[0],
        "goal_date_p50": dates[1],
        "goal_date_p90": dates[2],
        "goal_dates_extrapolated": any(d is not None and d > horizon_end for d in dates),
    }


def budget_row(campaign: pd.Series, spend: CumulativeDistribution | None, tolerance: float) -> dict:
    """The budget part of one campaign's row (empty without a spend forecast or a budget)."""
    if spend is None:
        return {}
    end = _date(campaign["end_date"])
    if end is not None and pd.notna(campaign["budget"]) and campaign["budget"] > 0:
        basis, days, target, spent = "flight", (end - spend.cutoff).days, float(campaign["budget"]), spend.to_date
    elif end is None and pd.notna(campaign["daily_budget"]) and campaign["daily_budget"] > 0:
        days = len(spend.yhat)
        basis, target, spent = "horizon", float(campaign["daily_budget"]) * days, 0.0
    else:
        return {}
    over = float(spend.prob_at_least(days, target * (1 + tolerance) - spent))
    under = 1.0 - float(spend.prob_at_least(days, target * (1 - tolerance) - spent))
    return {
        "budget_basis": basis,
        "budget_target": target,
        "spend_to_date": spent,
        "spend_p50": spent + float(spend.quantile(days, 0.5)),
        "overspend_probability": over,
        "underspend_probability": under,
    }


def goal_rows(outlook: Outlook, run_id: str, tolerance: float = BUDGET_TOLERANCE) -> pd.DataFrame:
    """`ml.goals` rows: every campaign with a conversion goal or a budget, probabilities beside the mart's pace."""
    rows = []
    created = datetime.now(UTC).replace(tzinfo=None)
    for _, campaign in outlook.pacing.sort_values("campaign_id").iterrows():
        has_goal = pd.notna(campaign["goal_conversions"]) and campaign["goal_conversions"] > 0
        conversions = outlook.distributions.get((campaign["campaign_id"], "conversions"))
        spend = outlook.distributions.get((campaign["campaign_id"], "spend"))
        budget = budget_row(campaign, spend, tolerance)
        if not has_goal and not budget:
            continue
        cutoff = next((d.cutoff for d in (conversions, spend) if d is not None), None)
        row = {
            "run_id": run_id,
            "campaign_id": campaign["campaign_id"],
            "cutoff": cutoff,
            "end_date": _date(campaign["end_date"]),
            "pace_conversions_per_day": campaign["pace_conversions_per_day"],
            "projected_goal_date": _date(campaign["projected_goal_date"]),
            "pace_status": campaign["status"],
            "projected_spend_at_end": campaign["projected_spend_at_end"],
            "budget_status": campaign["budget_status"],
            "created_at": created,
        }
        rows.append(row | goal_row(campaign, conversions) | budget)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    numeric = [name for name, (kind, _) in COLUMNS.items() if kind == "DOUBLE"]
    frame[numeric] = frame[numeric].astype(float)
    return frame


def goals(
    con: duckdb.DuckDBPyConnection, adjustments: pd.DataFrame | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """The `ml.goals` rows of the warehouse behind `con` (read-only is enough), market `adjustments` applied as in
    `scenarios.scenarios`."""
    return goal_rows(build_outlook(read_inputs(con), adjustments), run_id or uuid.uuid4().hex)


def _severity(probability: float) -> Severity | None:
    return next((severity for floor, severity in SEVERITY if probability >= floor), None)


def _moment(day: date | None) -> datetime | None:
    return datetime.combine(day, datetime.min.time()) if day is not None else None


def pacing_findings(goals: pd.DataFrame, scenarios: pd.DataFrame, pacing: pd.DataFrame) -> list[Finding]:
    """Pacing risks from `ml.goals` rows: missing the conversion goal, spending over or under the budget; severity
    from the probability of the problem (`SEVERITY`), confidence the probability itself. `scenarios` (ml.scenarios
    rows) and `pacing` (marts.campaign_pacing) supply the evidence beside it."""
    realistic = scenarios[(scenarios["scenario"] == "realistic")].set_index(["campaign_id", "metric", "span"])
    marts = pacing.set_index("campaign_id")
    findings = []
    for row in goals.itertuples():
        if row.cutoff is None or pd.isna(row.cutoff):
            continue
        start = _moment(row.cutoff + timedelta(days=1))
        end = _moment(_date(row.end_date))
        mart = marts.loc[row.campaign_id]
        if row.basis == "forecast" and pd.notna(row.goal_probability):
            miss = round(1.0 - float(row.goal_probability), 2)
            severity = _severity(miss)
            median = realistic["value"].get((row.campaign_id, "conversions", "to_end"), np.nan)
            if severity is not None:
                evidence = {
                    "miss_probability": miss,
                    "goal_conversions": int(row.goal_conversions),
                    "conversions_to_date": round(float(row.conversions_to_date), 1),
                    "median_conversions_at_end": round(float(row.conversions_to_date + median), 1),
                    "pace_conversions_per_day": round(float(mart["pace_conversions_per_day"]), 2),
                    "end_date": str(row.end_date),
                    "pace_status": str(mart["status"]),
                }
                summary = (
                    f"{miss:.0%} chance of missing the goal of {evidence['goal_conversions']} conversions by "
                    f"{evidence['end_date']}: {evidence['conversions_to_date']:g} so far, median "
                    f"{evidence['median_conversions_at_end']:g} at the end (linear pace "
                    f"{evidence['pace_conversions_per_day']:g}/day, {evidence['pace_status']})."
                )
                findings.append(
                    Finding(
                        row.campaign_id,
                        RiskType.pacing,
                        "goal_conversions",
                        severity,
                        start,
                        end,
                        miss,
                        summary,
                        evidence,
                    )
                )
        if row.budget_basis != "flight":
            # open ended: daily budget x horizon is a plan, not a limit; the mart's budget_status judges pacing
            continue
        for subject, probability, word in (
            ("budget_overspend", row.overspend_probability, "over"),
            ("budget_underspend", row.underspend_probability, "under"),
        ):
            probability = round(float(probability), 2)
            severity = _severity(probability)
            if severity is None:
                continue
            evidence = {
                "probability": probability,
                "budget_target": round(float(row.budget_target), 2),
                "spend_to_date": round(float(row.spend_to_date), 2),
                "median_spend": round(float(row.spend_p50), 2),
                "tolerance": BUDGET_TOLERANCE,
                "budget_basis": str(row.budget_basis),
                "budget_status": str(mart["budget_status"]),
            }
            summary = (
                f"{probability:.0%} chance of spending {word} the {evidence['budget_basis']} budget of "
                f"{evidence['budget_target']:,.2f} by more than {BUDGET_TOLERANCE:.0%}: median spend "
                f"{evidence['median_spend']:,.2f} (mart budget status {evidence['budget_status']})."
            )
            findings.append(
                Finding(row.campaign_id, RiskType.pacing, subject, severity, start, end, probability, summary, evidence)
            )
    return findings
