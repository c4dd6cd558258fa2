"""The dashboard questions answered the slow way, straight from raw events.

Not for dashboards: this is the yardstick. The tests check each read-API answer against it and
bench/warehouse.py times both side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pulsecast import measures
from pulsecast.metrics.api import Answer, Metrics
from pulsecast.metrics.catalog import Dimension, Grain


def _raw_sql(measure: measures.Measure) -> str:
    """A measure computed straight from raw.events; sums are 0, not null, when no event carries the column."""
    if measure.counts == measures.EVERY_EVENT:
        return f"count(*) AS {measure.name}"
    if measure.counts:
        return f"count(*) FILTER (WHERE event_type = '{measure.counts}') AS {measure.name}"
    return f"coalesce(sum({measure.sums}), 0) AS {measure.name}"


DBT_VARS = measures.project_vars()
"""The defaults the marts were built with (the CTR ranking's floor and confidence, the ranking length)."""

MEASURES = list(measures.MEASURES)
"""The measures a trend answer carries, in its column order (every declared measure)."""
MEASURES_SQL = ", ".join(_raw_sql(measure) for measure in measures.MEASURES.values())


@dataclass(frozen=True)
class Probe:
    """One question: how the read API asks it, which of its columns to compare, and the raw-event SQL."""

    name: str
    ask: Callable[[Metrics], Answer]
    columns: list[str]
    raw_sql: str
    keep: Callable[[dict], bool] = lambda record: True
    """Which API rows the raw SQL covers (e.g. only the overall scope of the device mix)."""

    def agrees(self, answer: Answer, raw_rows: list[tuple]) -> bool:
        """Whether the API's answer holds the raw SQL's rows, in any order (the tests' and the bench's check)."""
        got = [tuple(r[c] for c in self.columns) for r in answer.records() if self.keep(r)]
        return sorted(numbers(got), key=str) == sorted(numbers(raw_rows), key=str)


def numbers(rows: list[tuple]) -> list[tuple]:
    """Decimals and floats compared as rounded floats; everything else as is."""
    return [tuple(round(float(v), 6) if isinstance(v, Decimal | float) else v for v in row) for row in rows]


PROBES = [
    Probe(
        "trend: daily by campaign",
        lambda m: m.trend(Grain.day, [Dimension.campaign]),
        ["period", "campaign_id", *MEASURES],
        f"SELECT date_trunc('day', event_ts), campaign_id, {MEASURES_SQL} FROM raw.events GROUP BY ALL",
    ),
    Probe(
        "trend: monthly by brand",
        lambda m: m.trend(Grain.month, [Dimension.brand]),
        ["period", "brand_id", *MEASURES],
        f"SELECT date_trunc('month', event_ts), brand_id, {MEASURES_SQL} FROM raw.events GROUP BY ALL",
    ),
    Probe(
        "trend: daily by channel, mobile only",
        lambda m: m.trend(Grain.day, [Dimension.channel], devices=["mobile"]),
        ["period", "channel", *MEASURES],
        f"""SELECT date_trunc('day', event_ts), channel, {MEASURES_SQL} FROM raw.events
            WHERE device = 'mobile' GROUP BY ALL""",
    ),
    Probe(
        "kpis: all time",
        lambda m: m.ask("kpis", window="all_time"),
        ["impressions", "clicks", "conversions", "views", "spend", "revenue", "earnings"],
        """SELECT count(*) FILTER (WHERE event_type = 'impression'), count(*) FILTER (WHERE event_type = 'click'),
                  count(*) FILTER (WHERE event_type = 'conversion'), count(*) FILTER (WHERE event_type = 'view'),
                  sum(cost), sum(revenue), sum(amount)
           FROM raw.events""",
    ),
    Probe(
        "device mix: overall",
        lambda m: m.ask("devices"),
        ["device", "impressions", "clicks"],
        """SELECT device, count(*) FILTER (WHERE event_type = 'impression'),
                  count(*) FILTER (WHERE event_type = 'click')
           FROM raw.events WHERE device IS NOT NULL GROUP BY device""",
        keep=lambda record: record["scope"] == "overall",
    ),
    Probe(
        "top campaigns last hour: impressions",
        lambda m: m.ask("top", by="impressions"),
        ["campaign_id", "impressions"],
        """SELECT campaign_id, count(*) FROM raw.events
           WHERE event_type = 'impression'
             AND date_trunc('hour', event_ts) = (SELECT max(date_trunc('hour', event_ts)) FROM raw.events)
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10""",
    ),
    Probe(  # the Wilson lower bound restated, so the mart's ranking is checked, not copied
        "top campaigns last hour: ctr",
        lambda m: m.ask("top", by="ctr"),
        ["rank", "campaign_id", "impressions", "clicks"],
        f"""WITH hour AS (
               SELECT campaign_id, count(*) FILTER (WHERE event_type = 'impression') AS n,
                      count(*) FILTER (WHERE event_type = 'click') AS c, {DBT_VARS["top_ctr_confidence_z"]} AS z
               FROM raw.events
               WHERE date_trunc('hour', event_ts) = (SELECT max(date_trunc('hour', event_ts)) FROM raw.events)
               GROUP BY 1)
           SELECT row_number() OVER (ORDER BY CASE WHEN c = 0 THEN 0
                      ELSE (c + z * z / 2 - z * sqrt(c * (n - c) / n + z * z / 4)) / (n + z * z) END DESC,
                      n DESC, campaign_id) AS rank, campaign_id, n, c
           FROM hour WHERE n >= {DBT_VARS["top_ctr_min_impressions"]}
           QUALIFY rank <= {DBT_VARS["top_campaigns_limit"]}""",
    ),
    Probe(
        "owner earnings: all time",
        lambda m: m.ask("earnings"),
        ["owner_id", "earnings_all_time"],
        "SELECT owner_id, sum(amount) FROM raw.events WHERE event_type = 'earning' GROUP BY owner_id",
    ),
    Probe(  # every planned campaign, also one without events yet
        "pacing: conversions and spend to date, the day the goal was reached",
        lambda m: m.ask("pacing"),
        ["campaign_id", "conversions_to_date", "spend_to_date", "goal_reached_date"],
        """WITH daily AS (
               SELECT campaign_id, CAST(event_ts AS DATE) AS day,
                      count(*) FILTER (WHERE event_type = 'conversion') AS conversions
               FROM raw.events GROUP BY ALL),
           reached AS (
               SELECT campaign_id, min(day) AS day
               FROM (SELECT *, sum(conversions) OVER (PARTITION BY campaign_id ORDER BY day) AS total FROM daily)
               JOIN raw.campaigns USING (campaign_id)
               WHERE goal_conversions > 0 AND total >= goal_conversions GROUP BY 1)
           SELECT campaign_id, count(e.event_id) FILTER (WHERE e.event_type = 'conversion'),
                  coalesce(sum(e.cost), 0), any_value(reached.day)
           FROM (SELECT campaign_id FROM raw.campaigns UNION SELECT campaign_id FROM raw.events)
           LEFT JOIN raw.events AS e USING (campaign_id) LEFT JOIN reached USING (campaign_id) GROUP BY 1""",
    ),
    Probe(
        "audience heatmap",
        lambda m: m.ask("heatmap"),
        ["day_of_week", "hour_of_day", "impressions", "views"],
        """SELECT isodow(event_ts) - 1, hour(event_ts), count(*) FILTER (WHERE event_type = 'impression'),
                  count(*) FILTER (WHERE event_type = 'view') FROM raw.events GROUP BY 1, 2""",
        keep=lambda record: record["events"] > 0,  # the mart is the full 7 x 24 grid, empty cells included
    ),
    Probe(
        "topics leaderboard",
        lambda m: m.ask("topics"),
        ["topic", "views"],
        "SELECT topic, count(*) FROM raw.events WHERE event_type = 'view' AND topic IS NOT NULL GROUP BY topic",
    ),
    Probe(
        "publisher metrics",
        lambda m: m.ask("publishers"),
        ["publisher", "impressions", "views"],
        """SELECT publisher, count(*) FILTER (WHERE event_type = 'impression'),
                  count(*) FILTER (WHERE event_type = 'view')
           FROM raw.events WHERE publisher IS NOT NULL GROUP BY publisher""",
    ),
    Probe(
        "reach and frequency per campaign-day",
        lambda m: m.ask("reach", limit=1_000_000),
        ["day", "campaign_id", "reach", "impressions"],
        """SELECT CAST(event_ts AS DATE), campaign_id, count(DISTINCT user_id), count(*)
           FROM raw.events WHERE event_type = 'impression' GROUP BY 1, 2""",
    ),
]
