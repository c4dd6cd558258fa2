"""What is in the warehouse and whether the ingestion accounting holds: shared by the CLI and the flows."""

from __future__ import annotations

from dataclasses import dataclass

from pulsecast.contract import CONTRACTS
from pulsecast.settings import Settings
from pulsecast.warehouse import reader

COUNTED_TABLES = [c.table for c in CONTRACTS] + ["raw.quarantine", "raw.ingested_files"]


@dataclass(frozen=True)
class Accounting:
    files_loaded: int
    files_rejected: int
    redeliveries: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    unbalanced_files: list[str]

    @property
    def holds(self) -> bool:
        return not self.unbalanced_files


@dataclass(frozen=True)
class Status:
    counts: dict[str, int]
    accounting: Accounting
    recent_runs: list[tuple]
    top_reasons: list[tuple[str, int]]


def warehouse_status(settings: Settings) -> Status | None:
    """None when nothing has been ingested yet."""
    if not settings.warehouse.exists():
        return None
    with reader(settings) as con:
        present = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        if "raw.ingested_files" not in present:
            return None
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES if t in present}
        totals = con.execute(
            """SELECT count(*) FILTER (WHERE status = 'loaded'), count(*) FILTER (WHERE status = 'rejected'),
                      coalesce(sum(deliveries - 1), 0), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                      coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0)
               FROM raw.ingested_files"""
        ).fetchone()
        unbalanced = [
            name
            for (name,) in con.execute(
                """SELECT file_name FROM raw.ingested_files
                   WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"""
            ).fetchall()
        ]
        runs = con.execute(
            """SELECT run_id, started_at, finished_at, files_seen, rows_loaded, audit_summary
               FROM raw.ingest_runs ORDER BY started_at DESC LIMIT 5"""
        ).fetchall()
        reasons = con.execute(
            """SELECT split_part(reason, ';', 1) AS r, count(*) FROM raw.quarantine
               GROUP BY r ORDER BY 2 DESC LIMIT 5"""
        ).fetchall()
    return Status(counts, Accounting(*totals, unbalanced), runs, reasons)
