"""Forecast accuracy and throughput, Pulsecast's models beside seasonal naive and default Prophet in one run.

    .venv/bin/python bench/forecast.py [--origins 5] [--skip-world] [--skip-throughput] [--only PART]

`--only real|speed|wiki|world|throughput` runs that part alone (e.g. `--only throughput` after a change that must not
slow the models down). The figures behind the forecasting choices, and how each was measured, are in
docs/forecasting.md.

Accuracy is measured honestly: at each of `--origins` rolling origins the whole ensemble (its own inner
backtests, weights and calibration included) is fitted on the data before the origin only, and every model
is scored on the next `h` steps it never saw. Default Prophet is `Prophet()` with its defaults (no holidays),
its 80/95 % intervals read from its own predictive samples. Beside the ensemble, the best fixed member weights
in hindsight (chosen on the test windows themselves): the floor for any one set of weights learned from backtests.

1. real: seventeen real series from 15-minute to yearly (`bench/real_series.py`: NAB traffic, the wiki page
   views, statsmodels' and matplotlib's bundled data), 3 origins each, every member and the ensemble beside
   default Prophet and bare statsforecast AutoARIMA and AutoETS (`StatsForecast(...).forecast` with their
   defaults, except that seasons over 52 steps are dropped and AutoARIMA's over 24 (at 96 steps it did not
   finish in ten minutes; at 52 it ran for twenty minutes on one origin of the weekly CO2 series); MASE and
   80 / 95 % coverage per frequency group, seconds per ensemble fit. Unpruned, so every member is scored on
   every series (`speed` times the pruned fit that forecast-csv runs).
   speed: `pulsecast forecast-csv` as a user runs it (a subprocess, interpreter start included) on the wiki
   series (2,863 daily points, h = 30) and on an hourly campaign series of a generated world (1,675 points,
   h = 48), beside the goals (45 s and 60 s on 2 cores).
   wiki: ../shared/data/wiki_pageviews_r_daily.csv (unsorted, gaps), h = 30.
2. world: campaign x day series of impressions, clicks and spend built with DuckDB straight from the event
   files of a generated world (no warehouse), h = 14.
3. throughput: 100 campaign series, every model with 3-window backtests (`Ensemble.fit` + forecasts; and with
   the default six windows), and the cost per series of Pulsecast's ProphetModel against a bare
   `Prophet().fit(df)` + `predict`.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from real_series import cases
from rich.console import Console
from rich.table import Table

from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.models.backtest import rolling_windows
from pulsecast.models.base import LEVELS
from pulsecast.models.combination import combine, pooled_weights
from pulsecast.models.ensemble import BASELINE, DEFAULT_WINDOWS, ENSEMBLE, Ensemble, default_members
from pulsecast.models.metrics import KEYS, mase_scales, score, summarize
from pulsecast.models.prepare import PreparedSeries, prepare
from pulsecast.models.prophet_model import PROPHET_DEFAULTS, ProphetModel, prophet_class

END = datetime(2026, 11, 1, tzinfo=UTC)
WIKI = Path(__file__).resolve().parents[2] / "shared" / "data" / "wiki_pageviews_r_daily.csv"
console = Console(width=140)
PARTS = ("real", "speed", "wiki", "world", "throughput")
SPEED_GOALS = {"daily": 45.0, "hourly": 60.0}
PEER_MAX_SEASON = 52
PEER_ARIMA_MAX_SEASON = 24
PEERS = ("default_prophet", "bare_autoarima", "bare_autoets")
DefaultProphet = partial(ProphetModel, country_holidays=None, uncertainty_samples=1000, **PROPHET_DEFAULTS)


def world_events(config: WorldConfig, query: str) -> pd.DataFrame:
    """`query` over the deduplicated events (a relation named `events`) of a freshly generated world."""
    with tempfile.TemporaryDirectory() as folder:
        report = generate_backfill(config, Path(folder) / "landing", Path(folder) / "truth")
        files = [str(path) for path in report.event_files]
        return duckdb.sql(f"with events as (select distinct on (event_id) * from read_json_auto({files})) {query}").df()


def campaign_series(config: WorldConfig, min_length: int) -> pd.DataFrame:
    """campaign x metric daily series from the generated event files; partial first and last days dropped."""
    daily = world_events(
        config,
        """
            select campaign_id, date_trunc('day', timezone('UTC', event_ts::timestamptz)) as ds,
                   count(*) filter (where event_type = 'impression')::double as impressions,
                   count(*) filter (where event_type = 'click')::double as clicks,
                   coalesce(sum(cost), 0)::double as spend
            from events group by all
        """,
    )
    daily = daily[(daily["ds"] > daily["ds"].min()) & (daily["ds"] < daily["ds"].max())]
    series = daily.melt(id_vars=["campaign_id", "ds"], var_name="metric", value_name="y")
    series["unique_id"] = series["campaign_id"] + "/" + series["metric"]
    length = series.groupby("unique_id")["ds"].transform("size")
    return series.loc[length >= min_length, ["unique_id", "ds", "y"]].reset_index(drop=True)


def accuracy(label: str, df: pd.DataFrame, h: int, origins: int) -> pd.DataFrame:
    """Outer rolling-origin evaluation of every model, each refitted (with inner backtests) per origin."""
    series = prepare(df)
    probe = Ensemble(series.freq, horizon=h)
    frames = []
    started = time.perf_counter()
    for window in rolling_windows(series, h, origins, min_train=probe.min_length(series.season_length)):
        forecasts = Ensemble(series.freq, horizon=h).fit(window.train).predict_members(h)
        default = DefaultProphet(series.freq).fit(window.train).predict(h).assign(model="default_prophet")
        actuals = window.test.loc[~window.test["imputed"], ["unique_id", "ds", "cutoff", "y"]]
        both = pd.concat([forecasts, default], ignore_index=True)
        frames.append(actuals.merge(both, on=["unique_id", "ds"]).assign(window=window.number))
    summary = summarize(score(pd.concat(frames, ignore_index=True), series.df, series.season_length))
    baseline = summary.set_index("model").loc["seasonal_naive", "mase"]
    summary["mase_vs_naive"] = summary["mase"] / baseline
    elapsed = time.perf_counter() - started
    show(f"{label}: {origins} origins x h={h}, {summary['series'].iloc[0]} series, {elapsed:.0f} s", summary)
    mase = summary.set_index("model")["mase"]
    ceiling, weights = hindsight_combination(pd.concat(frames, ignore_index=True), series)
    shares = ", ".join(f"{name} {share:.2f}" for name, share in weights.items())
    console.print(
        f"ensemble below every member: {bool((mase['ensemble'] < mase.drop('ensemble')).all())}; "
        f"ensemble / seasonal naive = {mase['ensemble'] / baseline:.3f} (goal <= 0.9)\n"
        f"best fixed member weights in hindsight ({shares}): MASE {ceiling:.3f}, the floor for one set of "
        f"weights learned from backtests\n"
    )
    return summary


def real(origins: int, groups: list[str] | None = None, save: Path | None = None, replay: Path | None = None) -> None:
    """Every real series (`real_series.cases`; those of `groups` if given) through the ensemble and the peers at
    `origins` outer origins.

    `save` keeps each origin's member forecasts and member backtests in that folder; `replay` reads them back
    instead of fitting and only reweighs and recalibrates (`replayed`): seconds instead of most of an hour,
    for trying a change to the combination or the calibration on the same member fits.
    """
    frames, seconds = [], {}
    for case in [case for case in cases() if not groups or case.group in groups]:
        series = prepare(case.df)
        probe = Ensemble(series.freq, horizon=case.h)
        fits = []
        for window in rolling_windows(series, case.h, origins, min_train=probe.min_length(series.season_length)):
            stored = (replay or save or Path()) / f"{case.unique_id}-{window.number}.pkl"
            if replay:
                members, cv, fit_seconds = pd.read_pickle(stored)
                forecasts = replayed(members, cv, window.train, series.freq, case.h)
            else:
                started = time.perf_counter()
                ensemble = Ensemble(series.freq, horizon=case.h, prune=False, workers=2)
                forecasts = ensemble.fit(window.train).predict_members(case.h)
                fit_seconds = time.perf_counter() - started
                forecasts = pd.concat([forecasts, *peers(window.train, series, case.h)], ignore_index=True)
                if save:
                    cv = ensemble.backtest_[ensemble.backtest_["model"] != ENSEMBLE]
                    pd.to_pickle((forecasts[forecasts["model"] != ENSEMBLE], cv, fit_seconds), stored)
            fits.append(fit_seconds)
            actuals = window.test.loc[~window.test["imputed"], ["unique_id", "ds", "cutoff", "y"]]
            scored = actuals.merge(forecasts, on=["unique_id", "ds"]).assign(window=window.number)
            frames.append(
                score(scored, series.df, series.season_length).assign(
                    series=case.name, group=case.group, season=series.season_length
                )
            )
        seconds[case.name] = sum(fits) / len(fits)
        mase = pd.concat(frames).query("series == @case.name").groupby("model")["mase"].mean().sort_values()
        console.print(", ".join(f"{model} {value:.3f}" for model, value in mase.items()))
        console.print(
            f"{case.name} ({case.group}, {len(series.df)} points, h={case.h}): {seconds[case.name]:.1f} s per fit"
        )
    scores = pd.concat(frames, ignore_index=True).replace([np.inf, -np.inf], np.nan)
    show_groups(scores, seconds)


@dataclass(frozen=True)
class Stored:
    """A member's saved forecast standing in for the fitted member when a run is replayed."""

    forecast: pd.DataFrame

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        return self.forecast


def replayed(members: pd.DataFrame, cv: pd.DataFrame, train: pd.DataFrame, freq: str, h: int) -> pd.DataFrame:
    """The forecasts of an ensemble assembled, as `Ensemble.fit` assembles it, from saved member backtests `cv`
    and final forecasts `members` (peers included: they pass through unweighed)."""
    ensemble = Ensemble(freq, horizon=h, prune=False)
    _, usable = ensemble.screen(train)
    own = members[members["model"].isin(ensemble.members)]
    ensemble.assemble(usable, cv, {name: Stored(frame) for name, frame in own.groupby("model")})
    forecasts = ensemble.predict_members(h)
    return pd.concat([forecasts, members[~members["model"].isin(ensemble.members)]], ignore_index=True)


def speed() -> None:
    """Wall seconds of `pulsecast forecast-csv` on a long daily and a long hourly series."""
    with tempfile.TemporaryDirectory() as folder:
        hourly = Path(folder) / "hourly.csv"
        hourly_impressions(WorldConfig(seed=5, days=70, campaigns=2, events_per_day=4000, end=END)).to_csv(
            hourly, index=False
        )
        for label, path, h in (("daily", WIKI, 30), ("hourly", hourly, 48)):
            points = len(pd.read_csv(path))
            started = time.perf_counter()
            subprocess.run(
                [
                    str(Path(sys.executable).with_name("pulsecast")),
                    "forecast-csv",
                    str(path),
                    "--horizon",
                    str(h),
                    "--output",
                    str(Path(folder) / f"{label}-forecast.csv"),
                ],
                check=True,
                capture_output=True,
            )
            seconds = time.perf_counter() - started
            goal = SPEED_GOALS[label]
            console.print(
                f"forecast-csv, {label} ({points} points, h={h}): {seconds:.1f} s, goal {goal:.0f} s, "
                f"ratio {seconds / goal:.2f}"
            )


def hourly_impressions(config: WorldConfig) -> pd.DataFrame:
    """ds,y: the impressions per hour of the busiest campaign of a generated world, partial hours dropped."""
    hourly = world_events(
        config,
        """
            select date_trunc('hour', timezone('UTC', event_ts::timestamptz)) as ds, count(*)::double as y
            from events
            where event_type = 'impression'
              and campaign_id = (select mode(campaign_id) from events where event_type = 'impression')
            group by all order by ds
        """,
    )
    return hourly.iloc[1:-1]


def peers(train: pd.DataFrame, series: PreparedSeries, h: int) -> list[pd.DataFrame]:
    """Default Prophet, and statsforecast's AutoARIMA and AutoETS as a user would run them on the same data
    (the prepared, gap-filled training frame; the season capped at PEER_MAX_SEASON, AutoARIMA's at
    PEER_ARIMA_MAX_SEASON)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS

    prepared = prepare(train, series.freq).df[["unique_id", "ds", "y"]]
    season = series.season_length if series.season_length <= PEER_MAX_SEASON else 1
    models = [
        AutoARIMA(
            season_length=season if season <= PEER_ARIMA_MAX_SEASON else 1,
            alias="bare_autoarima",
        ),
        AutoETS(season_length=season, alias="bare_autoets"),
    ]
    wide = StatsForecast(models=models, freq=series.freq).forecast(df=prepared, h=h, level=list(LEVELS))
    frames = [DefaultProphet(series.freq).fit(train).predict(h).assign(model="default_prophet")]
    for model in ("bare_autoarima", "bare_autoets"):
        renamed = {model: "yhat"} | {
            f"{model}-{s}-{level}": f"yhat_{s}_{level}" for level in LEVELS for s in ("lo", "hi")
        }
        frames.append(wide[["unique_id", "ds", *renamed]].rename(columns=renamed).assign(model=model))
    return frames


def show_groups(scores: pd.DataFrame, seconds: dict[str, float]) -> None:
    """MASE per frequency group and overall (mean over series), coverage per group, the ratios the goals name."""
    mase = scores.pivot_table(index="model", columns="group", values="mase", aggfunc="mean")
    mase["all series"] = scores.groupby("model")["mase"].mean()
    table = Table(title=f"real series: MASE, mean over the series of each group ({scores['series'].nunique()} series)")
    table.add_column("model")
    for column in mase.columns:
        table.add_column(column, justify="right")
    for model, row in mase.sort_values("all series").iterrows():
        table.add_row(model, *(f"{value:.3f}" for value in row))
    console.print(table)
    coverage = Table(title="real series: 80 % / 95 % coverage per group (goal: within 0.05 of nominal)")
    coverage.add_column("model")
    groups = sorted(scores["group"].unique())
    for group in groups:
        coverage.add_column(group, justify="right")
    intervals = [
        m
        for m in (
            "ensemble",
            "lstm",
            "prophet",
            "autoets",
            "autoarima",
            "bare_autoarima",
            "bare_autoets",
            "default_prophet",
        )
        if m in set(scores["model"])
    ]
    for model in intervals:
        rows = scores[scores["model"] == model].groupby("group")[["coverage_80", "coverage_95"]].mean()
        coverage.add_row(
            model,
            *(
                f"{rows.loc[g, 'coverage_80']:.2f} / {rows.loc[g, 'coverage_95']:.2f}" if g in rows.index else "-"
                for g in groups
            ),
        )
    console.print(coverage)
    per_series = scores.pivot_table(index="series", columns="model", values="mase", aggfunc="mean")
    members = per_series.drop(columns=["ensemble", *PEERS], errors="ignore")
    best = members.min(axis=1)
    ratio = per_series["ensemble"] / best
    table = Table(title="real series: the ensemble against its best member on each series (MASE)")
    for column in ("series", "best member", "its MASE", "ensemble", "ratio", "bare AutoARIMA"):
        table.add_column(column, justify="left" if column in ("series", "best member") else "right")
    for name in per_series.index:
        table.add_row(
            name,
            members.loc[name].idxmin(),
            f"{best[name]:.3f}",
            f"{per_series.loc[name, 'ensemble']:.3f}",
            f"{ratio[name]:.3f}",
            f"{per_series.loc[name, 'bare_autoarima']:.3f}",
        )
    console.print(table)
    console.print(
        f"ensemble at or below its best member on {int((ratio <= 1).sum())} of {len(ratio)} series; "
        f"worst ratio {ratio.max():.3f} ({ratio.idxmax()})"
    )
    overall = mase["all series"]
    members = overall.drop(["ensemble", *PEERS], errors="ignore")
    seasonal = scores[scores["season"] <= PEER_ARIMA_MAX_SEASON].groupby("model")["mase"].mean()
    console.print(
        f"ensemble / bare AutoARIMA mean MASE = {overall['ensemble'] / overall['bare_autoarima']:.3f} (goal <= 0.90); "
        f"{seasonal['ensemble'] / seasonal['bare_autoarima']:.3f} on the "
        f"{scores.loc[scores['season'] <= PEER_ARIMA_MAX_SEASON, 'series'].nunique()} series where the peer keeps "
        f"its season; "
        f"ensemble below every member: {bool((overall['ensemble'] < members).all())} "
        f"(best member {members.idxmin()} {members.min():.3f}, ensemble {overall['ensemble']:.3f})\n"
        f"seconds per ensemble fit (backtests included): "
        + ", ".join(f"{name} {value:.0f}" for name, value in seconds.items())
    )


def hindsight_combination(scored: pd.DataFrame, series: PreparedSeries) -> tuple[float, pd.Series]:
    """The MASE of the one set of member weights that is best on the test windows themselves, and those weights.

    Chosen with the answers in hand, no one set of weights learned from backtests can beat it: it shows how
    much weighing these members could gain at all over the best of them.
    """
    members = list(default_members(horizon=1))
    cutoffs = scored[["unique_id", "window", "cutoff"]].drop_duplicates()
    scales = mase_scales(cutoffs, series.df, series.season_length).set_axis(
        pd.MultiIndex.from_frame(cutoffs[["unique_id", "window"]])
    )
    weights = pooled_weights(scored, scales, members, BASELINE)
    every_series = pd.DataFrame([weights] * len(cutoffs["unique_id"].unique()), index=cutoffs["unique_id"].unique())
    combined = combine(scored[scored["model"].isin(members)], every_series, LEVELS, [*KEYS, "ds", "window", "y"])
    hindsight = summarize(score(combined.assign(model="hindsight"), series.df, series.season_length))
    return float(hindsight["mase"].iloc[0]), weights


def throughput(df: pd.DataFrame, h: int, n_series: int) -> None:
    ids = sorted(df["unique_id"].unique())[:n_series]
    subset = df[df["unique_id"].isin(ids)]
    for windows in (3, DEFAULT_WINDOWS):
        started = time.perf_counter()
        ensemble = Ensemble(horizon=h, n_windows=windows)
        ensemble.fit(subset).predict_members(h)
        console.print(
            f"throughput: {len(ids)} series x all models, {windows} backtest windows {ensemble.step} apart "
            f"+ final fit: {time.perf_counter() - started:.1f} s"
        )
    sample = [subset[subset["unique_id"] == uid] for uid in ids[:20]]
    bare = _per_series(lambda frame: _bare_prophet(frame, h), sample)
    for label, factory in (("as used (US holidays)", ProphetModel), ("without holidays", DefaultProphet)):
        ours = _per_series(lambda frame, factory=factory: factory().fit(frame).predict(h), sample)
        console.print(
            f"prophet per series, Pulsecast {label}: {ours * 1000:.0f} ms against bare Prophet {bare * 1000:.0f} ms, "
            f"overhead ratio {ours / bare:.2f}"
        )


def _bare_prophet(frame: pd.DataFrame, h: int) -> pd.DataFrame:
    model = prophet_class()().fit(frame[["ds", "y"]])
    return model.predict(model.make_future_dataframe(h, include_history=False))


def _per_series(run, frames: list[pd.DataFrame]) -> float:
    started = time.perf_counter()
    for frame in frames:
        run(frame)
    return (time.perf_counter() - started) / len(frames)


def show(title: str, summary: pd.DataFrame) -> None:
    table = Table(title=title)
    columns = ["model", "mase", "mase_vs_naive", "smape", "coverage_80", "coverage_95", "winkler_80", "winkler_95"]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in summary[columns].itertuples(index=False):
        table.add_row(row[0], *(f"{value:.3f}" for value in row[1:]))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=5)
    parser.add_argument("--skip-world", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--only", choices=PARTS, help="run this part alone")
    parser.add_argument("--groups", nargs="+", help="real: only the series of these frequency groups (e.g. hourly)")
    parser.add_argument("--save", type=Path, help="real: keep the member fits in this folder (for --replay)")
    parser.add_argument("--replay", type=Path, help="real: reweigh and recalibrate the member fits kept by --save")
    args = parser.parse_args()
    skipped = {"world": args.skip_world, "throughput": args.skip_throughput}
    parts = [args.only] if args.only else [part for part in PARTS if not skipped.get(part)]
    logging.basicConfig(level=logging.WARNING)
    if "real" in parts:
        real(origins=3, groups=args.groups, save=args.save, replay=args.replay)
    if "speed" in parts:
        speed()
    if "wiki" in parts:
        accuracy("wiki_pageviews_r_daily", pd.read_csv(WIKI), h=30, origins=args.origins)
    if "world" in parts:
        world = campaign_series(WorldConfig(seed=11, days=150, campaigns=24, events_per_day=6000, end=END), 80)
        accuracy("generated world", world, h=14, origins=3)
    if "throughput" in parts:
        world = campaign_series(WorldConfig(seed=12, days=120, campaigns=60, events_per_day=12000, end=END), 60)
        throughput(world, h=14, n_series=100)


if __name__ == "__main__":
    main()
