"""What the read API knows: the rollups it can navigate between and the dashboard questions it answers.

Each rollup declares its time grain and the dimensions it keeps, so a request can be answered from the
smallest table that covers it (aggregate navigation, as Cube does). Each question names the mart that
answers it and the filters it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pulsecast import measures
from pulsecast.contract import Channel, Device


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

KPI_WINDOWS = ("last_hour", "today", "last_7_days", "last_30_days", "all_time")
"""kpi_overview's window_name values (the mart's `windows` CTE)."""

RANKINGS = ("impressions", "ctr")
"""top_campaigns_last_hour's ranked_by values."""

CHANNELS = tuple(channel.value for channel in Channel)
DEVICES = tuple(device.value for device in Device)
"""The event contract's channels and devices (dbt's accepted_values vars restate them)."""

RATES = {
    "ctr": ("clicks", "impressions"),
    "cvr": ("conversions", "clicks"),
    "cpc": ("spend", "clicks"),
    "cpa": ("spend", "conversions"),
    "roas": ("revenue", "spend"),
}

FORECAST_METRICS = ("impressions", "clicks", "conversions", "spend", "revenue")
FORECAST_MODELS = ("seasonal_naive", "autoets", "theta", "autoarima", "mstl", "prophet", "lstm", "ensemble")
SERIES_LEVELS = ("campaign", "brand", "total")
"""What `ml.forecasts` holds: the train flow's metrics and models, and its series levels (tests check them)."""

HEADLINE = ("impressions", "clicks", "ctr", "conversions", "cvr", "spend", "revenue", "roas", "cpa", "cpc")
"""The measures a person reads first, in this order, when an answer has more columns than a screen shows."""


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
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Filter -> the only values its column holds, so a typo is an error naming them instead of an empty answer."""
    columns: tuple[str, ...] = ()
    """The columns a person reads first, in order, when a terminal cannot show them all (then keys, headline)."""
    empty: str = ""
    """Why an answer can have no rows (e.g. a guard no row passed), said instead of a bare "0 rows"."""
    tenant_rows: str = ""
    """The rows an advertiser may see, as a predicate over `$brands` / `$campaigns` (its own, bound as lists);
    empty when no column ties a row to a campaign: the question is then refused for advertisers."""
    tenant_table: str = ""
    """For a mart that cannot be scoped (an aggregate over every campaign): the scoped rollup that answers an
    advertiser instead, a subquery over `$brands` / `$campaigns`."""
    owner_rows: str = ""
    """The rows a data owner may see, a predicate over `$owners`; empty: refused for data owners."""

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


BRAND_ROWS = "brand_id = ANY($brands)"
CAMPAIGN_ROWS = "campaign_id = ANY($campaigns)"
OWNER_ROWS = "owner_id = ANY($owners)"
"""How a row is tied to a principal, where the mart has the column (`pulsecast.metrics.scope` binds the lists)."""


def _tenant_kpis() -> str:
    """The KPI windows of an advertiser's own campaigns: kpi_overview sums every campaign, so its windows are
    summed again over the hourly campaign rollup, filtered on the advertiser's brands, in the mart's columns."""
    sums = [f"CAST(coalesce(sum(h.{m}), 0) AS {sql_type}) AS {m}" for m, sql_type in MEASURES.items()]
    rates = [f"sum(h.{num}) / nullif(sum(h.{den}), 0) AS {rate}" for rate, (num, den) in RATES.items()]
    replaced = ", ".join(f"s.{column} AS {column}" for column in [*MEASURES, *RATES])
    return (
        f"(SELECT k.* REPLACE ({replaced}) FROM kpi_overview AS k JOIN ("
        f"SELECT w.window_name, {', '.join(sums + rates)} FROM kpi_overview AS w"
        " LEFT JOIN campaign_hourly AS h ON h.event_hour >= w.window_start AND h.event_hour < w.window_end"
        " AND h.brand_id = ANY($brands) GROUP BY w.window_name) AS s ON s.window_name = k.window_name)"
    )


TOP_CTR_MIN_IMPRESSIONS = measures.project_vars()["top_ctr_min_impressions"]
"""The CTR ranking's floor as dbt builds it by default (var top_ctr_min_impressions), for the empty answer."""


QUESTIONS: dict[str, Question] = {
    "kpis": Question(
        "kpi_overview",
        "Last hour, today, 7 and 30 days, all time: volumes, spend, rates.",
        {"window": "window_name"},
        "window_start DESC",
        choices={"window": KPI_WINDOWS},
        tenant_table=_tenant_kpis(),
    ),
    "devices": Question(
        "device_mix",
        "Device mix overall, per brand or per campaign.",
        {"campaign": "scope_id", "brand": "scope_id"},
        "scope, scope_id, impressions DESC",
        implies={"campaign": ("scope", "campaign"), "brand": ("scope", "brand")},
        empty="No device mix: the campaign or brand has no events with a device yet.",
        tenant_rows=(
            "(scope = 'brand' AND scope_id = ANY($brands)) OR (scope = 'campaign' AND scope_id = ANY($campaigns))"
        ),
    ),
    "top": Question(
        "top_campaigns_last_hour",
        "Top campaigns in the last hour by impressions and by CTR (on its 95% lower bound, a small floor).",
        {"by": "ranked_by"},
        "ranked_by, rank",
        choices={"by": RANKINGS},
        columns=("ranked_by", "rank", "campaign_id", "impressions", "clicks", "ctr", "ctr_lower_bound"),
        empty=(
            "No campaign qualifies: the last hour had no impressions, or (ranked by CTR) no campaign reached the "
            f"{TOP_CTR_MIN_IMPRESSIONS} impressions in the hour the CTR ranking needs (dbt var "
            "top_ctr_min_impressions)."
        ),
        # The mart ranks the hour's top campaigns over every advertiser: an advertiser's are ranked again among
        # themselves (the mart keeps the top var('top_campaigns_limit') overall, so it sees its ones among those).
        tenant_table=(
            "(SELECT * REPLACE (row_number() OVER (PARTITION BY ranked_by ORDER BY rank) AS rank)"
            " FROM top_campaigns_last_hour WHERE brand_id = ANY($brands))"
        ),
    ),
    "brands": Question(
        "brand_performance",
        "Brand performance, all time and last 7 days.",
        {"brand": "brand_id"},
        "impressions DESC",
        columns=("brand_id", "brand_name", "impressions", "clicks", "conversions", "spend", "spend_last_7_days"),
        tenant_rows=BRAND_ROWS,
    ),
    "earnings": Question(
        "owner_earnings",
        "Earnings per data owner: today and all time.",
        {"owner": "owner_id"},
        "earnings_all_time DESC",
        columns=("owner_id", "owner_name", "earnings_today", "earnings_all_time", "earning_events_all_time"),
        owner_rows=OWNER_ROWS,
    ),
    "latest-earnings": Question(
        "owner_latest_earnings",
        "The five latest earnings of each data owner.",
        {"owner": "owner_id"},
        "owner_id, rank",
        owner_rows=OWNER_ROWS,
    ),
    "feed": Question(
        "campaign_activity_feed",
        "The latest events of each campaign.",
        {"campaign": "campaign_id"},
        "campaign_id, rank",
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "pacing": Question(
        "campaign_pacing",
        "Funnel, pace to goal (reached date or projected date) and budget pacing per campaign.",
        {"campaign": "campaign_id"},
        "campaign_id",
        columns=(
            "campaign_id",
            "status",
            "goal_conversions",
            "conversions_to_date",
            "goal_reached_date",
            "projected_goal_date",
            "end_date",
            "budget_status",
            "budget_pacing_ratio",
        ),
        tenant_rows=BRAND_ROWS,
    ),
    "heatmap": Question(
        "audience_heatmap",
        "Day-of-week x hour activity.",
        {},
        "day_of_week, hour_of_day",
        columns=("day_of_week", "hour_of_day"),
    ),
    "sessions": Question(
        "sessions",
        "User sessions (30-minute inactivity rule).",
        {"user": "user_id"},
        "session_start DESC",
        time_column="session_start",
        columns=("session_start", "user_id", "duration_seconds", "events", "impressions", "clicks", "conversions"),
    ),
    "viewing": Question(
        "viewing_patterns",
        "Views and watch time by hour and device.",
        {"device": "device"},
        "hour_of_day, device",
        choices={"device": DEVICES},
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
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "benchmarks": Question(
        "campaign_vs_benchmark",
        "Each campaign's rates beside its channel's industry benchmark.",
        {"campaign": "campaign_id", "channel": "channel"},
        "campaign_id, channel",
        choices={"channel": CHANNELS},
        columns=("campaign_id", "channel", "ctr", "benchmark_ctr", "cvr", "benchmark_cvr", "cpc", "benchmark_cpc"),
        empty="No benchmark rows: nothing was delivered on that channel (by that campaign, when one is given).",
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "forecast": Question(
        "forecast_vs_actual",
        "Actuals beside the newest forecast and its 80/95 % intervals, per campaign, brand and the total.",
        {"metric": "metric", "campaign": "campaign_id", "brand": "brand_id", "level": "series_level", "model": "model"},
        "metric, series_level, unique_id, model, ds",
        time_column="ds",
        choices={"metric": FORECAST_METRICS, "level": SERIES_LEVELS, "model": FORECAST_MODELS},
        columns=("metric", "unique_id", "ds", "actual", "yhat", "yhat_lo_80", "yhat_hi_80", "model_version"),
        empty=(
            "No forecast for this selection: the train flow forecasts active campaigns, their brands and the total"
            " (`pulsecast train`, or `make run`), and a series needs enough history to be trained."
        ),
        # campaign series carry no brand_id and brand series no campaign_id; the total is every advertiser's
        tenant_rows=f"{CAMPAIGN_ROWS} OR (series_level = 'brand' AND {BRAND_ROWS})",
    ),
    "outlook": Question(
        "campaign_outlook",
        "Each campaign's outlook: pace, goal odds, budget, scenarios, top risk and insight (`pulsecast decide`).",
        {"campaign": "campaign_id"},
        "campaign_id",
        columns=("campaign_id", "pace_status", "goal_probability", "realistic_conversions", "open_risks"),
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "scenarios": Question(
        "campaign_scenarios",
        "Pessimistic, realistic and optimistic outcomes per campaign, metric and span.",
        {"campaign": "campaign_id", "metric": "metric"},
        "campaign_id, metric, span, scenario",
        choices={"metric": FORECAST_METRICS},
        empty="No scenarios: `pulsecast decide` writes them for forecast campaigns.",
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "risks": Question(
        "campaign_risks",
        "Risks detected per campaign (dips, fatigue, competitor threats, pacing), the most severe first.",
        {"campaign": "campaign_id", "status": "status"},
        "campaign_id, severity_rank DESC, confidence DESC",
        choices={"status": ("open", "resolved")},
        empty="No risks: none detected, or `pulsecast decide` has not run.",
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "pivots": Question(
        "campaign_pivots",
        "What to change per campaign, ranked by predicted impact x confidence, with the lift's P10 / P50 / P90.",
        {"campaign": "campaign_id"},
        "campaign_id, rank, channel",
        columns=("campaign_id", "rank", "kind", "summary", "channel", "change", "lift_p50", "confidence"),
        empty="No pivots: `pulsecast decide` writes them.",
        tenant_rows=CAMPAIGN_ROWS,
    ),
    "insights": Question(
        "campaign_insights",
        "Insights per campaign, ranked.",
        {"campaign": "campaign_id"},
        "campaign_id, rank",
        empty="No insights: `pulsecast decide` writes them.",
        tenant_rows=CAMPAIGN_ROWS,
    ),
}
