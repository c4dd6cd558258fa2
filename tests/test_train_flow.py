"""The train flow under Prefect's test harness, on a small generated world built by the real dbt project."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from mlflow import MlflowClient
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from test_cli import pulsecast

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.metrics.api import Metrics
from pulsecast.ml.series import Metric, build_series
from pulsecast.ml.tracking import CAMPAIGN_FAN_CHARTS, CHALLENGER, CHAMPION, FAN_CHART, model_name
from pulsecast.ml.training import TrainConfig
from pulsecast.settings import Settings
from pulsecast.warehouse import reader, writer

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(metrics=[Metric.clicks], horizon=7, windows=3, lstm_steps=15, lstm_networks=1)


def task_states(flow_run_id: str) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run.state.name for run in runs}


MART_COLUMNS = "SELECT column_name, column_type FROM (DESCRIBE marts.forecast_vs_actual)"


def assert_forecast_mart_shows(settings: Settings, run_id: str) -> None:
    """marts.forecast_vs_actual = the run's ensemble forecast from ml.forecasts beside the series it was trained
    on (days before a series' first day count 0), and it was published for readers."""
    with reader(settings) as con:
        forecast = """SELECT metric, unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95,
                             model_version, run_id, cutoff FROM {} WHERE model = 'ensemble' AND ds > cutoff"""
        mart = forecast.format("marts.forecast_vs_actual")
        source = forecast.format("(SELECT * FROM ml.forecasts WHERE run_id = $run)")
        differing = con.execute(f"({mart} EXCEPT ALL {source}) UNION ALL ({source} EXCEPT ALL {mart})", {"run": run_id})
        assert not differing.fetchall(), "the mart's forecast days are the run's ensemble forecasts"
        actuals = con.execute(
            "SELECT metric, unique_id, ds, actual FROM marts.forecast_vs_actual WHERE days_ahead <= 0"
        ).df()
        assert set(con.execute("SELECT DISTINCT run_id FROM marts.forecast_vs_actual").fetchall()) == {(run_id,)}
        trained_on = build_series(con, CONFIG.active_days).df.rename(columns={"y": "trained_on"})
    aligned = actuals.assign(ds=actuals["ds"].astype("datetime64[ns]")).merge(
        trained_on.astype({"ds": "datetime64[ns]"}), on=["metric", "unique_id", "ds"], how="left"
    )
    assert len(actuals) == 28 * actuals[["unique_id"]].drop_duplicates().shape[0]
    assert (aligned["actual"] == aligned["trained_on"].fillna(0)).all()
    with Metrics(settings) as metrics:
        answer = metrics.ask("forecast", metric="clicks", level="total")
    assert {row["run_id"] for row in answer.records()} == {run_id}, "the snapshot holds the new forecasts"


def test_train_forecasts_registers_caches_and_retrains_degraded_series(
    prefect_harness: None, settings: Settings
) -> None:
    from pulsecast.flows.train import train

    world = WorldConfig(seed=3, days=36, campaigns=3, events_per_day=1_500, end=datetime(2026, 10, 3, 14))
    generate_backfill(world, settings.landing, settings.truth)
    ingest_run(settings)
    build(settings)
    with reader(settings) as con:
        untrained_columns = con.execute(MART_COLUMNS).fetchall()
        assert con.execute("SELECT count(*) FROM marts.forecast_vs_actual").fetchone()[0] == 0

    first = train(CONFIG, return_state=True)
    run_id = first.result()["clicks"]
    assert_forecast_mart_shows(settings, run_id)
    with reader(settings) as con:
        assert con.execute(MART_COLUMNS).fetchall() == untrained_columns, "the same types before any training"
        campaign = con.execute("SELECT min(campaign_id) FROM marts.forecast_vs_actual").fetchone()[0]
    cli = pulsecast("metrics", "forecast", "--campaign", campaign, "--metric", "clicks", "--format", "json",
                    data_dir=settings.data_dir)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    rows = json.loads(cli.stdout)
    assert {row["unique_id"] for row in rows} == {f"campaign/{campaign}"}
    assert sum(row["yhat"] is not None for row in rows) == CONFIG.horizon
    with reader(settings) as con:
        series = {uid for (uid,) in con.execute("SELECT DISTINCT unique_id FROM ml.forecasts").fetchall()}
        per_model = dict(con.execute("SELECT model, count(*) FROM ml.forecasts GROUP BY model").fetchall())
        backtested = con.execute("SELECT count(DISTINCT unique_id) FROM ml.backtests WHERE run_id = ?", [run_id])
        backtested = backtested.fetchone()[0]
    assert "total" in series and any(s.startswith("brand/") for s in series)
    assert any(s.startswith("campaign/") for s in series)
    assert per_model == {m: len(series) * CONFIG.horizon for m in [*CONFIG.members(), "ensemble"]}
    assert backtested > 0
    client = MlflowClient(settings.mlflow_uri)
    assert {FAN_CHART, CAMPAIGN_FAN_CHARTS} <= {artifact.path for artifact in client.list_artifacts(run_id)}
    scores = client.get_run(run_id).data.metrics
    serving = CHAMPION if scores["ensemble_mase"] < scores["seasonal_naive_mase"] else CHALLENGER
    assert client.get_model_version_by_alias(model_name("clicks"), serving).run_id == run_id, (
        "the first version serves only if it beats seasonal naive"
    )
    assert (CHAMPION in client.get_registered_model(model_name("clicks")).aliases) == (serving == CHAMPION)
    with get_client(sync_client=True) as prefect:
        accuracy_table = ArtifactFilter(key=ArtifactFilterKey(any_=["train-accuracy"]))
        artifacts = prefect.read_artifacts(artifact_filter=accuracy_table)
    ours = [a for a in artifacts if a.flow_run_id == first.state_details.flow_run_id]
    assert ours and f"runs/{run_id}" in str(ours[0].data), "the accuracy table links the MLflow run"

    # Pretend the first forecast of the total was made a horizon ago and missed badly: the next run scores it
    # against the actuals, flags the series and refits it although its data did not change.
    with writer(settings, "test: age the forecasts") as con:
        con.execute(
            """UPDATE ml.forecasts SET ds = ds - INTERVAL 7 DAY, cutoff = cutoff - INTERVAL 7 DAY,
               yhat = 10 * yhat + 100, yhat_lo_80 = 10 * yhat + 99, yhat_hi_80 = 10 * yhat + 101,
               yhat_lo_95 = 10 * yhat + 98, yhat_hi_95 = 10 * yhat + 102
               WHERE unique_id = 'total' AND model = 'ensemble'"""
        )
    second = train(CONFIG, return_state=True)
    states = task_states(second.state_details.flow_run_id)
    assert states["fit clicks total"] == "Completed", "the degraded series is refitted"
    assert states["fit clicks lstm"] == "Completed", "the global model sees the refitted series too"
    refitted = ("fit clicks total", "fit clicks lstm")
    others = [name for name in states if name.startswith("fit clicks ") and name not in refitted]
    assert others and all(states[name] == "Cached" for name in others), states
    with reader(settings) as con:
        degraded = con.execute(
            "SELECT unique_id FROM ml.forecast_accuracy WHERE degraded AND model = 'ensemble'"
        ).fetchall()
    assert degraded == [("total",)]
    retrained = client.get_run(second.result()["clicks"]).data.params["retrained_degraded"]
    assert retrained == "total"
    assert_forecast_mart_shows(settings, second.result()["clicks"])
