"""Scenario calibration and goal probability, measured on rolling-origin backtests (issue 11, section 1).

    .venv/bin/python bench/outlook_scenarios.py [--quick]

Worlds: the trained warehouses in PULSECAST_OUTLOOK_WORLDS (data directories, ':'-separated; default the
configured data directory), their `ml.backtest_forecasts` (the ensemble's cross-fitted paths, horizon 14, six
windows a week apart) of the newest run per metric. Wiki: ../shared/data/wiki_pageviews_r_daily.csv (log page
views, one series), the ensemble's own backtest paths at many origins a week apart (`Ensemble.backtest_`, model
'ensemble'); its family is that series' windows.

1. Calibration: every backtest outcome (a series' k-day total) is placed in the bands learned without it
   (`scenarios.held_out_levels`: leave one series out; one series: leave out its overlapping windows); the share
   landing in each band beside its stated probability, at k = 14 and over every k. Goal: within +/- 0.05.
   Beside it: the summed daily 80 % intervals (what summing quantiles claims) and alternatives of the score.
2. Extrapolation (wiki): calibrated on k <= 14 only, the 28-day totals (forecast continued at its last week's
   mean, spread by the fitted growth) against their bands.
3. Goal probability: synthetic goals at ratios of the linear pace projection (the 7 days before the cutoff x the
   window's days) per backtest window, deadline the window's end; Brier score of P(total >= goal) against the
   linear projection's hit / miss call. Goal: lower.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from pulsecast.ml.forecast_csv import read_series_csv
from pulsecast.ml.outlook import scenarios as sc
from pulsecast.models.ensemble import ENSEMBLE, Ensemble, default_members
from pulsecast.settings import Settings

WIKI = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "wiki_pageviews_r_daily.csv"
RATIOS = (0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
TOLERANCE = 0.05
PACE_DAYS = 7


def worlds() -> list[Path]:
    listed = os.environ.get("PULSECAST_OUTLOOK_WORLDS")
    return [Path(p) for p in listed.split(":")] if listed else [Settings().data_dir]


def world_backtests(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(backtest paths with their 80 % intervals, campaign/brand/total daily history: metric, unique_id, ds, y)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        backtest = con.execute(
            """WITH newest AS (SELECT metric, arg_max(run_id, trained_at) AS run_id FROM ml.forecasts GROUP BY 1)
               SELECT b.* FROM ml.backtest_forecasts b JOIN newest USING (metric, run_id)
               WHERE list_contains($metrics, b.metric)""",
            {"metrics": list(sc.METRICS)},
        ).df()
        history = con.execute(
            """UNPIVOT (SELECT 'campaign/' || campaign_id AS unique_id, day AS ds, conversions::DOUBLE conversions,
                       clicks::DOUBLE clicks, spend::DOUBLE spend, revenue::DOUBLE revenue FROM marts.campaign_daily)
               ON conversions, clicks, spend, revenue INTO NAME metric VALUE y"""
        ).df()
    return backtest, history


def wiki_backtests(horizon: int, windows: int, quick: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ensemble's backtest paths on the wiki series (quick: without the LSTM), and the series itself."""
    frame = read_series_csv(WIKI)
    members = default_members(horizon)
    if quick:
        members = {name: factory for name, factory in members.items() if name != "lstm"}
    ensemble = Ensemble("D", horizon=horizon, n_windows=windows, step=7, members=members).fit(frame)
    paths = ensemble.backtest_[ensemble.backtest_["model"] == ENSEMBLE].drop(columns="model")
    history = frame.dropna().assign(ds=lambda f: f["ds"].dt.tz_localize(None).dt.normalize())
    return paths.assign(metric="log_pageviews"), history.assign(metric="log_pageviews")


def band_shares(calibrations: list[sc.Calibration], k: int | None) -> pd.Series:
    """Held-out share of outcomes per band, pooled over the calibrations, at k days (None: every k)."""
    levels = []
    for calibration in calibrations:
        held = sc.held_out_levels(calibration)
        column = held[:, k - 1] if k is not None else held.ravel()
        levels.append(column[np.isfinite(column)])
    pooled = np.concatenate(levels)
    bands = np.digitize(pooled, sc.EDGES, right=True)
    shares = pd.Series([np.mean(bands == i) for i in range(len(sc.BANDS))], index=[b.name for b in sc.BANDS])
    return shares.rename(len(pooled))


def naive_coverage(backtest: pd.DataFrame, k: int) -> float:
    """Share of k-day totals inside the summed daily 80 % intervals (nominal 0.8)."""
    rows = backtest.sort_values("ds").groupby(["metric", "unique_id", "window"]).head(k)
    sums = rows.groupby(["metric", "unique_id", "window"])[["y", "yhat_lo_80", "yhat_hi_80"]].sum()
    return float(((sums["y"] >= sums["yhat_lo_80"]) & (sums["y"] <= sums["yhat_hi_80"])).mean())


def goal_brier(
    calibration: sc.Calibration, cumulative: pd.DataFrame, history: pd.DataFrame
) -> tuple[float, float, int]:
    """(Brier of the held-out P(total >= goal), Brier of the linear pace call, goals) over `RATIOS` x windows."""
    rows = cumulative[(cumulative["metric"] == calibration.metric) & (cumulative["family"] == calibration.family)]
    horizon = calibration.horizon
    last = rows[rows["k"] == horizon].set_index(["unique_id", "window", "cutoff"]).sort_index()
    series = history[history["metric"] == calibration.metric].set_index(["unique_id", "ds"])["y"].sort_index()
    ours, pace_calls, outcomes = [], [], []
    case = {
        (uid, pd.Timestamp(c)): i
        for i, (uid, c) in enumerate(zip(calibration.series, calibration.cutoffs, strict=True))
    }
    folds = list(calibration.folds())
    for (unique_id, _, cutoff), total in last.iterrows():
        i = case[(unique_id, pd.Timestamp(cutoff))]
        before = series.loc[unique_id].loc[cutoff - pd.Timedelta(days=PACE_DAYS - 1) : cutoff]
        pace = before.sum() / PACE_DAYS
        if pace <= 0 or len(before) < PACE_DAYS:
            continue
        training = next(train for held, train in folds if held[i])
        forecast = total["forecast"]
        for ratio in RATIOS:
            goal = ratio * pace * horizon
            s = sc.score(np.array(goal), forecast, training.offset(horizon, forecast))
            ours.append(1.0 - float(training.cdf(horizon, s)))
            pace_calls.append(1.0 if ratio <= 1 else 0.0)
            outcomes.append(float(total["actual"] >= goal))
    outcomes = np.array(outcomes)
    return (
        float(np.mean((np.array(ours) - outcomes) ** 2)),
        float(np.mean((np.array(pace_calls) - outcomes) ** 2)),
        len(outcomes),
    )


def extrapolated_shares(paths28: pd.DataFrame, short: int = 14) -> pd.Series:
    """Band shares of the 28-day totals, calibrated on k <= `short` only and extrapolated (held out by window)."""
    cumulative = sc.cumulative_backtests(paths28)
    full = next(iter(sc.calibrate(cumulative).values()))
    truncated = sc.calibrate(cumulative[cumulative["k"] <= short])
    calibration = next(iter(truncated.values()))
    forecasts = cumulative.pivot_table(index=["unique_id", "window", "cutoff"], columns="k", values="forecast")
    daily = np.diff(forecasts.to_numpy()[:, :short], axis=1, prepend=0.0)
    actual = cumulative[cumulative["k"] == full.horizon].set_index(["unique_id", "window", "cutoff"])["actual"]
    levels = []
    for held, training in calibration.folds():
        for i in np.flatnonzero(held):
            training = replace(training, gamma=sc.spread_growth(training.scores))
            distribution = sc.CumulativeDistribution("", "", None, daily[i], training)
            levels.append(1.0 - float(distribution.prob_at_least(full.horizon, actual.iloc[i])))
    bands = np.digitize(levels, sc.EDGES, right=True)
    return pd.Series([np.mean(bands == i) for i in range(len(sc.BANDS))], index=[b.name for b in sc.BANDS])


def _band_rows(name: str, shares: pd.Series) -> list[dict]:
    rows = []
    for band in sc.BANDS:
        value = float(shares[band.name])
        rows.append(
            {
                "name": f"{name}: {band.name} share (n={shares.name})",
                "value": round(value, 3),
                "reference": round(band.stated, 2),
                "goal": f"stated +/- {TOLERANCE}",
                "ok": abs(value - band.stated) <= TOLERANCE,
            }
        )
    return rows


def _deviation(shares: pd.Series) -> float:
    return float(np.mean([abs(shares[b.name] - b.stated) for b in sc.BANDS]))


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    campaign, every, alternatives = (
        [],
        [],
        {"offset share 0 (plain log ratio)": [], "offset share 0.5": [], "per series (no pooling)": []},
    )
    naive, goal_parts = [], []
    for data_dir in worlds():
        backtest, history = world_backtests(data_dir)
        cumulative = sc.cumulative_backtests(backtest)
        calibrations = sc.calibrate(cumulative)
        campaign += [c for (_, family), c in calibrations.items() if family == "campaign"]
        every += list(calibrations.values())
        naive.append((naive_coverage(backtest[backtest["unique_id"].str.startswith("campaign/")], 14), len(backtest)))
        alternatives["offset share 0 (plain log ratio)"] += [
            c for (_, f), c in sc.calibrate(cumulative, share=0.0).items() if f == "campaign"
        ]
        alternatives["offset share 0.5"] += [
            c for (_, f), c in sc.calibrate(cumulative, share=0.5).items() if f == "campaign"
        ]
        alternatives["per series (no pooling)"] += list(
            sc.calibrate(
                cumulative[cumulative["family"] == "campaign"].assign(family=lambda f: f["unique_id"])
            ).values()
        )
        goal_parts += [goal_brier(c, cumulative, history) for (_, f), c in calibrations.items() if f == "campaign"]
    rows += _band_rows("world campaigns k=14", band_shares(campaign, 14))
    rows += _band_rows("world campaigns all k", band_shares(campaign, None))
    rows += _band_rows("world all levels k=14", band_shares(every, 14))
    chosen = _deviation(band_shares(campaign, 14))
    rows.append(
        {
            "name": "world campaigns k=14: mean |share - stated|, chosen score",
            "value": round(chosen, 3),
            "reference": None,
            "goal": "lowest of the alternatives",
            "ok": True,
        }
    )
    for name, calibrations in alternatives.items():
        deviation = _deviation(band_shares(calibrations, 14))
        rows.append(
            {
                "name": f"world campaigns k=14: mean |share - stated|, {name}",
                "value": round(deviation, 3),
                "reference": round(chosen, 3),
                "goal": "(alternative)",
                "ok": deviation >= chosen,
            }
        )
    rows.append(
        {
            "name": "world campaigns k=14: summed daily 80% intervals' coverage",
            "value": round(float(np.mean([c for c, _ in naive])), 3),
            "reference": 0.8,
            "goal": "(what summing quantiles claims)",
            "ok": False,
        }
    )
    weights = np.array([n for _, _, n in goal_parts], dtype=float)
    ours = float(np.average([b for b, _, _ in goal_parts], weights=weights))
    pace = float(np.average([p for _, p, _ in goal_parts], weights=weights))
    rows.append(
        {
            "name": f"world goal Brier (n={int(weights.sum())}), pace call beside",
            "value": round(ours, 4),
            "reference": round(pace, 4),
            "goal": "lower",
            "ok": ours < pace,
        }
    )

    paths, history = wiki_backtests(14, 24 if quick else 40, quick)
    cumulative = sc.cumulative_backtests(paths)
    calibration = next(iter(sc.calibrate(cumulative).values()))
    rows += _band_rows("wiki k=14", band_shares([calibration], 14))
    rows += _band_rows("wiki all k", band_shares([calibration], None))
    rows.append(
        {
            "name": "wiki k=14: summed daily 80% intervals' coverage",
            "value": round(naive_coverage(paths, 14), 3),
            "reference": 0.8,
            "goal": "(what summing quantiles claims)",
            "ok": False,
        }
    )
    ours, pace, n = goal_brier(calibration, cumulative, history)
    rows.append(
        {
            "name": f"wiki goal Brier (n={n}), pace call beside",
            "value": round(ours, 4),
            "reference": round(pace, 4),
            "goal": "lower",
            "ok": ours < pace,
        }
    )
    if not quick:
        paths28, _ = wiki_backtests(28, 30, quick)
        rows += _band_rows("wiki k=28 extrapolated from k<=14", extrapolated_shares(paths28))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Wiki without the LSTM, 24 origins, no 28-day check.")
    rows = run(quick=parser.parse_args().quick)
    table = Table("figure", "value", "reference", "goal", "ok", title="Outlook scenarios")
    for row in rows:
        table.add_row(row["name"], str(row["value"]), str(row["reference"]), row["goal"], "yes" if row["ok"] else "no")
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
