"""Flows `simulate` and `simulate-batch`: what-if trajectories for a campaign, recorded in `ml.simulations`.

1. read what each request needs from the warehouse, check it (a bad request fails here, naming what exists, and
   is never retried) and look its cache key up in `ml.simulations`;
2. simulate the requests the cache cannot answer, one task each (on the Dask cluster when one is configured);
3. record every request, computed or cached, in one write (retried: another writer may hold the warehouse);
4. each request's status and median lift as a markdown artifact.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from prefect import Task, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from pulsecast.flows.artifacts import publish
from pulsecast.flows.runners import fan_out
from pulsecast.ml import simulation_store as store
from pulsecast.ml.simulation import Inputs, Simulation, read_inputs, running_channels, simulate
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.report import Report, Table
from pulsecast.settings import Settings, get_settings
from pulsecast.warehouse import WarehouseBusy, reader


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _warehouse_busy(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry only what waiting can fix: the writer lock held past its timeout."""
    try:
        state.result()
    except WarehouseBusy:
        return True
    except Exception:
        return False
    return False


@task(name="read-request", task_run_name="read {request.campaign}", cache_policy=NO_CACHE)
def read_request(settings: Settings, request: SimulationRequest) -> tuple[Inputs, str, tuple | None, float]:
    """The request's inputs, checked; its cache key and the cached result if any; the seconds it took."""
    started = time.perf_counter()
    if not settings.warehouse.exists():
        raise ValueError(f"no warehouse at {settings.warehouse}: run `pulsecast run` first")
    with reader(settings) as con:
        inputs = read_inputs(con, request.campaign)
        running_channels(request, inputs)
        key = store.cache_key(request, inputs)
        hit = store.cached(con, key)
    return inputs, key, hit, time.perf_counter() - started


@task(name="simulate-campaign", task_run_name="simulate {request.campaign}", cache_policy=NO_CACHE)
def simulate_campaign(request: SimulationRequest, inputs: Inputs) -> tuple[Simulation, float]:
    started = time.perf_counter()
    return simulate(request, inputs), time.perf_counter() - started


@task(name="record-simulations", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=10,
      retry_condition_fn=_warehouse_busy)
def record(settings: Settings, records: list[store.Record]) -> int:
    return store.write(settings, records)


@flow(name="simulate", log_prints=True)
def simulate_what_if(request: SimulationRequest) -> str:
    """One what-if, its trajectory recorded in `ml.simulations` under this run's id, which it returns."""
    return simulate_requests([request], [flow_run.get_id() or str(uuid.uuid4())])[0]


@flow(name="simulate-batch", log_prints=True, task_runner=fan_out(ThreadPoolTaskRunner(max_workers=2)))
def simulate_batch(requests: list[SimulationRequest]) -> list[str]:
    """Many what-ifs at once (the batch queue's work), simulated side by side; returns their request ids."""
    return simulate_requests(requests, [str(uuid.uuid4()) for _ in requests])


def simulate_requests(requests: list[SimulationRequest], ids: list[str]) -> list[str]:
    """Every request simulated (or served from the cache) and recorded under its id. A bad request is recorded
    as failed beside the others, and the run fails once they are all recorded."""
    settings = get_settings()
    created = _now()
    records: dict[int, store.Record] = {}
    pending: dict[int, tuple[PrefectFuture, str, float]] = {}
    for i, request in enumerate(requests):
        try:
            inputs, key, hit, read_s = read_request(settings, request)
        except ValueError as error:
            records[i] = store.Record(ids[i], request, None, created, _now(), 0.0, error=str(error))
            continue
        if hit is not None:
            origin, result = hit
            records[i] = store.Record(ids[i], request, key, created, _now(), read_s, result=result, cached_from=origin)
        else:
            pending[i] = (simulate_campaign.submit(request, inputs), key, read_s)
    for i, (future, key, read_s) in pending.items():
        try:
            simulation, compute_s = future.result()
        except ValueError as error:
            records[i] = store.Record(ids[i], requests[i], key, created, _now(), read_s, error=str(error))
            continue
        records[i] = store.Record(ids[i], requests[i], key, created, _now(), read_s, compute_s,
                                  store.as_result(simulation), cached_from=ids[i])
    ordered = [records[i] for i in range(len(requests))]
    record(settings, ordered)
    publish(_report(ordered), key="simulations")
    failed = [r for r in ordered if r.error]
    if failed:
        raise ValueError("; ".join(str(r.error) for r in failed))
    return ids


def _report(records: list[store.Record]) -> Report:
    rows = []
    for record in records:
        row = {"request_id": record.request_id, "campaign": record.request.campaign,
               "status": "failed" if record.error else "cached" if record.cached_from != record.request_id
               else "computed"}
        if record.error:
            row["error"] = record.error
        for total in json.loads(record.result["totals"]) if record.result else []:
            row[f"{total['measure']}_lift_p50"] = total["lift_p50"]
        rows.append(row)
    return Report(f"{len(records)} what-if simulation(s)",
                  ["Results in `ml.simulations`; read them with `pulsecast simulations [ID]`."],
                  [Table("Requests (lift over the horizon, median)", rows)])
