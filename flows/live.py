"""Flow `live`: the live loop. Files that land are ingested, the marts refreshed and a snapshot published, one
task per micro-batch, seconds after they land, until the run's deployment is paused.

`make serve` keeps one run of the `live` deployment going while the deployment is not paused (housekeeping's
`keep_going`): pausing it in the UI ends the run after the batch in progress, resuming starts a new run that
catches up with everything that landed meanwhile. A run started without a deployment goes on until cancelled.
"""

from __future__ import annotations

from uuid import UUID

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import deployment

from pulsecast.flows.artifacts import publish
from pulsecast.live import MicroBatch, micro_batch, watch
from pulsecast.metrics.freshness import freshness
from pulsecast.report import live_report
from pulsecast.settings import Settings, get_settings


@task(name="micro-batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=10)
def micro_batch_task(settings: Settings) -> MicroBatch:
    """Retried once: a batch that waited too long for the writer lock (the daily build) succeeds the next time."""
    batch = micro_batch(settings)
    publish(live_report(batch, freshness(settings)), key="live")
    return batch


@flow(name="live", log_prints=True)
def live(poll_seconds: float = 0.5) -> dict[str, int]:
    """Watch the landing folder and publish what lands, until this run's deployment is paused."""
    settings = get_settings()
    deployment_id = deployment.id
    with get_client(sync_client=True) as client:

        def paused() -> bool:
            return deployment_id is not None and client.read_deployment(UUID(deployment_id)).paused

        batches = watch(settings, lambda: micro_batch_task(settings), paused, poll_seconds)
    print(f"The deployment is paused: stopped after {batches} micro-batch(es); resuming it catches up.")
    return {"batches": batches}
