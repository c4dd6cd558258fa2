"""Synthetic forecasts with known noise, and a real DuckDB warehouse holding them, for the outlook's scenario and
goal tests: daily actuals are `level x exp(e_t)` with e an AR(1) of marginal sd `sigma`, the forecast the median
`level`, so the true distribution of any total is known by simulation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml.outputs import prepare_ml_schema, replace

CUTOFF = date(2026, 11, 30)
HORIZON = 14


def noise(rng: np.random.Generator, cases: int, days: int, sigma: float, rho: float) -> np.ndarray:
    """AR(1) paths (cases x days) with marginal standard deviation `sigma`."""
    paths = np.empty((cases, days))
    paths[:, 0] = rng.normal(0, sigma, cases)
    for day in range(1, days):
        paths[:, day] = rho * paths[:, day - 1] + rng.normal(0, sigma * np.sqrt(1 - rho**2), cases)
    return paths


def backtest(
    rng: np.random.Generator,
    metric: str,
    series: int,
    windows: int = 6,
    level: float = 50.0,
    sigma: float = 0.3,
    rho: float = 0.5,
    prefix: str = "campaign/c",
) -> pd.DataFrame:
    """`ml.backtest_forecasts`-shaped rows: windows 7 days apart, each with fresh noise."""
    rows = []
    for s in range(series):
        scale = level * (1 + s % 5)
        for w in range(windows):
            cutoff = CUTOFF - timedelta(days=7 * (windows - w) + HORIZON)
            y = scale * np.exp(noise(rng, 1, HORIZON, sigma, rho)[0])
            ds = [cutoff + timedelta(days=k) for k in range(1, HORIZON + 1)]
            rows.append(
                pd.DataFrame(
                    {
                        "metric": metric,
                        "unique_id": prefix if series == 1 else f"{prefix}{s:02d}",
                        "window": w,
                        "cutoff": cutoff,
                        "ds": ds,
                        "y": y,
                        "yhat": scale,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def warehouse(
    path: Path,
    backtests: pd.DataFrame,
    forecasts: dict[tuple[str, str], float],
    daily: pd.DataFrame,
    pacing: pd.DataFrame,
) -> Path:
    """A DuckDB file with ml.forecasts (a flat forecast `level` per (campaign, metric), `HORIZON` days after
    `CUTOFF`), ml.backtest_forecasts, marts.campaign_daily and marts.campaign_pacing."""
    run = {metric: f"run-{metric}" for metric in backtests["metric"].unique()}
    days = [CUTOFF + timedelta(days=k) for k in range(1, HORIZON + 1)]
    rows = pd.DataFrame(
        [
            {"metric": metric, "unique_id": f"campaign/{campaign}", "ds": day, "yhat": level}
            for (campaign, metric), level in forecasts.items()
            for day in days
        ]
    )
    intervals = {f"yhat_{side}_{level}": rows["yhat"] for level in (80, 95) for side in ("lo", "hi")}
    rows = rows.assign(
        run_id=rows["metric"].map(run),
        trained_at=datetime(2026, 12, 1),
        model="ensemble",
        model_version="1",
        cutoff=CUTOFF,
        scale=1.0,
        **intervals,
    )
    bt = backtests.assign(
        run_id=backtests["metric"].map(run),
        **{f"yhat_{side}_{level}": backtests["yhat"] for level in (80, 95) for side in ("lo", "hi")},
    )
    with duckdb.connect(str(path)) as con:
        prepare_ml_schema(con)
        replace(con, "forecasts", rows)
        replace(con, "backtest_forecasts", bt)
        con.execute("CREATE SCHEMA marts")
        con.register("daily_rows", daily)
        con.execute("CREATE TABLE marts.campaign_daily AS SELECT * FROM daily_rows")
        con.register("pacing_rows", pacing)
        con.execute("CREATE TABLE marts.campaign_pacing AS SELECT * FROM pacing_rows")
    return path


def pacing_row(campaign_id: str, **values) -> dict:
    """A `marts.campaign_pacing` row with the columns the outlook reads (defaults: a running campaign)."""
    return {
        "campaign_id": campaign_id,
        "start_date": date(2026, 10, 1),
        "end_date": None,
        "goal_conversions": None,
        "conversions_to_date": 0,
        "goal_reached_date": None,
        "pace_conversions_per_day": 0.0,
        "projected_goal_date": None,
        "status": "on_track",
        "budget": None,
        "daily_budget": None,
        "projected_spend_at_end": None,
        "budget_status": "on_pace",
        "as_of": datetime(2026, 12, 1, 6),
    } | values


def daily_totals(totals: dict[str, dict[str, float]]) -> pd.DataFrame:
    """`marts.campaign_daily` with each campaign's metric totals on one day before the cutoff."""
    return pd.DataFrame(
        [
            {
                "campaign_id": campaign,
                "day": CUTOFF - timedelta(days=3),
                "conversions": 0.0,
                "clicks": 0.0,
                "spend": 0.0,
                "revenue": 0.0,
            }
            | values
            for campaign, values in totals.items()
        ]
    )
