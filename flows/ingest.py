"""Flow `ingest`: load every new landing file exactly once, one Prefect task per file."""

from __future__ import annotations

from pathlib import Path

import duckdb
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pulsecast.ingest import FileResult, RunSummary, ingest_file, ingest_run
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
    report(summary)
    return totals(summary)


def totals(summary: RunSummary) -> dict[str, int]:
    fields = ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    return {"files": len(summary.files)} | {name: summary.total(name) for name in fields}


def report(summary: RunSummary) -> None:
    print(f"Ingested {len(summary.files)} file(s): {totals(summary)}; audit: {summary.audit.summary}")
    if summary.files:
        create_table_artifact(
            key="ingest-files",
            table=[
                {
                    "file": f.file_name,
                    "status": f.status,
                    "read": f.rows_read,
                    "loaded": f.rows_loaded,
                    "quarantined": f.rows_quarantined,
                    "duplicates": f.rows_duplicate,
                    "note": f.reason or "",
                }
                for f in summary.files
            ],
            description=f"Files processed by this run. Great Expectations audit: {summary.audit.summary}.",
        )


if __name__ == "__main__":
    ingest()
