"""Scoring past forecasts once their actuals have arrived, and flagging series whose accuracy degrades.

For every run, series and model in `ml.forecasts`, the days that now have actuals are scored: MAE, MASE
(over the in-sample seasonal-naive error stored with the forecast, so it reads like the backtest MASE),
sMAPE and interval coverage. A series is degraded when its ensemble forecast's realised MASE, over at least
`min_scored_days` days, exceeds its backtest MASE times `degradation_ratio`; the newest scored run of a
series decides. The train flow retrains flagged series even when their data fingerprint is unchanged.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pulsecast.ml.outputs import replace
from pulsecast.ml.series import SeriesSet
from pulsecast.models.base import LEVELS
from pulsecast.models.ensemble import ENSEMBLE

_COVERAGE = ", ".join(
    f"avg(CAST(a.y BETWEEN f.yhat_lo_{level} AND f.yhat_hi_{level} AS DOUBLE)) AS coverage_{level}"
    for level in LEVELS
)

_ACCURACY_SQL = f"""
WITH scored AS (
    SELECT f.run_id, f.metric, f.unique_id, f.model, f.cutoff,
           min(f.ds) AS scored_from, max(f.ds) AS scored_through, count(*) AS n,
           avg(abs(a.y - f.yhat)) AS mae,
           avg(abs(a.y - f.yhat)) / nullif(any_value(f.scale), 0) AS mase,
           avg(coalesce(abs(a.y - f.yhat) / nullif(abs(a.y) + abs(f.yhat), 0), 0)) AS smape,
           {_COVERAGE}
    FROM ml.forecasts AS f
    JOIN actuals AS a ON a.metric = f.metric AND a.unique_id = f.unique_id AND CAST(a.ds AS DATE) = f.ds
    GROUP BY ALL
),
backtest AS (
    SELECT run_id, metric, unique_id, model, avg(mase) AS backtest_mase FROM ml.backtests GROUP BY ALL
)
SELECT scored.*, backtest.backtest_mase,
       coalesce(n >= $min_days AND mase > backtest_mase * $ratio, false) AS degraded,
       CAST(now() AS TIMESTAMP) AS scored_at
FROM scored LEFT JOIN backtest USING (run_id, metric, unique_id, model)
ORDER BY metric, unique_id, model, cutoff
"""


def score_forecasts(
    con: duckdb.DuckDBPyConnection, actuals: SeriesSet, degradation_ratio: float, min_scored_days: int
) -> pd.DataFrame:
    """Rewrite `ml.forecast_accuracy` from every stored forecast that has actuals now; return its rows."""
    con.register("actuals", actuals.df)
    try:
        rows = con.execute(_ACCURACY_SQL, {"ratio": degradation_ratio, "min_days": min_scored_days}).df()
    finally:
        con.unregister("actuals")
    replace(con, "forecast_accuracy", rows)
    return rows


def degraded_series(accuracy: pd.DataFrame) -> dict[str, set[str]]:
    """Per metric, the series whose newest scored ensemble forecast is degraded."""
    ensemble = accuracy[accuracy["model"] == ENSEMBLE].sort_values("cutoff")
    newest = ensemble.groupby(["metric", "unique_id"]).tail(1)
    flagged = newest[newest["degraded"]]
    return {str(metric): set(group["unique_id"]) for metric, group in flagged.groupby("metric")}
