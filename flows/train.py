"""Flow `train`: forecast every active campaign, brand and the total, per metric, from the daily marts.

1. read the series from the marts (complete days only);
2. score past forecasts against the actuals that arrived (`ml.forecast_accuracy`) and flag degraded series;
3. per metric: backtest and fit the local members one task per series, the global LSTM in one task; both
   cached on the data fingerprint + parameters + code version (flagged series are refitted regardless);
4. assemble the ensemble, log and register it in MLflow (champion only if it beats the champion);
5. write `ml.forecasts` and `ml.backtests`; leave a table artifact with accuracy per model and MLflow links.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from ml import outputs
from ml.accuracy import degraded_series, score_forecasts
from ml.series import Metric, SeriesSet, build_series, fingerprint
from ml.tracking import TrackedRun, log_training
from ml.training import MemberFit, TrainConfig, assemble, code_version, fit_global, fit_local
from models.ensemble import Ensemble
from models.metrics import summarize
from pulsecast.settings import Settings, get_settings
from pulsecast.warehouse import reader, writer

CACHE_FOR = timedelta(days=30)


def fit_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Same series, same parameters, same forecasting code: the stored fit is reused."""
    config: TrainConfig = parameters["config"]
    return f"{context.task.name}-{parameters['metric']}-{fingerprint(parameters['df'])}-{config.key()}-{code_version()}"


@task(name="load-series", cache_policy=NO_CACHE)
def load_series(settings: Settings, config: TrainConfig) -> SeriesSet:
    if not settings.warehouse.exists():
        return SeriesSet.empty()
    with reader(settings) as con:
        return build_series(con, config.active_days)


@task(name="score-past-forecasts", cache_policy=NO_CACHE)
def score_past_forecasts(settings: Settings, series: SeriesSet, config: TrainConfig) -> dict[str, set[str]]:
    with writer(settings, "train: scoring past forecasts") as con:
        outputs.prepare_ml_schema(con)
        accuracy = score_forecasts(con, series, config.degradation_ratio, config.min_scored_days)
    flagged = degraded_series(accuracy)
    print(f"Scored {len(accuracy):,} past forecast(s); degraded: {flagged or 'none'}")
    return flagged


@task(
    name="fit-series",
    task_run_name="fit {metric} {unique_id}",
    cache_key_fn=fit_cache_key,
    cache_expiration=CACHE_FOR,
    persist_result=True,
)
def fit_series(df: pd.DataFrame, config: TrainConfig, metric: str, unique_id: str) -> MemberFit:
    """Seasonal naive and Prophet, backtested and fitted on one series."""
    return fit_local(df, config)


@task(
    name="fit-global",
    task_run_name="fit {metric} lstm",
    cache_key_fn=fit_cache_key,
    cache_expiration=CACHE_FOR,
    persist_result=True,
)
def fit_all_series(df: pd.DataFrame, config: TrainConfig, metric: str) -> MemberFit:
    """The global LSTM, backtested and fitted on all of the metric's series at once."""
    return fit_global(df, config)


@task(name="assemble-ensemble", task_run_name="assemble {metric}", cache_policy=NO_CACHE)
def assemble_ensemble(
    df: pd.DataFrame, config: TrainConfig, metric: str, local: dict[str, MemberFit], shared: MemberFit
) -> Ensemble:
    return assemble(df, config, local, shared)


@task(name="track-in-mlflow", task_run_name="track {metric}", cache_policy=NO_CACHE)
def track(
    settings: Settings, metric: str, ensemble: Ensemble, history: pd.DataFrame, forecasts: pd.DataFrame, params: dict
) -> TrackedRun:
    tracked = log_training(settings, metric, ensemble, history, forecasts, params)
    print(f"{metric}: MLflow run {tracked.run_id}, version {tracked.version}: {tracked.decision}")
    return tracked


@task(name="write-forecasts", task_run_name="write {metric}", cache_policy=NO_CACHE)
def write_outputs(
    settings: Settings, metric: str, ensemble: Ensemble, history: pd.DataFrame, forecasts: pd.DataFrame, run: dict
) -> int:
    rows = outputs.forecast_rows(forecasts, history, ensemble.season_length_, **run)
    with writer(settings, f"train: writing {metric} forecasts") as con:
        outputs.prepare_ml_schema(con)
        outputs.replace(con, "forecasts", rows, run["run_id"])
        if not ensemble.backtest_.empty:
            scored = outputs.backtest_rows(ensemble.backtest_, history, ensemble.season_length_, **run)
            outputs.replace(con, "backtests", scored, run["run_id"])
    return len(rows)


@flow(name="train", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def train(config: TrainConfig = TrainConfig()) -> dict[str, str]:
    """Score past forecasts, then backtest, fit, register and write forecasts for every metric.

    Returns the MLflow run id per metric.
    """
    settings = get_settings()
    series = load_series(settings, config)
    if series.through is None or series.df.empty:
        print(f"No active series in the marts (through {series.through}): nothing to train. Run `transform` first?")
        return {}
    flagged = score_past_forecasts(settings, series, config)
    tracked = [
        train_metric(settings, series, metric, config, flagged.get(metric, set()))
        for metric in config.metrics
        if not series.of(metric).empty
    ]
    report(settings, series, tracked, flagged)
    return {str(run.metric): run.run_id for run, _ in tracked}


def train_metric(
    settings: Settings, series: SeriesSet, metric: Metric, config: TrainConfig, flagged: set[str]
) -> tuple[TrackedRun, pd.DataFrame]:
    """One metric: the fan-out, the ensemble, MLflow, the warehouse. Returns the run and the summary."""
    df = series.of(metric)
    local: dict[str, PrefectFuture] = {
        str(uid): fit_series.with_options(refresh_cache=uid in flagged).submit(group, config, metric, uid)
        for uid, group in df.groupby("unique_id")
    }
    shared = fit_all_series.with_options(refresh_cache=bool(flagged)).submit(df, config, metric)
    ensemble = assemble_ensemble(df, config, metric, {uid: f.result() for uid, f in local.items()}, shared.result())
    forecasts = ensemble.predict_members(config.horizon)
    params = {
        "run_name": f"{metric} through {series.through}",
        "through": str(series.through),
        "horizon": config.horizon,
        "backtest_windows": config.windows,
        "members": ",".join(config.members()),
        "series": df["unique_id"].nunique(),
        "fallback_series": len(ensemble.fallbacks),
        "data_fingerprint": fingerprint(df),
        "config_key": config.key(),
        "code_version": code_version(),
        "retrained_degraded": ",".join(sorted(flagged)) or "none",
        "prefect_flow_run": flow_run.get_id() or "none",
    }
    tracked = track(settings, metric, ensemble, df, forecasts, params)
    run = {
        "run_id": tracked.run_id,
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "metric": str(metric),
        "model_version": tracked.version,
        "cutoff": series.through,
    }
    write_outputs(settings, metric, ensemble, df, forecasts, run)
    summary = summarize(ensemble.scores_)
    return tracked, summary


def report(
    settings: Settings, series: SeriesSet, tracked: list[tuple[TrackedRun, pd.DataFrame]], flagged: dict
) -> None:
    rows = [
        {
            "metric": run.metric,
            "model": row["model"],
            "mase": round(row["mase"], 3),
            "smape": round(row["smape"], 3),
            "coverage_80": round(row["coverage_80"], 3),
            "coverage_95": round(row["coverage_95"], 3),
            "series": int(row["series"]),
            "registry": run.registry,
            "mlflow_run": run.url(settings.mlflow_ui_url),
        }
        for run, summary in tracked
        for row in summary.to_dict("records")
    ] + [
        {
            "metric": run.metric,
            "model": "none backtested: every series too short, baseline forecasts only",
            "registry": run.registry,
            "mlflow_run": run.url(settings.mlflow_ui_url),
        }
        for run, summary in tracked
        if summary.empty
    ]
    skipped = f"{len(series.skipped)} inactive series not forecast" if series.skipped else "no inactive series"
    create_table_artifact(
        key="train-accuracy",
        table=rows,
        description=(
            f"Backtest accuracy per metric and model (mean over series), data through {series.through}; "
            f"{skipped}; retrained as degraded: {flagged or 'none'}. MLflow UI: `make mlflow`."
        ),
    )
    for run, _ in tracked:
        print(f"{run.metric}: {run.decision}; {run.url(settings.mlflow_ui_url)}")


if __name__ == "__main__":
    train()
