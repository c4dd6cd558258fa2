"""Flow `generate-events`: the campaign-world simulation, as a backfill or one live micro-batch.

Deployed with a one-minute schedule in live mode, it is the "persistent simulation": the world's state
lives in the data folder, so pausing the schedule in the Prefect UI stops the world, resuming continues it,
and restarts of the server or worker lose nothing.
"""

from __future__ import annotations

from prefect import flow

from pulsecast.generator import WorldConfig, generate_backfill, generate_live
from pulsecast.generator.config import GenerationMode
from pulsecast.settings import get_settings


@flow(name="generate-events", log_prints=True)
def generate_events(mode: GenerationMode = GenerationMode.live, world: WorldConfig = WorldConfig()) -> dict[str, int]:
    """Write events, dimensions and market signals into the landing folder; ground truth goes beside them."""
    settings = get_settings()
    settings.ensure_dirs()
    if mode is GenerationMode.backfill:
        report = generate_backfill(world, settings.landing, settings.truth)
    else:
        report = generate_live(world, settings.landing, settings.truth, settings.simulation_state)
    print(
        f"{mode.value}: {report.events_written:,} events ({report.duplicates_written:,} re-sent, "
        f"{report.late_events:,} late) in {len(report.files)} file(s)"
    )
    return {"files": len(report.files), "events": report.events_written}


if __name__ == "__main__":
    generate_events()
