"""Flow `generate-events`: the campaign-world simulation, as a backfill or one live micro-batch.

Deployed with a one-minute schedule in live mode, it is the "persistent simulation": the world's state
lives in the data folder, so pausing the schedule in the Prefect UI stops the world, resuming continues it,
and restarts of the server or worker lose nothing.
"""

from __future__ import annotations

from prefect import flow
from pydantic import BaseModel, Field

from pulsecast.contract import FileFormat, GenerationMode
from pulsecast.generator import WorldConfig, generate_backfill, generate_live
from pulsecast.settings import get_settings


class WorldParameters(BaseModel):
    """The knobs of a generated world, shown as a form in the Prefect UI."""

    seed: int = Field(7, description="Same seed, same world.")
    days: int = Field(90, ge=1, le=3650, description="Days of history for a backfill.")
    campaigns: int = Field(30, ge=1, le=2000)
    events_per_day: int = Field(12_000, ge=1, description="Base event rate across the world.")
    high_growth: float = Field(1.0, ge=0.1, le=100, description="Multiplies the event rate.")
    file_format: FileFormat = FileFormat.jsonl
    late_share: float = Field(0.02, ge=0, le=0.5, description="Share of events delivered hours late.")
    duplicate_share: float = Field(0.01, ge=0, le=0.5, description="Share of events re-sent in another file.")

    def config(self) -> WorldConfig:
        return WorldConfig(**self.model_dump())


@flow(name="generate-events", log_prints=True)
def generate_events(
    mode: GenerationMode = GenerationMode.live, world: WorldParameters = WorldParameters()
) -> dict[str, int]:
    """Write events, dimensions and market signals into the landing folder; ground truth goes beside them."""
    settings = get_settings()
    settings.ensure_dirs()
    if mode is GenerationMode.backfill:
        report = generate_backfill(world.config(), settings.landing, settings.truth)
    else:
        report = generate_live(world.config(), settings.landing, settings.truth, settings.simulation_state)
    print(
        f"{mode.value}: {report.events_written:,} events ({report.duplicates_written:,} re-sent, "
        f"{report.late_events:,} late) in {len(report.files)} file(s)"
    )
    return {"files": len(report.files), "events": report.events_written}


if __name__ == "__main__":
    generate_events()
