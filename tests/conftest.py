"""Shared fixtures: a fresh data folder per test, and one Prefect test harness per session (it takes ~12 s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pulsecast.settings import Settings, get_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing every path at a temp data folder, also for code that reads the environment."""
    monkeypatch.setenv("PULSECAST_DATA_DIR", str(tmp_path / "data"))
    resolved = get_settings()
    resolved.ensure_dirs()
    return resolved


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A small published world behind a real API server on loopback, with a key per principal (tests/api_support)."""
    from api_support import api_world

    with api_world(tmp_path_factory.mktemp("api") / "data") as world:
        yield world
