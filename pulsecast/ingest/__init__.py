"""Exactly-once ingestion of landing files into the raw schema."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pulsecast.ingest.audit import AuditResult, audit_run
from pulsecast.ingest.landing import pending_files
from pulsecast.ingest.load import FileResult, ingest_file
from pulsecast.ingest.mark import write_mark
from pulsecast.settings import Settings
from pulsecast.warehouse import writer

log = logging.getLogger(__name__)

LoadFile = Callable[[duckdb.DuckDBPyConnection, Settings, Path, str], FileResult]


@dataclass
class RunSummary:
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    audit: AuditResult | None = None

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    def totals(self) -> dict[str, int]:
        """Files seen and the four accounting counts, summed over them."""
        counts = ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
        return {"files": len(self.files)} | {name: self.total(name) for name in counts}


def ingest_run(settings: Settings, run_id: str | None = None, load_file: LoadFile = ingest_file) -> RunSummary:
    """Ingest everything in the landing folder under the writer lock, then audit what was loaded.

    Discovery happens after the lock is held, so a run that waited for another sees only what is left.
    `load_file` lets the Prefect flow wrap each file in a task without changing what happens to it. Last, the
    run says beside the snapshots how far ingestion got (`mark`), for readers' freshness.
    """
    summary = RunSummary(run_id or uuid.uuid4().hex)
    settings.ensure_dirs()
    with writer(settings, f"ingest run {summary.run_id}") as con:
        con.execute("INSERT INTO raw.ingest_runs (run_id, started_at) VALUES (?, now())", [summary.run_id])
        for path in pending_files(settings.landing):
            summary.files.append(load_file(con, settings, path, summary.run_id))
        summary.audit = audit_run(con, summary.run_id, settings.future_tolerance_hours)
        con.execute(
            """UPDATE raw.ingest_runs SET finished_at = now(), files_seen = ?, rows_loaded = ?,
               audit_success = ?, audit_summary = ? WHERE run_id = ?""",
            [
                len(summary.files),
                summary.total("rows_loaded"),
                summary.audit.success,
                summary.audit.summary,
                summary.run_id,
            ],
        )
        write_mark(con, settings)
    return summary


__all__ = ["FileResult", "RunSummary", "ingest_file", "ingest_run"]
