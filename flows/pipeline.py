"""Flow `pipeline`: the main job, from landing files to marts and forecasts, reading like its own table of contents."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.generate import generate_events
from flows.ingest import ingest
from flows.train import train
from flows.transform import transform
from ml.training import TrainConfig
from pulsecast.generator import WorldConfig
from pulsecast.generator.config import GenerationMode
from pulsecast.ingest.landing import pending_files
from pulsecast.settings import Settings, get_settings
from pulsecast.status import Status, warehouse_status


@flow(name="pipeline", log_prints=True)
def pipeline(
    world: WorldConfig = WorldConfig(),
    full_refresh: bool = False,
    forecast: bool = True,
    training: TrainConfig = TrainConfig(),
) -> dict[str, int]:
    """Generate a demo world on an empty data folder, ingest new files, build the marts, forecast, summarise."""
    settings = get_settings()
    if is_empty(settings):
        print(f"Empty data folder {settings.data_dir.resolve()}: generating a demo world")
        generate_events(mode=GenerationMode.backfill, world=world)
    ingest()
    transform(full_refresh=full_refresh)
    if forecast:
        train(training)
    status = warehouse_status(settings)
    summarise(settings, status)
    return status.counts


def is_empty(settings: Settings) -> bool:
    return not pending_files(settings.landing) and warehouse_status(settings) is None


def summarise(settings: Settings, status: Status) -> None:
    acc = status.accounting
    verdict = "holds for every file" if acc.holds else "BROKEN: " + ", ".join(acc.unbalanced_files)
    counts = "\n".join(f"| {table} | {n:,} |" for table, n in status.counts.items())
    markdown = f"""## Pulsecast pipeline

| table | rows |
|---|---|
{counts}

Accounting: rows read {acc.rows_read:,} = loaded {acc.rows_loaded:,} + quarantined {acc.rows_quarantined:,}
+ duplicates {acc.rows_duplicate:,}: {verdict}.

Warehouse: `{settings.warehouse}`. Browse the models with `make docs`; query with `duckdb {settings.warehouse}`.
"""
    create_markdown_artifact(key="pipeline-summary", markdown=markdown, description="What the warehouse holds")
    print(markdown)
