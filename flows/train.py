"""Flow `train`: forecast every active campaign, brand and the total, per metric, from the daily marts.

1. read the series from the marts (complete days only);
2. score past forecasts against the actuals that arrived (`ml.forecast_accuracy`) and flag degraded series;
3. per metric: backtest and fit the local members one task per series, the global LSTM in one task; both
   cached on the data fingerprint + parameters + code version (flagged series are refitted regardless); the
   tasks run on the Dask cluster at `PULSECAST_DASK_ADDRESS` when one is configured;
4. assemble the ensemble, log and register it in MLflow (champion only if it beats the champion);
5. write `ml.forecasts` and `ml.backtests`;
6. rebuild the forecast mart (`marts.forecast_vs_actual`) and publish the marts, so readers see the new forecasts
   now rather than after the next build; publish the training report (accuracy per model, MLflow links).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner

from pulsecast.build import build
from pulsecast.flows.artifacts import publish
from pulsecast.flows.runners import fan_out
from pulsecast.flows.transform import prefect_runner
from pulsecast.ml import outputs
from pulsecast.ml.accuracy import degraded_series, score_forecasts
from pulsecast.ml.outputs import RunStamp
from pulsecast.ml.report import MetricTraining, training_report
from pulsecast.ml.series import Metric, SeriesSet, build_series, fingerprint
from pulsecast.ml.tracking import TrackedRun, TrainingParams, log_training
from pulsecast.ml.training import MemberFit, TrainConfig, assemble, code_version, fit_global, fit_local
from pulsecast.models.ensemble import Ensemble
from pulsecast.models.metrics import summarize
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
    settings: Settings, metric: str, ensemble: Ensemble, df: pd.DataFrame, forecasts: pd.DataFrame,
    params: TrainingParams,
) -> TrackedRun:  # fmt: skip
    tracked = log_training(settings, metric, ensemble, df, forecasts, params)
    print(f"{metric}: MLflow run {tracked.run_id}, version {tracked.version}: {tracked.decision}")
    return tracked


@task(name="write-forecasts", task_run_name="write {stamp.metric}", cache_policy=NO_CACHE)
def write_forecasts(
    settings: Settings, ensemble: Ensemble, df: pd.DataFrame, forecasts: pd.DataFrame, stamp: RunStamp
) -> int:
    return outputs.write_training(settings, ensemble, df, forecasts, stamp)


@flow(name="train", log_prints=True, task_runner=fan_out(ProcessPoolTaskRunner(max_workers=2)))
def train(config: TrainConfig = TrainConfig()) -> dict[str, str]:
    """Score past forecasts, then backtest, fit, register and write forecasts for every metric, and publish
    them beside their actuals (`marts.forecast_vs_actual`).

    Returns the MLflow run id per metric.
    """
    settings = get_settings()
    series = load_series(settings, config)
    if series.through is None or series.df.empty:
        print(f"No active series in the marts (through {series.through}): nothing to train. Run `transform` first?")
        return {}
    flagged = score_past_forecasts(settings, series, config)
    trained = [
        train_metric(settings, series, metric, config, flagged.get(metric, set()))
        for metric in config.metrics
        if not series.of(metric).empty
    ]
    # only the forecast mart and its tests (a Prefect task per dbt node, as in `transform`), then every mart
    refreshed = build(settings, select=[outputs.FORECAST_MART], runner=prefect_runner())
    report = training_report(series, trained, flagged, settings.mlflow_ui_url, refreshed.published)
    publish(report, key="train-accuracy")
    return {str(t.run.metric): t.run.run_id for t in trained}


def train_metric(
    settings: Settings, series: SeriesSet, metric: Metric, config: TrainConfig, flagged: set[str]
) -> MetricTraining:
    """One metric: the fan-out, the ensemble, MLflow, the warehouse."""
    df = series.of(metric)
    local: dict[str, PrefectFuture] = {
        str(uid): fit_series.with_options(refresh_cache=uid in flagged).submit(group, config, metric, uid)
        for uid, group in df.groupby("unique_id")
    }
    shared = fit_all_series.with_options(refresh_cache=bool(flagged)).submit(df, config, metric)
    ensemble = assemble_ensemble(df, config, metric, {uid: f.result() for uid, f in local.items()}, shared.result())
    forecasts = ensemble.predict_members(config.horizon)
    params = TrainingParams.of(df, series.through, config, ensemble, flagged, flow_run.get_id())
    tracked = track(settings, metric, ensemble, df, forecasts, params)
    stamp = RunStamp.now(tracked.run_id, str(metric), tracked.version, series.through)
    write_forecasts(settings, ensemble, df, forecasts, stamp)
    return MetricTraining(tracked, summarize(ensemble.scores_))
