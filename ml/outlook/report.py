"""The outlook as people read it: per campaign a few lines, from the published outlook marts.

The `decide` flow's artifact and `pulsecast outlook` both read the published snapshot (what every reader sees
once the run has published), so the Prefect UI and the terminal never tell two stories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsecast.display import column_format
from pulsecast.metrics.api import Metrics
from pulsecast.report import Report, Table
from pulsecast.settings import Settings

OUTLOOK_MARTS = ["campaign_outlook", "campaign_scenarios", "campaign_risks", "campaign_insights", "campaign_pivots"]
"""The marts a `decide` run rebuilds and publishes (dbt_project/models/marts)."""
PIVOT_COLUMNS = ("rank", "kind", "summary", "lift_p10", "lift_p50", "lift_p90", "confidence", "extrapolated")
"""What a list of recommendations shows of each: the rest (moves, assumptions) is in campaign_pivots."""


@dataclass(frozen=True)
class CampaignOutlook:
    """One campaign's outlook row, its conversions scenarios, open risks, insights and the recommendations that
    touch it (one row per pivot x line moved; plain values)."""

    summary: dict[str, Any]
    scenarios: list[dict[str, Any]]
    risks: list[dict[str, Any]]
    insights: list[dict[str, Any]]
    pivots: list[dict[str, Any]]

    def lines(self) -> list[str]:
        """The outlook in a few sentences, every number from the marts."""
        row, name = self.summary, self.summary["campaign_name"] or self.summary["campaign_id"]
        lines = [f"**{name}** ({row['campaign_id']}): pace {row['pace_status']}, budget {row['budget_status']}."]
        if row["goal_probability"] is not None:
            lines.append(
                f"Goal {_show('goal_conversions', row)} conversions: {_show('goal_probability', row)} likely by "
                f"{_show('end_date', row)}; median date {_show('goal_date_p50', row)} "
                f"(linear pace: {_show('projected_goal_date', row)})."
            )
        if row["realistic_conversions"] is not None:
            lines.append(
                f"Conversions to come by {_show('scenario_through_date', row)}: realistic "
                f"{_show('realistic_conversions', row)} (measured {_show('realistic_measured_probability', row)} "
                f"of past outcomes in its band), pessimistic below {_show('pessimistic_conversions', row)}, "
                f"optimistic above {_show('optimistic_conversions', row)}."
            )
        lines += [f"Risk ({risk['severity']}): {risk['summary']}" for risk in self.risks[:3]]
        lines += [f"{insight['key']}: {insight['value']}" for insight in self.insights[:3]]
        seen = list(dict.fromkeys(p["summary"] for p in self.pivots))
        lines += [f"Pivot: {summary}" for summary in seen[:3]]
        return lines


def read_outlook(settings: Settings, campaign: str | None = None) -> dict[str, CampaignOutlook]:
    """Every campaign's outlook from the current snapshot (or one's; `KeyError` listing what exists)."""
    with Metrics(settings) as metrics:
        tables = {mart: metrics.sql(f"SELECT * FROM {mart}").records() for mart in OUTLOOK_MARTS}
    decided = [row for row in tables["campaign_outlook"] if row["decide_run_id"] is not None]
    if campaign is not None:
        known = sorted(row["campaign_id"] for row in decided)
        decided = [row for row in decided if row["campaign_id"] == campaign]
        if not decided:
            raise KeyError(f"no outlook for campaign {campaign!r}; campaigns with one: {', '.join(known) or 'none'}")

    def of(mart: str, campaign_id: str) -> list[dict[str, Any]]:
        return [row for row in tables[mart] if row["campaign_id"] == campaign_id]

    return {
        row["campaign_id"]: CampaignOutlook(
            row,
            [s for s in of("campaign_scenarios", row["campaign_id"]) if s["metric"] == "conversions"],
            sorted(
                (r for r in of("campaign_risks", row["campaign_id"]) if r["status"] == "open"),
                key=lambda r: (-r["severity_rank"], -r["confidence"]),
            ),
            sorted(of("campaign_insights", row["campaign_id"]), key=lambda i: i["rank"]),
            sorted(of("campaign_pivots", row["campaign_id"]), key=lambda p: (p["rank"], p["channel"] or "")),
        )
        for row in sorted(decided, key=lambda r: r["campaign_id"])
    }


def outlook_report(outlooks: Mapping[str, CampaignOutlook], written: Mapping[str, int]) -> Report:
    """One sentence for the log, the campaigns at a glance, then each campaign's outlook in a few lines."""
    lines = [f"Wrote {', '.join(f'{n:,} {table}' for table, n in written.items())}." if written else ""]
    details = [{"campaign": cid, "outlook": " ".join(o.lines()[1:])} for cid, o in outlooks.items()]
    overview = [
        {
            key: o.summary[key]
            for key in (
                "campaign_id",
                "pace_status",
                "goal_probability",
                "realistic_conversions",
                "open_risks",
                "top_risk_type",
                "pivots",
                "top_pivot_lift_p50",
            )
        }
        for o in outlooks.values()
    ]
    pivots = {p["pivot_id"]: p for o in outlooks.values() for p in o.pivots}
    ranked = [{key: p[key] for key in PIVOT_COLUMNS} for p in sorted(pivots.values(), key=lambda p: p["rank"])]
    return Report(
        "Campaign outlook",
        [line for line in lines if line],
        [Table("Campaigns", overview), Table("Pivots", ranked), Table("Outlook", details)],
    )


def _show(column: str, row: Mapping[str, Any]) -> str:
    return column_format(column, [row[column]])(row[column])
