"""Flow `ingest`: load every new landing file exactly once, one Prefect task per file."""

from __future__ import annotations

from pathlib import Path

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pulsecast.flows.artifacts import publish
from pulsecast.ingest import FileResult, ingest_file, ingest_run
from pulsecast.metrics.freshness import freshness
from pulsecast.report import ingest_report
from pulsecast.settings import Settings, get_settings


@task(name="ingest-file", task_run_name="ingest {path.name}", cache_policy=NO_CACHE)
def ingest_file_task(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path, run_id: str) -> FileResult:
    return ingest_file(con, settings, path, run_id)


@flow(name="ingest", log_prints=True)
def ingest() -> dict[str, int]:
    """Validate, deduplicate and load new files from the landing folder; quarantine what breaks the contract.

    Runs wait for each other on the warehouse writer lock, so a scheduled and a manual run never overlap.
    """
    settings = get_settings()
    summary = ingest_run(settings, run_id=flow_run.get_id(), load_file=ingest_file_task)
    publish(ingest_report(summary, freshness(settings)), key="ingest-files")
    return summary.totals()
