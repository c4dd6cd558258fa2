"""Asking a what-if, one path for the CLI (`pulsecast simulate`) and the HTTP API (`POST /api/simulations`).

1. `from_cache`: the request looked up in `ml.simulations` under the flow's own cache key; a repeat is recorded
   as a cache hit without starting any flow;
2. `submitted`: with a Prefect server that serves the `simulate` deployment, a run on its `interactive` queue
   (its flow run id is the request id);
3. `run_here`: otherwise the `simulate` flow runs in this process, as `pulsecast decide` does.
Prefect is imported only when a flow is needed: a cached answer costs a look-up.
"""

from __future__ import annotations

import time
import uuid

from pulsecast.ml import simulation_store as store
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.settings import Settings
from pulsecast.warehouse import reader

DEPLOYMENT = "simulate/simulate"
QUEUE = "interactive"


def from_cache(settings: Settings, request: SimulationRequest) -> str | None:
    """The id of this request recorded as a cache hit, when an earlier request with its cache key completed;
    None on a miss, and for a bad request or a missing warehouse, which the flow records and reports."""
    if not settings.warehouse.exists():
        return None
    created, started = store.now(), time.perf_counter()
    try:
        with reader(settings) as con:
            _, key, hit = store.look_up(con, request)
    except ValueError:
        return None
    if hit is None:
        return None
    record = store.served_from_cache(str(uuid.uuid4()), request, key, hit, created, time.perf_counter() - started)
    store.write(settings, [record])
    return record.request_id


def submitted(request: SimulationRequest, wait: bool) -> str | None:
    """The flow run id of a run of the served deployment on the interactive queue, or None without a server or
    deployment (the caller then runs the flow here)."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import get_current_settings

    if get_current_settings().api.url is None:
        return None
    try:
        run = run_deployment(DEPLOYMENT, parameters={"request": request.model_dump(mode="json")},
                             work_queue_name=QUEUE, timeout=None if wait else 0, poll_interval=1, as_subflow=False)
    except ObjectNotFound:
        return None
    if wait and not (run.state and run.state.is_completed()):
        state = run.state
        raise RuntimeError(f"simulation {run.id} ended {state.name if state else 'without a state'}: "
                           f"{state.message if state else ''}")
    return str(run.id)


def run_here(request: SimulationRequest) -> str:
    """Run the `simulate` flow in this process; the request id it recorded (failed requests are recorded too)."""
    from pulsecast.flows.recorded import run_recorded
    from pulsecast.flows.simulate import simulate_what_if

    return run_recorded(simulate_what_if, request)
