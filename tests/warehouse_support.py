"""Build the warehouse as the transform flow does (dbt build, then publish the marts), without Prefect."""

from __future__ import annotations

import sys
from pathlib import Path

from pulsecast.metrics import snapshot
from pulsecast.settings import DBT_PROJECT_DIR, Settings, exported
from pulsecast.warehouse import writer_lock


def build_and_publish(settings: Settings) -> None:
    from dbt.cli.main import dbtRunner

    with writer_lock(settings, "test build"), exported(settings):
        result = dbtRunner().invoke(
            ["build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"]
        )
        if not result.success:
            raise RuntimeError(f"dbt build failed: {result.exception or result.result}")
        snapshot.publish(settings)


if __name__ == "__main__":  # a writer process for concurrency tests: python warehouse_support.py DATA_DIR
    build_and_publish(Settings(data_dir=Path(sys.argv[1])))
