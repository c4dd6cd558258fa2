"""What `make serve` tidies through the Prefect API so a restart, a dead worker or a pause leaves nothing stuck.

Prefect covers most of it: deployment concurrency with `CANCEL_NEW` (prefect.yaml) keeps an every-minute
deployment from queueing behind itself, and leases on disk let the server revoke a slot whose holder vanished.
Four things it leaves to the operator, and these functions do them:

- a run whose worker died stays `Pending` / `Running` and holds its deployment's slot: crash it (a forced
  terminal state releases the slot), unless the process that runs it is still alive;
- after a stop, every missed minute is a late run, and a worker would start them all at once: keep the newest
  late auto-scheduled run of each deployment and delete the others;
- pausing a deployment deletes its future runs, not its late ones, and `prefect deploy` un-pauses it: delete
  a paused deployment's scheduled runs, and pause it again after each deploy;
- a deployment whose run is meant to go on for good (the live loop, tagged `always-on`) has no schedule to
  start it again once it ended (paused, crashed, failed): start a run whenever it has none and is not paused.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.sorting import FlowRunSort
from prefect.states import Cancelled, Crashed

HELD = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)
"""States in which a run holds its deployment's concurrency slot."""
ALWAYS_ON = "always-on"
"""The tag of a deployment whose one run serve keeps going while the deployment is not paused."""


@dataclass
class Tidied:
    """What one pass changed, for a sentence in the serve log."""

    crashed: list[str] = field(default_factory=list)
    late_dropped: dict[str, int] = field(default_factory=dict)
    paused_dropped: dict[str, int] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        said = []
        if self.crashed:
            said.append(
                f"Marked {len(self.crashed)} run(s) left by a stopped worker as crashed: {', '.join(self.crashed)}."
            )
        if self.late_dropped:
            counts = ", ".join(f"{name} {n}" for name, n in self.late_dropped.items())
            said.append(f"Dropped late runs (the newest of each deployment still runs): {counts}.")
        if self.paused_dropped:
            counts = ", ".join(f"{name} {n}" for name, n in self.paused_dropped.items())
            said.append(f"Dropped scheduled runs of paused deployments: {counts}.")
        if self.started:
            said.append(f"Started a run of the always-on deployment(s) {', '.join(self.started)} (none was going).")
        return said


def pool_deployments(client: SyncPrefectClient, pool: str) -> list[DeploymentResponse]:
    return client.read_deployments(work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])))


def paused_names(client: SyncPrefectClient, pool: str) -> set[str]:
    return {d.name for d in pool_deployments(client, pool) if d.paused}


def pause_again(client: SyncPrefectClient, pool: str, names: Iterable[str]) -> None:
    """Pause the named deployments (a re-deploy resumes them)."""
    wanted = set(names)
    for deployment in pool_deployments(client, pool):
        if deployment.name in wanted and not deployment.paused:
            client.pause_deployment(deployment.id)


def _runs(client: SyncPrefectClient, deployments: dict[UUID, str], states: Iterable[StateType]) -> list[FlowRun]:
    if not deployments:
        return []
    return client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=list(deployments)),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states))),
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
    )


def _process_alive(infrastructure_pid: str | None) -> bool:
    """Whether the flow-run process a process worker recorded (`host:pid`) still runs on this machine."""
    if not infrastructure_pid or ":" not in infrastructure_pid:
        return False
    host, _, pid = infrastructure_pid.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def crash_orphans(client: SyncPrefectClient, deployments: dict[UUID, str], tidied: Tidied) -> None:
    """Runs held by no live process: cancelling ones become Cancelled, the others Crashed; slots are released."""
    for run in _runs(client, deployments, HELD):
        if _process_alive(run.infrastructure_pid):
            continue
        message = "The worker running it stopped (pulsecast serve recovered the run on start)."
        state = Cancelled(message=message) if run.state_type is StateType.CANCELLING else Crashed(message=message)
        client.set_flow_run_state(run.id, state, force=True)
        tidied.crashed.append(f"{deployments[run.deployment_id]}/{run.name}")


def drop_late_and_paused(
    client: SyncPrefectClient, deployments: dict[UUID, str], paused: set[str], tidied: Tidied
) -> None:
    """Keep one late auto-scheduled run per running deployment; none of a paused one's. Manual runs stay."""
    now = datetime.now(UTC)
    kept: set[UUID] = set()
    for run in _runs(client, deployments, [StateType.SCHEDULED]):  # newest first
        name = deployments[run.deployment_id]
        if not run.auto_scheduled or run.run_count or run.state_name == "AwaitingConcurrencySlot":
            continue
        late = run.expected_start_time is not None and run.expected_start_time <= now
        if name in paused:
            tally = tidied.paused_dropped
        elif late and run.deployment_id in kept:
            tally = tidied.late_dropped
        else:
            if late:
                kept.add(run.deployment_id)
            continue
        client.delete_flow_run(run.id)
        tally[name] = tally.get(name, 0) + 1


def keep_going(client: SyncPrefectClient, listed: list[DeploymentResponse], tidied: Tidied) -> None:
    """Start a run of each unpaused always-on deployment that has none scheduled, pending or running."""
    for deployment in listed:
        if ALWAYS_ON not in deployment.tags or deployment.paused:
            continue
        if not _runs(client, {deployment.id: deployment.name}, [StateType.SCHEDULED, *HELD]):
            client.create_flow_run_from_deployment(deployment.id)
            tidied.started.append(deployment.name)


def tidy(client: SyncPrefectClient, pool: str, *, worker_alive: bool) -> Tidied:
    """One pass. Orphans are only judged while no worker runs: a live worker's Pending runs are its own."""
    listed = pool_deployments(client, pool)
    deployments = {d.id: d.name for d in listed}
    paused = {d.name for d in listed if d.paused}
    tidied = Tidied()
    if not worker_alive:
        crash_orphans(client, deployments, tidied)
    drop_late_and_paused(client, deployments, paused, tidied)
    keep_going(client, listed, tidied)
    return tidied
