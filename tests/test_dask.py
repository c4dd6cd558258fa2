"""The fan-outs on an existing Dask cluster: with `PULSECAST_DASK_ADDRESS` set, a batch of simulations and the train
flow's per-series fits run through prefect-dask's task runner on a real `distributed.LocalCluster`; without it the
flows keep their own runners."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream
from prefect import flow
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner
from simulate_support import small_world

from pulsecast.flows.runners import fan_out
from pulsecast.ml.series import Metric
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.ml.training import MemberFit, TrainConfig
from pulsecast.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """One worker with two threads in this process: small, but the scheduler and the worker are Dask's own."""
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as local:
        yield local


def dask_runner(cluster: LocalCluster) -> DaskTaskRunner:
    runner = fan_out(ThreadPoolTaskRunner(max_workers=2), Settings(dask_address=cluster.scheduler_address))
    assert isinstance(runner, DaskTaskRunner) and runner.address == cluster.scheduler_address
    return runner


def test_without_an_address_the_flows_keep_their_runners(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulsecast.flows.simulate import simulate_batch
    from pulsecast.flows.train import train

    monkeypatch.delenv("PULSECAST_DASK_ADDRESS", raising=False)
    default = ThreadPoolTaskRunner(max_workers=2)
    assert fan_out(default, Settings()) is default
    assert isinstance(train.task_runner, ProcessPoolTaskRunner)
    assert isinstance(simulate_batch.task_runner, ThreadPoolTaskRunner)


def test_a_batch_of_simulations_runs_on_the_cluster(
    prefect_harness: None, cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulsecast.flows.simulate import simulate_batch
    from pulsecast.ml.simulation_store import read

    monkeypatch.setenv("PULSECAST_DATA_DIR", str(tmp_path / "data"))
    settings = small_world(tmp_path / "data")
    requests = [SimulationRequest(campaign="cmp-001", budget={"social": 15.0}, horizon=7),
                SimulationRequest(campaign="cmp-002", budget={"search": -15.0}, horizon=7)]
    with Client(cluster) as client, get_task_stream(client) as stream:
        ids = simulate_batch.with_options(task_runner=dask_runner(cluster))(requests)
    assert len(stream.data) >= 2, "each simulation a task on the cluster"
    rows = read(settings).set_index("request_id").loc[ids]
    assert rows["status"].tolist() == ["completed", "completed"]
    assert rows["campaign_id"].tolist() == ["cmp-001", "cmp-002"]


def test_the_train_flows_per_series_fits_run_on_the_cluster(prefect_harness: None, cluster: LocalCluster) -> None:
    from pulsecast.flows.train import fit_series

    config = TrainConfig(metrics=[Metric.clicks], horizon=7, windows=3)
    rng = np.random.default_rng(0)
    days = pd.date_range("2026-09-01", periods=60, freq="D")
    df = pd.concat([pd.DataFrame({"unique_id": uid, "ds": days, "y": rng.poisson(level, len(days)).astype(float)})
                    for uid, level in (("campaign/a", 40), ("campaign/b", 15))], ignore_index=True)

    @flow(task_runner=dask_runner(cluster))
    def fit_each(frame: pd.DataFrame) -> dict[str, MemberFit]:
        futures = {uid: fit_series.with_options(refresh_cache=True).submit(group, config, "clicks", uid)
                   for uid, group in frame.groupby("unique_id")}
        return {uid: future.result() for uid, future in futures.items()}

    with Client(cluster) as client, get_task_stream(client) as stream:
        fits = fit_each(df)
    assert len(stream.data) >= 2
    assert set(fits) == {"campaign/a", "campaign/b"}
    assert all(fit.fitted and fit.cv is not None for fit in fits.values())
