"""Warehouse access: short-lived DuckDB connections and the single-writer lock.

DuckDB allows one read-write process per file. Every writer (ingest, dbt, training) takes an exclusive
`flock` on a lock file beside the warehouse before it opens the database, and waits its turn otherwise.
The OS drops the lock when a process dies, so a killed run never leaves the warehouse claimed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pulsecast.contract import CONTRACTS, EVENTS, Contract
from pulsecast.settings import Settings

log = logging.getLogger(__name__)


class WarehouseBusy(RuntimeError):
    """Another writer kept the warehouse longer than the configured timeout."""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with UTC as the session time zone (timestamps are stored as naive UTC)."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


@contextmanager
def writer_lock(settings: Settings, holder: str) -> Iterator[None]:
    """Hold the warehouse's exclusive writer claim; log who is waiting and for whom."""
    lock_path = settings.writer_lock
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        started = time.monotonic()
        deadline = started + settings.writer_lock_timeout_s
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder_name = handle.read().strip()
                # The holder writes its name just after locking: wait for it rather than log an unknown holder.
                if not announced and (holder_name or time.monotonic() - started > 1):
                    log.info("Waiting for the warehouse writer lock held by %s", holder_name or "another process")
                    announced = True
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"the warehouse {settings.warehouse} stayed locked by another writer for "
                        f"{settings.writer_lock_timeout_s:.0f}s"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} (pid {os.getpid()})")
        handle.flush()
        log.info("Holding the warehouse writer lock as %s", holder)
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writer(settings: Settings, holder: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection under the writer lock, with the raw schema in place; closed on exit."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(settings, holder):
        con = connect(settings.warehouse)
        try:
            ensure_raw_schema(con)
            yield con
        finally:
            con.close()


@contextmanager
def reader(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for short looks at the warehouse (status, tests).

    It holds the claim while open: DuckDB refuses a writer while any other process has the file open, so
    releasing it early would make the next ingest fail instead of wait. Dashboards read snapshots instead.
    """
    with writer_lock(settings, "reader"):
        con = connect(settings.warehouse, read_only=True)
        try:
            yield con
        finally:
            con.close()


def _contract_ddl(contract: Contract) -> str:
    """Events are append-only (deduplicated by the loader); dimensions are upserted on their key."""
    upserted = contract is not EVENTS
    columns = [
        f"{c.name} {c.sql_type}{' PRIMARY KEY' if upserted and c.name == contract.key else ''}"
        for c in contract.columns
    ]
    lineage = ["_file_id VARCHAR NOT NULL", "_loaded_at TIMESTAMP NOT NULL"]
    if not upserted:
        lineage += ["_row BIGINT NOT NULL", "_run_id VARCHAR NOT NULL"]
    return f"CREATE TABLE IF NOT EXISTS {contract.table} ({', '.join(columns + lineage)})"


RAW_DDL = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    *(_contract_ddl(c) for c in CONTRACTS),
    """CREATE TABLE IF NOT EXISTS raw.ingested_files (
        file_id VARCHAR PRIMARY KEY,      -- sha256 of the content: the same bytes are one file
        file_name VARCHAR NOT NULL,
        contract VARCHAR,
        file_format VARCHAR,
        size_bytes BIGINT NOT NULL,
        status VARCHAR NOT NULL,          -- loaded | rejected
        reason VARCHAR,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_duplicate BIGINT NOT NULL,
        deliveries INTEGER NOT NULL,      -- times the same content arrived
        run_id VARCHAR NOT NULL,
        ingested_at TIMESTAMP NOT NULL,
        seconds DOUBLE NOT NULL,
        stored_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw.quarantine (
        file_id VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        row_number BIGINT,                -- NULL when the whole file was rejected
        raw_content VARCHAR,
        reason VARCHAR NOT NULL,
        quarantined_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw.ingest_runs (
        run_id VARCHAR PRIMARY KEY,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        files_seen INTEGER,
        rows_loaded BIGINT,
        audit_success BOOLEAN,
        audit_summary VARCHAR
    )""",
)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in RAW_DDL:
        con.execute(statement)


def prepare_raw_schema(settings: Settings) -> None:
    """Create the raw schema if missing, so dbt's sources resolve even before the first ingest.

    The caller holds the writer lock."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = connect(settings.warehouse)
    try:
        ensure_raw_schema(con)
    finally:
        con.close()
