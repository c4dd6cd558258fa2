"""The train flow under Prefect's test harness, on a small generated world built by the real dbt project."""

from __future__ import annotations

from datetime import datetime

import pytest
from mlflow import MlflowClient
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.ml.series import Metric
from pulsecast.ml.tracking import CHALLENGER, CHAMPION, model_name
from pulsecast.ml.training import TrainConfig
from pulsecast.settings import Settings
from pulsecast.warehouse import reader, writer

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(metrics=[Metric.clicks], horizon=7, windows=3, lstm_epochs=3, lstm_networks=1)


def task_states(flow_run_id: str) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run.state.name for run in runs}


def test_train_forecasts_registers_caches_and_retrains_degraded_series(
    prefect_harness: None, settings: Settings
) -> None:
    from pulsecast.flows.train import train

    world = WorldConfig(seed=3, days=36, campaigns=3, events_per_day=1_500, end=datetime(2026, 10, 3, 14))
    generate_backfill(world, settings.landing, settings.truth)
    ingest_run(settings)
    build(settings)

    first = train(CONFIG, return_state=True)
    run_id = first.result()["clicks"]
    with reader(settings) as con:
        series = {uid for (uid,) in con.execute("SELECT DISTINCT unique_id FROM ml.forecasts").fetchall()}
        per_model = dict(con.execute("SELECT model, count(*) FROM ml.forecasts GROUP BY model").fetchall())
        backtested = con.execute("SELECT count(DISTINCT unique_id) FROM ml.backtests WHERE run_id = ?", [run_id])
        backtested = backtested.fetchone()[0]
    assert "total" in series and any(s.startswith("brand/") for s in series)
    assert any(s.startswith("campaign/") for s in series)
    assert per_model == {m: len(series) * CONFIG.horizon for m in ("seasonal_naive", "prophet", "lstm", "ensemble")}
    assert backtested > 0
    client = MlflowClient(settings.mlflow_uri)
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
