"""Flow `generate-events`: the campaign-world simulation, as a backfill or one live micro-batch.

Deployed with a one-minute schedule in live mode, it is the "persistent simulation": the world's state
lives in the data folder, so pausing the schedule in the Prefect UI stops the world, resuming continues it,
and restarts of the server or worker lose nothing.
"""

from __future__ import annotations

from prefect import flow

from pulsecast.generator import GenerationMode, WorldConfig, generate
from pulsecast.settings import get_settings


@flow(name="generate-events", log_prints=True)
def generate_events(mode: GenerationMode = GenerationMode.live, world: WorldConfig = WorldConfig()) -> dict[str, int]:
    """Write events, dimensions and market signals into the landing folder; ground truth goes beside them."""
    report = generate(get_settings(), mode, world)
    print(f"{mode.value}: {report.describe()}")
    return {"files": len(report.files), "events": report.events_written}
