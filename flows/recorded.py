"""A flow started from the command line, run until Prefect's temporary server has recorded all of it.

Task runs reach the server as events, which its task-run recorder writes one at a time, so at the end of a
busy flow it is seconds behind the flow. The CLI's process used to exit as soon as the flow returned; the
temporary server was then stopped mid-write, printing `Error flushing 1 events` and tracebacks for a run
that succeeded, and dropping the task runs still queued (the transform flow's run showed 226 of its 259
task runs). So the CLI sends what the client still holds and waits until the recorder is idle before the
server stops.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from prefect import Flow
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import TERMINAL_STATES
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

log = logging.getLogger(__name__)

R = TypeVar("R")

POLL_S = 0.5
STEADY_POLLS = 2
"""The recorder writes each event as it comes: counts unchanged over this many polls mean nothing is queued."""
MAX_WAIT_S = 60.0
"""Past this the CLI exits anyway, and the server's stop may cut a write short as it used to."""


def run_recorded(flow: Flow[..., R], *args: Any, **kwargs: Any) -> R:
    """The flow's result (or its exception), once the temporary server holds every task run it made."""
    if get_current_settings().api.url is not None:  # a configured server: it outlives this process
        return flow(*args, **kwargs)
    with temporary_server():
        state = flow(*args, return_state=True, **kwargs)
        started = time.monotonic()
        wait_until_recorded(state.state_details.flow_run_id)
        log.debug("the server recorded the run %.1f s after it ended", time.monotonic() - started)
    return state.result()


@contextmanager
def temporary_server() -> Iterator[None]:
    """Prefect's temporary server, started once for the process (stopped at its exit) and its address exported
    while the flow runs. Why: left to Prefect, every worker of a process pool (the train flow's) found no
    server configured and started a temporary server of its own, about 12 s each, and recorded its task runs
    there, on a server gone with the worker."""
    server = SubprocessASGIServer()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network to send it to
    server.start()
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # the pool's workers read their settings from it
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        if before is None:
            del os.environ["PREFECT_API_URL"]
        else:
            os.environ["PREFECT_API_URL"] = before


def wait_until_recorded(flow_run_id: UUID, max_wait_s: float = MAX_WAIT_S) -> None:
    """Send what the client still queues, then wait until the task-run counts of the run and its subflows
    stop changing (or `max_wait_s` passes)."""
    with _quiet(APILogWorker, EventsWorker):  # their "Still processing items" note is no news here
        APILogWorker.drain_all()
        EventsWorker.drain_all()
    deadline = time.monotonic() + max_wait_s
    with get_client(sync_client=True) as client:
        runs = run_tree(client, flow_run_id)
        seen, steady = None, 0
        while steady < STEADY_POLLS and time.monotonic() < deadline:
            counts = task_run_counts(client, runs)
            steady = steady + 1 if counts == seen else 0
            seen = counts
            time.sleep(POLL_S)


@contextmanager
def _quiet(*services: type) -> Iterator[None]:
    loggers = [logging.getLogger(service.__name__) for service in services]  # as QueueService names them
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_tree(client: SyncPrefectClient, root: UUID) -> list[UUID]:
    """The run and its subflow runs, at any depth (subflow runs are created through the API, not as events)."""
    tree, frontier = [root], [root]
    while frontier:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier))
        )
        frontier = [run.id for run in children if run.id not in tree]
        tree += frontier
    return tree


def task_run_counts(client: SyncPrefectClient, runs: list[UUID]) -> tuple[int, int]:
    """(task runs recorded, of which in a final state) for the given flow runs."""
    of_runs = TaskRunFilterFlowRunId(any_=runs)
    final = TaskRunFilterState(type=TaskRunFilterStateType(any_=list(TERMINAL_STATES)))
    return (
        _count(client, TaskRunFilter(flow_run_id=of_runs)),
        _count(client, TaskRunFilter(flow_run_id=of_runs, state=final)),
    )


def _count(client: SyncPrefectClient, task_runs: TaskRunFilter) -> int:
    response = client.request("POST", "/task_runs/count", json={"task_runs": task_runs.model_dump(mode="json")})
    response.raise_for_status()
    return int(response.json())
