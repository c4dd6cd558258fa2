"""A generated campaign world, ingested, built and published: what the read API and `pulsecast metrics` read."""

from __future__ import annotations

from pathlib import Path

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.settings import Settings


def published_world(data_dir: Path, config: WorldConfig) -> Settings:
    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    generate_backfill(config, settings.landing, settings.truth)
    ingest_run(settings)
    build(settings)
    return settings
