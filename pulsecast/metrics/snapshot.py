"""Published snapshots: how reads never fail and never see a half-built table while a flow writes.

DuckDB lets one process write a database file and, while it does, no other process open it. So readers
never open the warehouse: after each successful `dbt build` the writer copies the marts (small: they are
aggregates) into a new DuckDB file and then swaps a one-line pointer to it with an atomic rename. A reader
opens whatever the pointer names, read-only; a file is never written again once published, so any number
of readers can hold it while the next one is being built.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pulsecast.settings import Settings
from pulsecast.warehouse import connect

log = logging.getLogger(__name__)

POINTER = "CURRENT"
KEEP = 3
"""Snapshots kept on disk; older ones are removed (a reader that still has one open keeps its handle)."""

EXTRA_TABLES = {
    "stg_campaigns": "campaigns",
    "stg_brands": "brands",
}
"""Besides every mart (among them events_hourly and events_daily, the rollups that keep every dimension): the
dimensions the read API checks names against."""


INFO_TABLE = "snapshot_info"
"""One row in each snapshot saying what it holds, so a reader can tell how fresh its answers are."""


class NoSnapshot(RuntimeError):
    """Nothing has been published yet."""


@dataclass(frozen=True)
class SnapshotInfo:
    """What a published snapshot holds. Times are naive UTC, as in the warehouse."""

    name: str
    published_at: datetime
    events: int | None
    """Events its marts count (all of raw.events at the build)."""
    newest_event_ts: datetime | None
    """The newest event time they count."""
    ingested_through: datetime | None
    """The newest ingestion (manifest `ingested_at`) they include: anything ingested later is not visible."""


def publish(settings: Settings) -> Path:
    """Copy the marts into a fresh snapshot and point readers at it. The caller holds the writer lock."""
    settings.snapshots.mkdir(parents=True, exist_ok=True)
    name = f"marts-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.duckdb"
    building = settings.snapshots / f".{name}"
    con = connect(settings.warehouse)
    try:
        tables = _published_tables(con)
        con.execute(f"ATTACH '{_quoted(building)}' AS snapshot")
        for source, target in tables:
            con.execute(f"CREATE TABLE snapshot.{target} AS SELECT * FROM {source}")
        con.execute(
            f"""CREATE TABLE snapshot.{INFO_TABLE} AS
                SELECT CAST(now() AS TIMESTAMP) AS published_at, count(*) AS events, max(event_ts) AS newest_event_ts,
                       (SELECT max(ingested_at) FROM raw.ingested_files) AS ingested_through
                FROM raw.events"""
        )
        con.execute("DETACH snapshot")
    finally:
        con.close()
    final = settings.snapshots / name
    os.replace(building, final)
    _write_pointer(settings, name)
    _prune(settings, keep=name)
    log.info("Published %d tables to %s", len(tables), final)
    return final


def current(settings: Settings) -> Path:
    try:
        name = (settings.snapshots / POINTER).read_text().strip()
    except FileNotFoundError:
        raise NoSnapshot(
            f"no published marts under {settings.snapshots}: run `pulsecast run` or `pulsecast transform` first"
        ) from None
    return settings.snapshots / name


def read_info(con: duckdb.DuckDBPyConnection, path: Path) -> SnapshotInfo:
    """The snapshot's own account of itself, from a connection to it.

    A snapshot published before the info table existed has only its file's time, which also stands for the
    newest ingestion it includes: ingest runs and builds hold the writer lock in turn, so every load before
    the publish was in the build."""
    try:
        # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open, and the connection's next query
        # (a long-lived reader's) fails with "unfinished result"
        (row,) = con.execute(
            f"SELECT published_at, events, newest_event_ts, ingested_through FROM {INFO_TABLE}"
        ).fetchall()
    except duckdb.CatalogException:
        published = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
        row = (published, None, None, published)
    return SnapshotInfo(path.name, *row)


def current_info(settings: Settings) -> SnapshotInfo:
    """The current snapshot's info (NoSnapshot before the first publish)."""
    path = current(settings)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return read_info(con, path)
    finally:
        con.close()


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('raw', 'ml')"
    ).fetchall()
    tables = [(f"{schema}.{name}", name) for schema, name in rows if schema == "marts"]
    tables += [(f"{schema}.{name}", EXTRA_TABLES[name]) for schema, name in rows if name in EXTRA_TABLES]
    return sorted(tables)


def _write_pointer(settings: Settings, name: str) -> None:
    replace_text(settings.snapshots / POINTER, name + "\n")


def replace_text(path: Path, text: str) -> None:
    """Write a small file readers poll beside the snapshots in one atomic rename: they see the old text or the
    new one, never a half-written file."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    staging.write_text(text)
    os.replace(staging, path)


def _prune(settings: Settings, keep: str) -> None:
    published = sorted(settings.snapshots.glob("marts-*.duckdb"), key=lambda p: p.stat().st_mtime)
    for old in published[:-KEEP]:
        if old.name != keep:
            old.unlink(missing_ok=True)
            old.with_suffix(".duckdb.wal").unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
