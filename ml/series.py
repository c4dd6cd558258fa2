"""Daily series to forecast, built from the marts: campaign, brand and total level for each target metric.

- `unique_id` says the level: `campaign/<campaign_id>`, `brand/<brand_id>` or `total`. Events of a campaign
  with no known brand count in its campaign's series and the total, in no brand's.
- Only complete days: the newest day in `campaign_daily` is still receiving events, so series end the day
  before it (`through`).
- A day without a row inside a series' span means nothing happened that day and counts as 0.
- Series with no events in the last `active_days` days (ended or paused campaigns) are not forecast; they
  are listed in `skipped` with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import duckdb
import pandas as pd


class Metric(StrEnum):
    """The target metrics: each has its own MLflow experiment and registered model.

    Each is a measure column of the marts (`pulsecast.measures`; tests/test_measures.py checks it)."""

    impressions = "impressions"
    clicks = "clicks"
    conversions = "conversions"
    spend = "spend"
    revenue = "revenue"


MEASURES = ", ".join(f"CAST({metric} AS DOUBLE) AS {metric}" for metric in Metric)
SUMS = ", ".join(f"CAST(sum({metric}) AS DOUBLE) AS {metric}" for metric in Metric)

_SERIES_SQL = f"""
WITH through AS (SELECT max(day) - 1 AS day FROM marts.campaign_daily),
daily AS (
    SELECT 'campaign/' || campaign_id AS unique_id, day, events, {MEASURES} FROM marts.campaign_daily
    UNION ALL
    SELECT 'brand/' || brand_id, day, events, {MEASURES} FROM marts.brand_daily WHERE brand_id IS NOT NULL
    UNION ALL
    SELECT 'total', day, sum(events), {SUMS} FROM marts.brand_daily GROUP BY day
),
spans AS (
    SELECT unique_id, min(daily.day) AS first_day,
           coalesce(sum(events) FILTER (WHERE daily.day > through.day - $active_days), 0) AS recent_events
    FROM daily, through
    WHERE daily.day <= through.day
    GROUP BY unique_id
),
grid AS (
    SELECT unique_id, recent_events, CAST(unnest(range(first_day, through.day + 1, INTERVAL 1 DAY)) AS DATE) AS ds
    FROM spans, through
)
SELECT grid.unique_id, grid.ds, grid.recent_events, {", ".join(f"coalesce(daily.{m}, 0) AS {m}" for m in Metric)}
FROM grid LEFT JOIN daily ON daily.unique_id = grid.unique_id AND daily.day = grid.ds
ORDER BY grid.unique_id, grid.ds
"""


@dataclass(frozen=True)
class SeriesSet:
    """Every active series of every metric, long: `metric, unique_id, ds, y`."""

    df: pd.DataFrame
    through: date | None
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> SeriesSet:
        return cls(pd.DataFrame(columns=["metric", "unique_id", "ds", "y"]), None)

    def of(self, metric: Metric) -> pd.DataFrame:
        """One metric's series in the forecasting contract `unique_id, ds, y`."""
        rows = self.df[self.df["metric"] == metric]
        return rows[["unique_id", "ds", "y"]].reset_index(drop=True)


def build_series(con: duckdb.DuckDBPyConnection, active_days: int = 7) -> SeriesSet:
    """Read the marts through `con` (read-only is enough) into a `SeriesSet` (empty before the first build)."""
    built = con.execute(
        """SELECT count(*) FROM duckdb_tables()
           WHERE schema_name = 'marts' AND table_name IN ('campaign_daily', 'brand_daily')"""
    ).fetchone()[0]
    wide = con.execute(_SERIES_SQL, {"active_days": active_days}).df() if built == 2 else pd.DataFrame()
    if wide.empty:
        return SeriesSet.empty()
    through = wide["ds"].max().date()
    recent = wide.groupby("unique_id")["recent_events"].first()
    skipped = {
        uid: f"no events in the {active_days} days up to {through}: ended or paused"
        for uid in recent[recent == 0].index
    }
    active = wide[~wide["unique_id"].isin(skipped)]
    long = active.melt(id_vars=["unique_id", "ds"], value_vars=list(Metric), var_name="metric", value_name="y")
    long["ds"] = pd.to_datetime(long["ds"])
    return SeriesSet(long[["metric", "unique_id", "ds", "y"]], through, skipped)


def fingerprint(frame: pd.DataFrame) -> str:
    """A short content hash of a series frame: equal data, equal fingerprint, whatever the row order."""
    ordered = frame.sort_values(["unique_id", "ds"], ignore_index=True)
    return hashlib.sha256(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes()).hexdigest()[:16]
