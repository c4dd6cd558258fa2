"""A generated campaign world, ingested, built and published: what the read API and `pulsecast metrics` read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.ml.training import TrainConfig
from pulsecast.settings import Settings


def generated_holding_back(root: Path, config: WorldConfig, files: int) -> tuple[Settings, list[Path]]:
    """A generated world in `root/data`'s landing folder but for its last `files` event files, moved aside into
    `root` to land later: the settings and those files, oldest first."""
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    report = generate_backfill(config, settings.landing, settings.truth)
    return settings, [Path(shutil.move(path, root / path.name)) for path in sorted(report.event_files)[-files:]]


def published_world(data_dir: Path, config: WorldConfig) -> Settings:
    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    generate_backfill(config, settings.landing, settings.truth)
    ingest_run(settings)
    build(settings)
    return settings


def trained_world(data_dir: Path, config: WorldConfig, training: TrainConfig) -> Settings:
    """A published world, then the real train flow on it (which reads its settings from the environment)."""
    from pulsecast.flows.train import train

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PULSECAST_DATA_DIR", str(data_dir))
        settings = published_world(data_dir, config)
        train(training)
    return settings
