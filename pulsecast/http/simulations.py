"""What-if simulations over HTTP: `POST /api/simulations` submits one, `GET /api/simulations/{job}` polls it.

A submission takes `pulsecast simulate`'s path (`flows.what_if`): a repeat is answered from `ml.simulations`;
with a Prefect server serving the `simulate` deployment it goes to the `interactive` queue; otherwise the flow
runs in this process, one at a time, on a worker thread (the first run of a process starts Prefect's temporary
server: tens of seconds). The job is the key's own: another key polling it gets 404, as for a job that does not
exist. The campaign is checked against the key's scope first (the same 404 as a campaign that does not exist).

The results are read from `ml.simulations` in the warehouse (read-only), not from a published snapshot: a
simulation is one request's answer, recorded once, not a mart that a publish refreshes.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from pulsecast.flows import what_if
from pulsecast.http.access import caller
from pulsecast.keys import KeyRecord
from pulsecast.metrics.api import Metrics
from pulsecast.ml import simulation_store as store
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.settings import Settings

router = APIRouter(prefix="/api")


@dataclass
class Job:
    key_id: str
    campaign: str
    request_id: str | None = None
    error: str | None = None
    done: bool = False


class Jobs:
    """Submitted what-ifs of this process, each run by `flows.what_if` on one worker thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="what-if")

    def submit(self, key_id: str, request: SimulationRequest) -> str:
        job_id = str(uuid.uuid4())
        with self._lock:
            self._jobs[job_id] = Job(key_id, request.campaign)
        self._pool.submit(self._run, job_id, request)
        return job_id

    def get(self, job_id: str, key_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.key_id == key_id else None

    def _run(self, job_id: str, request: SimulationRequest) -> None:
        job = self._jobs[job_id]
        try:
            request_id = what_if.from_cache(self._settings, request) or what_if.submitted(request, wait=False)
            job.request_id = request_id or what_if.run_here(request)
        except Exception as error:  # a bad request fails the flow, which recorded it; the reason is the answer
            job.error = str(error)
        finally:
            job.done = True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@router.post("/simulations", status_code=202, summary="Submit a what-if simulation; poll /api/simulations/{job}.")
async def submit(request: Request, body: SimulationRequest, record: KeyRecord = Depends(caller)) -> Response:
    metrics: Metrics = request.app.state.metrics
    metrics.ask("pacing", scope=record.scope, campaign=body.campaign)  # 404 outside the scope, 403 for owners
    job_id = request.app.state.jobs.submit(record.key_id, body)
    request.state.rows = 1
    return Response(orjson.dumps({"job": job_id, "status": "running"}), 202, media_type="application/json")


@router.get("/simulations/{job_id}", summary="A submitted what-if: running, failed, or its trajectory and totals.")
async def poll(request: Request, job_id: str, record: KeyRecord = Depends(caller)) -> Response:
    job: Job | None = request.app.state.jobs.get(job_id, record.key_id)
    if job is None:
        raise HTTPException(404, f"no simulation job {job_id!r}")
    body: dict = {"job": job_id, "campaign": job.campaign, "status": "running", "request_id": job.request_id}
    if job.error:
        body |= {"status": "failed", "error": job.error}
    elif job.request_id:
        settings: Settings = request.app.state.settings
        body |= await run_in_threadpool(_recorded, settings, job.request_id)
    request.state.rows = 1
    return Response(orjson.dumps(body), media_type="application/json")


def _recorded(settings: Settings, request_id: str) -> dict:
    """The recorded result, or still running (a queued run the worker has not recorded yet)."""
    try:
        row = store.read(settings, request_id).iloc[0]
    except KeyError:
        return {"status": "running"}
    if row["status"] == "failed":
        return {"status": "failed", "error": row["error"]}
    return {
        "status": "completed",
        "cached": bool(row["cache_hit"]),
        "parameters": json.loads(row["parameters"]),
        "notes": json.loads(row["notes"]),
        "totals": json.loads(row["totals"]),
        "trajectory": json.loads(row["trajectory"]),
    }
