"""What the read API knows: the rollups it can navigate between and the dashboard questions it answers.

Each rollup declares its time grain and the dimensions it keeps, so a request can be answered from the
smallest table that covers it (aggregate navigation, as Cube does). Each question names the mart that
answers it and the filters it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pulsecast import measures


class Grain(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"


GRAIN_ORDER = {Grain.hour: 0, Grain.day: 1, Grain.month: 2}


class Dimension(StrEnum):
    campaign = "campaign"
    brand = "brand"
    channel = "channel"
    device = "device"


DIMENSION_COLUMNS = {
    Dimension.campaign: "campaign_id",
    Dimension.brand: "brand_id",
    Dimension.channel: "channel",
    Dimension.device: "device",
}

MEASURES = {name: measure.sql_type for name, measure in measures.MEASURES.items()}
"""Additive columns every rollup stores, with the type their sums keep: the marts' types, as declared once for
dbt and Python (`pulsecast.measures`). Without the cast DuckDB widens a sum of BIGINT to HUGEINT, and counts
reached JSON as 500.0. Rates are derived from the sums at read time so roll-ups stay exact."""

RATES = {
    "ctr": ("clicks", "impressions"),
    "cvr": ("conversions", "clicks"),
    "cpc": ("spend", "clicks"),
    "cpa": ("spend", "conversions"),
    "roas": ("revenue", "spend"),
}


@dataclass(frozen=True)
class Rollup:
    table: str
    time_column: str
    grain: Grain
    dimensions: frozenset[Dimension]

    def covers(self, grain: Grain, needed: set[Dimension]) -> bool:
        return GRAIN_ORDER[self.grain] <= GRAIN_ORDER[grain] and needed <= self.dimensions


ROLLUPS = (
    Rollup("campaign_monthly", "month", Grain.month, frozenset({Dimension.campaign, Dimension.brand})),
    Rollup("brand_daily", "day", Grain.day, frozenset({Dimension.brand})),
    Rollup("channel_daily", "day", Grain.day, frozenset({Dimension.channel})),
    Rollup("campaign_daily", "day", Grain.day, frozenset({Dimension.campaign, Dimension.brand})),
    Rollup("campaign_hourly", "event_hour", Grain.hour, frozenset({Dimension.campaign, Dimension.brand})),
    Rollup("events_daily", "day", Grain.day, frozenset(Dimension)),
    Rollup("events_hourly", "event_hour", Grain.hour, frozenset(Dimension)),
)


@dataclass(frozen=True)
class Question:
    """A dashboard question answered by one mart, with the filters (option -> column) it accepts."""

    table: str
    description: str
    filters: dict[str, str] = field(default_factory=dict)
    order_by: str = ""
    time_column: str | None = None
    """Column that --start / --end bound, when the question has a time axis."""
    implies: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Filter -> (column, value) it also sets, e.g. --campaign on the device mix means scope = 'campaign'."""
    empty: str = ""
    """Why an answer can have no rows (e.g. a guard no row passed), said instead of a bare "0 rows"."""

    @property
    def exclusive(self) -> list[tuple[str, ...]]:
        """Groups of filters on the same column, of which at most one may be given.

        Two of them together can only answer nothing (the device mix of campaign X *and* brand Y), so asking
        is an error rather than an empty answer. Derived from `filters`, so a new filter cannot be forgotten.
        """
        by_column: dict[str, list[str]] = {}
        for option, column in self.filters.items():
            by_column.setdefault(column, []).append(option)
        return [tuple(options) for options in by_column.values() if len(options) > 1]


TOP_CTR_MIN_IMPRESSIONS = measures.project_vars()["top_ctr_min_impressions"]
"""The CTR ranking's floor as dbt builds it by default (var top_ctr_min_impressions), for the empty answer."""


QUESTIONS: dict[str, Question] = {
    "kpis": Question(
        "kpi_overview",
        "Last hour, today, 7 and 30 days, all time: volumes, spend, rates.",
        {"window": "window_name"},
        "window_start DESC",
    ),
    "devices": Question(
        "device_mix",
        "Device mix overall, per brand or per campaign.",
        {"campaign": "scope_id", "brand": "scope_id"},
        "scope, scope_id, impressions DESC",
        implies={"campaign": ("scope", "campaign"), "brand": ("scope", "brand")},
        empty="No device mix: the campaign or brand has no events with a device yet.",
    ),
    "top": Question(
        "top_campaigns_last_hour",
        "Top campaigns in the last hour by impressions and by CTR (on its 95% lower bound, a small floor).",
        {"by": "ranked_by"},
        "ranked_by, rank",
        empty=(
            "No campaign qualifies: the last hour had no impressions, or (ranked by CTR) no campaign reached the "
            f"{TOP_CTR_MIN_IMPRESSIONS} impressions in the hour the CTR ranking needs (dbt var "
            "top_ctr_min_impressions)."
        ),
    ),
    "brands": Question(
        "brand_performance", "Brand performance, all time and last 7 days.", {"brand": "brand_id"}, "impressions DESC"
    ),
    "earnings": Question(
        "owner_earnings",
        "Earnings per data owner: today and all time.",
        {"owner": "owner_id"},
        "earnings_all_time DESC",
    ),
    "latest-earnings": Question(
        "owner_latest_earnings",
        "The five latest earnings of each data owner.",
        {"owner": "owner_id"},
        "owner_id, rank",
    ),
    "feed": Question(
        "campaign_activity_feed",
        "The latest events of each campaign.",
        {"campaign": "campaign_id"},
        "campaign_id, rank",
    ),
    "pacing": Question(
        "campaign_pacing",
        "Funnel, pace to goal (reached date or projected date) and budget pacing per campaign.",
        {"campaign": "campaign_id"},
        "campaign_id",
    ),
    "heatmap": Question("audience_heatmap", "Day-of-week x hour activity.", {}, "day_of_week, hour_of_day"),
    "sessions": Question(
        "sessions",
        "User sessions (30-minute inactivity rule).",
        {"user": "user_id"},
        "session_start DESC",
        time_column="session_start",
    ),
    "viewing": Question(
        "viewing_patterns", "Views and watch time by hour and device.", {"device": "device"}, "hour_of_day, device"
    ),
    "topics": Question("topic_leaderboard", "Topics by views and watch time.", {"topic": "topic"}, "views DESC"),
    "topics-monthly": Question(
        "topic_monthly", "Topic views by month.", {"topic": "topic"}, "month, views DESC", time_column="month"
    ),
    "publishers": Question("publisher_metrics", "Publisher metrics.", {"publisher": "publisher"}, "impressions DESC"),
    "publisher-pairs": Question(
        "publisher_relationships",
        "Publishers seen together in the same user sessions.",
        {"publisher": "publisher_a"},
        "shared_sessions DESC",
    ),
    "reach": Question(
        "campaign_reach_daily",
        "Reach and frequency (impressions / reach) per campaign and day.",
        {"campaign": "campaign_id"},
        "day, campaign_id",
        time_column="day",
    ),
    "benchmarks": Question(
        "campaign_vs_benchmark",
        "Each campaign's rates beside its channel's industry benchmark.",
        {"campaign": "campaign_id", "channel": "channel"},
        "campaign_id, channel",
        empty="No benchmark rows: nothing was delivered on that channel (by that campaign, when one is given).",
    ),
}
