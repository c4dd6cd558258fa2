"""Flow `pipeline`: the main job, from landing files to marts, forecasts and the campaign outlook, reading like its
own table of contents."""

from __future__ import annotations

from prefect import flow

from pulsecast.flows.artifacts import publish
from pulsecast.flows.decide import decide
from pulsecast.flows.generate import generate_events
from pulsecast.flows.ingest import ingest
from pulsecast.flows.train import train
from pulsecast.flows.transform import transform
from pulsecast.generator import GenerationMode, WorldConfig
from pulsecast.ingest.landing import pending_files
from pulsecast.metrics.freshness import freshness
from pulsecast.ml.outlook.config import DecideConfig
from pulsecast.ml.training import TrainConfig
from pulsecast.report import status_report
from pulsecast.settings import Settings, get_settings
from pulsecast.status import warehouse_status


@flow(name="pipeline", log_prints=True)
def pipeline(
    world: WorldConfig = WorldConfig(),
    full_refresh: bool = False,
    forecast: bool = True,
    training: TrainConfig = TrainConfig(),
    outlook: DecideConfig = DecideConfig(),
) -> dict[str, int]:
    """Generate a demo world on an empty data folder, ingest new files, build the marts, forecast and decide (the
    campaign outlook), summarise."""
    settings = get_settings()
    if is_empty(settings):
        print(f"Empty data folder {settings.data_dir.resolve()}: generating a demo world")
        generate_events(mode=GenerationMode.backfill, world=world)
    ingest()
    transform(full_refresh=full_refresh)
    if forecast:
        train(training)
        decide(outlook)
    status = warehouse_status(settings)
    publish(status_report(status, str(settings.warehouse), freshness(settings)), key="pipeline-summary")
    return status.counts


def is_empty(settings: Settings) -> bool:
    return not pending_files(settings.landing) and warehouse_status(settings) is None
