"""The train flow's warehouse tables: `ml.forecasts`, `ml.backtests`, `ml.backtest_forecasts` and
`ml.forecast_accuracy`.

Every run appends its own forecasts and backtests (rows of a run id are replaced if it is written again), so
past forecasts stay to be scored when their actuals arrive. Column descriptions live with the dbt sources
(dbt_project/models/ml/_ml_sources.yml).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from pulsecast.models.base import LEVELS
from pulsecast.models.ensemble import Ensemble
from pulsecast.models.metrics import mase_scales, score
from pulsecast.settings import Settings
from pulsecast.warehouse import writer

FORECAST_MART = "forecast_vs_actual"
"""The dbt mart that puts the newest forecasts beside their actuals (dbt_project/models/marts): the train flow
rebuilds it after writing `ml.forecasts`, so readers do not wait for the next build to see them."""

INTERVALS = ", ".join(f"yhat_{side}_{level} DOUBLE" for level in LEVELS for side in ("lo", "hi"))
SCORES = ", ".join(f"coverage_{level} DOUBLE, winkler_{level} DOUBLE" for level in LEVELS)

DDL = f"""
CREATE SCHEMA IF NOT EXISTS ml;
CREATE TABLE IF NOT EXISTS ml.forecasts (
    run_id VARCHAR NOT NULL, trained_at TIMESTAMP NOT NULL, metric VARCHAR NOT NULL, unique_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL, model_version VARCHAR, cutoff DATE NOT NULL, ds DATE NOT NULL, yhat DOUBLE NOT NULL,
    {INTERVALS}, scale DOUBLE
);
CREATE TABLE IF NOT EXISTS ml.backtests (
    run_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, model VARCHAR NOT NULL,
    "window" INTEGER NOT NULL, cutoff DATE NOT NULL, n INTEGER NOT NULL, mase DOUBLE, smape DOUBLE, {SCORES}
);
CREATE TABLE IF NOT EXISTS ml.backtest_forecasts (
    run_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, "window" INTEGER NOT NULL,
    cutoff DATE NOT NULL, ds DATE NOT NULL, y DOUBLE NOT NULL, yhat DOUBLE NOT NULL, {INTERVALS}
);
CREATE TABLE IF NOT EXISTS ml.forecast_accuracy (
    run_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, model VARCHAR NOT NULL,
    cutoff DATE NOT NULL, scored_from DATE NOT NULL, scored_through DATE NOT NULL, n INTEGER NOT NULL,
    mae DOUBLE, mase DOUBLE, smape DOUBLE, {", ".join(f"coverage_{level} DOUBLE" for level in LEVELS)},
    backtest_mase DOUBLE, degraded BOOLEAN NOT NULL, scored_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class RunStamp:
    """The columns every row of one training run carries in `ml.forecasts` and `ml.backtests`."""

    run_id: str
    metric: str
    model_version: str
    cutoff: date
    trained_at: datetime

    @classmethod
    def now(cls, run_id: str, metric: str, model_version: str, cutoff: date) -> RunStamp:
        return cls(run_id, metric, model_version, cutoff, datetime.now(UTC).replace(tzinfo=None))


def write_training(
    settings: Settings, ensemble: Ensemble, history: pd.DataFrame, forecasts: pd.DataFrame, stamp: RunStamp
) -> int:
    """One metric's forecasts and backtest scores, replacing what the same run wrote before; returns the rows."""
    rows = forecast_rows(forecasts, history, ensemble.season_length_, stamp)
    with writer(settings, f"train: writing {stamp.metric} forecasts") as con:
        prepare_ml_schema(con)
        replace(con, "forecasts", rows, stamp.run_id)
        if not ensemble.backtest_.empty:
            scored = backtest_rows(ensemble.backtest_, history, ensemble.season_length_, stamp)
            replace(con, "backtests", scored, stamp.run_id)
            replace(con, "backtest_forecasts", ensemble_backtest_rows(ensemble.backtest_, stamp), stamp.run_id)
    return len(rows)


def prepare_ml_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def replace(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame, run_id: str | None = None) -> None:
    """Write `rows` into `ml.<table>` in one transaction, replacing that run's earlier rows (or, without a
    run id, the whole table: what `ml.forecast_accuracy` needs, since it is recomputed each time)."""
    columns = [name for (name,) in con.execute(f"SELECT name FROM pragma_table_info('ml.{table}')").fetchall()]
    quoted = ", ".join(f'"{name}"' for name in columns)
    con.execute("BEGIN")
    try:
        if run_id is None:
            con.execute(f"DELETE FROM ml.{table}")
        else:
            con.execute(f"DELETE FROM ml.{table} WHERE run_id = ?", [run_id])
        con.register("incoming", rows[columns])
        con.execute(f"INSERT INTO ml.{table} ({quoted}) SELECT {quoted} FROM incoming")
        con.unregister("incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def forecast_rows(forecasts: pd.DataFrame, history: pd.DataFrame, season_length: int, stamp: RunStamp) -> pd.DataFrame:
    """`predict_members` output as `ml.forecasts` rows. `scale` is each series' in-sample seasonal-naive MAE,
    so realised errors read as MASE."""
    last = history.groupby("unique_id", as_index=False)["ds"].max().rename(columns={"ds": "cutoff"})
    scale = last.assign(scale=mase_scales(last, history, season_length))[["unique_id", "scale"]]
    return forecasts.assign(**asdict(stamp)).merge(scale, on="unique_id", how="left")


def backtest_rows(backtest: pd.DataFrame, history: pd.DataFrame, season_length: int, stamp: RunStamp) -> pd.DataFrame:
    """Per series, model and window, the backtest scores (`models.metrics.score`) as `ml.backtests` rows."""
    scores = score(backtest, history, season_length, LEVELS, per_window=True)
    cutoffs = backtest.groupby(["unique_id", "window"], as_index=False)["cutoff"].first()
    run = {name: value for name, value in asdict(stamp).items() if name != "cutoff"}  # each window keeps its own
    return scores.merge(cutoffs, on=["unique_id", "window"]).assign(**run)


def ensemble_backtest_rows(backtest: pd.DataFrame, stamp: RunStamp) -> pd.DataFrame:
    """The ensemble's own (cross-fitted) backtest forecasts beside their actuals: what the outlook calibrates
    the cumulative scenarios on, since totals over several days cannot be read off daily intervals."""
    rows = backtest[backtest["model"] == "ensemble"].drop(columns="model")
    return rows.assign(run_id=stamp.run_id, metric=stamp.metric)
