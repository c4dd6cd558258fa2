"""Flow `pipeline`: the main job, from landing files to marts, forecasts and the campaign outlook, reading like its
own table of contents."""

from __future__ import annotations

from prefect import flow, task

from pulsecast.flows.artifacts import publish
from pulsecast.flows.decide import decide
from pulsecast.flows.generate import generate_events
from pulsecast.flows.ingest import ingest
from pulsecast.flows.train import train
from pulsecast.flows.transform import transform
from pulsecast.generator import GenerationMode, WorldConfig
from pulsecast.ingest.checkpoint import run_checkpoint
from pulsecast.ingest.landing import pending_files
from pulsecast.metrics.freshness import freshness
from pulsecast.ml.outlook.config import DecideConfig
from pulsecast.ml.training import TrainConfig
from pulsecast.report import checkpoint_report, status_report
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
    """Generate a demo world on an empty data folder, ingest new files, check the day's loads (Great Expectations
    checkpoint and Data Docs), build the marts, forecast and decide (the campaign outlook), summarise."""
    settings = get_settings()
    if is_empty(settings):
        print(f"Empty data folder {settings.data_dir.resolve()}: generating a demo world")
        generate_events(mode=GenerationMode.backfill, world=world)
    ingest()
    check_quality()
    transform(full_refresh=full_refresh)
    if forecast:
        train(training)
        decide(outlook)
    status = warehouse_status(settings)
    publish(status_report(status, str(settings.warehouse), freshness(settings)), key="pipeline-summary")
    return status.counts


@task(name="great-expectations-checkpoint")
def check_quality() -> bool:
    """The contract suite over the last day's loads, kept in the Data Docs. A failure is reported, not raised:
    the rows are loaded already, and the contract's row rules quarantined what they could see."""
    result = run_checkpoint(get_settings())
    publish(checkpoint_report(result), key="data-quality")
    return result.success


def is_empty(settings: Settings) -> bool:
    return not pending_files(settings.landing) and warehouse_status(settings) is None
