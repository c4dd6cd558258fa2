"""A small generated world, ingested and built: what the `simulate` flow reads (tests/test_simulate.py and
tests/test_dask.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from world_support import published_world

from pulsecast.generator import WorldConfig
from pulsecast.settings import Settings

SMALL = WorldConfig(seed=3, days=45, campaigns=3, events_per_day=8_000, end=datetime(2026, 11, 21, tzinfo=UTC))


def small_world(data_dir: Path) -> Settings:
    return published_world(data_dir, SMALL)
