"""Published snapshots: how reads never fail and never see a half-built table while a flow writes.

DuckDB lets one process write a database file and, while it does, no other process open it. So readers
never open the warehouse: after each successful build the writer copies the marts into DuckDB files under
`snapshots/tables/` and writes a manifest naming, for every published table, the files that hold it; then it
swaps a one-line pointer to the manifest with an atomic rename. A file is never written again once published,
so any number of readers can hold it while the next one is written.

A publish copies only what changed: a table the build did not change keeps the file the previous manifest
names (so a micro-batch does not re-copy the history), and the few large rollups are split at a cutoff into a
`base` file, reused while no row older than the cutoff changed, and a `recent` file, the only part a
micro-batch rewrites. Files no kept manifest names are removed; on Linux a reader that still has one open
keeps reading it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pulsecast.settings import Settings
from pulsecast.warehouse import connect

log = logging.getLogger(__name__)

POINTER = "CURRENT"
TABLES = "tables"
KEEP = 3
"""Manifests kept on disk; files none of them names are removed (a reader that still has one open keeps it)."""

EXTRA_TABLES = {
    "stg_campaigns": "campaigns",
    "stg_brands": "brands",
}
"""Besides every mart (among them events_hourly and events_daily, the rollups that keep every dimension): the
dimensions the read API checks names against."""

SPLIT = {
    "sessions": "session_start",
    "events_hourly": "event_hour",
    "campaign_hourly": "event_hour",
    "events_daily": "day",
}
"""The tables that grow with history, by the time column they are split on: everything before the cutoff in a
`base` file, the rest in a `recent` file. Each has `last_loaded_at` (the newest load among the events a row
counts) and no attribute of a dimension (a renamed campaign changes none of their rows), so the base's row
count and newest `last_loaded_at` tell whether it changed: a replaced or merged row is newer, a removed one
changes the count."""

RECENT_DAYS = 7
"""A full publish puts the cutoff this many days before the table's newest row: late events newer than that
rewrite only the recent file."""

INFO_TABLE = "snapshot_info"
"""One row readers can query saying what the snapshot holds (also in the manifest, read without DuckDB)."""


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


@dataclass(frozen=True)
class Published:
    """One published table: its files (in union), its rows, and for a split table where it splits."""

    files: tuple[str, ...]
    rows: int
    cutoff: datetime | None = None
    base_rows: int | None = None
    base_loaded: datetime | None = None
    """Rows and newest `last_loaded_at` of the base file: when the warehouse still has both, the base is unchanged."""


@dataclass(frozen=True)
class Manifest:
    path: Path
    info: SnapshotInfo
    tables: dict[str, Published]

    def files(self) -> set[str]:
        return {file for table in self.tables.values() for file in table.files}


def publish(settings: Settings, changed: Collection[str] | None = None) -> Path:
    """Publish the marts and point readers at them; returns the new manifest. The caller holds the writer lock.

    `changed`: the published names of the tables the build may have changed (None: all of them, e.g. after a
    full build); every other table keeps the previous manifest's files."""
    (settings.snapshots / TABLES).mkdir(parents=True, exist_ok=True)
    try:
        previous = load(current(settings)).tables
    except NoSnapshot:
        previous = {}
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    con = connect(settings.warehouse)
    try:
        writer = _Writer(settings, con, stamp)
        tables: dict[str, Published] = {}
        for source, target in _published_tables(con):
            kept = previous.get(target)
            if kept is not None and changed is not None and target not in changed:
                tables[target] = kept
            elif target in SPLIT:
                tables[target] = writer.split(source, target, kept if changed is not None else None)
            else:
                tables[target] = writer.whole(source, target)
        info = _info(con, f"marts-{stamp}.json")
        writer.close()
    finally:
        con.close()
    manifest = settings.snapshots / info.name
    replace_text(manifest, json.dumps({"info": asdict(info), "tables": {k: asdict(v) for k, v in tables.items()}},
                                      default=datetime.isoformat))  # fmt: skip
    replace_text(settings.snapshots / POINTER, info.name + "\n")
    _prune(settings)
    log.info("Published %d tables (%d files written) as %s", len(tables), writer.written, manifest)
    return manifest


class _Writer:
    """Writes one publish's files: the tables copied whole share one file; each split table has its own two."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, stamp: str) -> None:
        self._settings, self._con, self._stamp = settings, con, stamp
        self._shared: str | None = None
        self._open: list[tuple[Path, Path]] = []
        self.written = 0

    def whole(self, source: str, target: str) -> Published:
        if self._shared is None:
            self._shared = self._attach(f"{TABLES}/marts-{self._stamp}.duckdb")
        return Published((self._shared,), self._copy(self._shared, source, target, ""))

    def split(self, source: str, target: str, kept: Published | None) -> Published:
        column = SPLIT[target]
        cutoff = kept.cutoff if kept is not None else None
        if cutoff is None:
            start = f"coalesce(CAST(max({column}) AS DATE) - {RECENT_DAYS}, DATE '1970-01-01')::TIMESTAMP"
            cutoff = self._con.execute(f"SELECT {start} FROM {source}").fetchone()[0]
        before = f"WHERE {column} < TIMESTAMP '{cutoff}'"
        base_rows, base_loaded = self._con.execute(
            f"SELECT count(*), max(last_loaded_at) FROM {source} {before}"
        ).fetchone()
        if kept is not None and (kept.base_rows, kept.base_loaded) == (base_rows, base_loaded):
            base = kept.files[0]
        else:
            base = self._attach(f"{TABLES}/{target}-base-{self._stamp}.duckdb")
            self._copy(base, source, target, before)
        recent = self._attach(f"{TABLES}/{target}-recent-{self._stamp}.duckdb")
        recent_rows = self._copy(recent, source, target, f"WHERE {column} >= TIMESTAMP '{cutoff}' OR {column} IS NULL")
        return Published((base, recent), base_rows + recent_rows, cutoff, base_rows, base_loaded)

    def _attach(self, file: str) -> str:
        final = self._settings.snapshots / file
        building = final.with_name(f".{final.name}")
        self._con.execute(f"ATTACH '{_quoted(building)}' AS {_alias(file)}")
        self._open.append((building, final))
        self.written += 1
        return file

    def _copy(self, file: str, source: str, target: str, where: str) -> int:
        self._con.execute(f"CREATE TABLE {_alias(file)}.{target} AS SELECT * FROM {source} {where}")
        return self._con.execute(f"SELECT count(*) FROM {_alias(file)}.{target}").fetchone()[0]

    def close(self) -> None:
        """Detach every file written and move it to its final name (nothing names it before the manifest)."""
        for building, final in self._open:
            self._con.execute(f"DETACH {_alias(str(final.relative_to(self._settings.snapshots)))}")
            os.replace(building, final)


def _info(con: duckdb.DuckDBPyConnection, name: str) -> SnapshotInfo:
    row = con.execute(
        """SELECT CAST(now() AS TIMESTAMP), count(*), max(event_ts), (SELECT max(ingested_at) FROM raw.ingested_files)
           FROM raw.events"""
    ).fetchone()
    return SnapshotInfo(name, *row)


def current(settings: Settings) -> Path:
    """The manifest readers read now."""
    try:
        name = (settings.snapshots / POINTER).read_text().strip()
    except FileNotFoundError:
        name = ""
    if not name.endswith(".json"):  # nothing yet, or a single-file snapshot of an earlier version
        raise NoSnapshot(
            f"no published marts under {settings.snapshots}: run `pulsecast run` or `pulsecast transform` first"
        )
    return settings.snapshots / name


def load(path: Path) -> Manifest:
    """A published manifest (FileNotFoundError once it is pruned: read the pointer again)."""
    fields = json.loads(path.read_text())
    info = fields["info"]
    tables = {
        name: Published(tuple(t["files"]), t["rows"], _time(t["cutoff"]), t["base_rows"], _time(t["base_loaded"]))
        for name, t in fields["tables"].items()
    }
    return Manifest(
        path,
        SnapshotInfo(info["name"], _time(info["published_at"]), info["events"], _time(info["newest_event_ts"]),
                     _time(info["ingested_through"])),
        tables,
    )  # fmt: skip


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def current_info(settings: Settings) -> SnapshotInfo:
    """The current snapshot's info (NoSnapshot before the first publish)."""
    while True:
        try:
            return load(current(settings)).info
        except FileNotFoundError:  # pruned between reading the pointer and the manifest: a newer one is current
            continue


def attach(con: duckdb.DuckDBPyConnection, settings: Settings, manifest: Manifest, attached: dict[str, str]) -> None:
    """Make `con` (a connection of an in-memory database) answer from `manifest`: attach to the database the
    files it names that `attached` (file -> alias, updated) does not hold yet, point one view per table at them.
    The views are the connection's own, so another connection of the database can answer from another manifest.

    Raises FileNotFoundError when a file was pruned meanwhile (the manifest is old: read the pointer again);
    the views are then left as they were."""
    for file in sorted(manifest.files() - set(attached)):
        alias = _alias(file)
        try:
            con.execute(f"ATTACH '{_quoted(settings.snapshots / file)}' AS {alias} (READ_ONLY)")
        except duckdb.IOException as error:
            raise FileNotFoundError(file) from error
        attached[file] = alias
    for name, table in manifest.tables.items():
        union = " UNION ALL ".join(f"SELECT * FROM {attached[file]}.{name}" for file in table.files)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {union}")
    info = manifest.info
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {INFO_TABLE} AS SELECT {_literal(info.published_at)}::TIMESTAMP AS published_at, "
        f"{_literal(info.events)}::BIGINT AS events, {_literal(info.newest_event_ts)}::TIMESTAMP AS newest_event_ts, "
        f"{_literal(info.ingested_through)}::TIMESTAMP AS ingested_through"
    )


def detach(con: duckdb.DuckDBPyConnection, manifest: Manifest, attached: dict[str, str]) -> None:
    """Detach from `con`'s database the files `manifest` no longer names, once no connection answers from an
    older manifest."""
    for file in set(attached) - manifest.files():
        con.execute(f"DETACH {attached.pop(file)}")


def open_manifest(settings: Settings, path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection answering from one published manifest (a one-off reader: tests, benchmarks)."""
    con = duckdb.connect()
    attach(con, settings, load(path), {})
    return con


def differences(settings: Settings, a: Path, b: Path) -> dict[str, int]:
    """Rows in one snapshot's table and not in the other's (both ways, duplicates counted), per table that
    differs: empty when two publishes hold the same data, e.g. after a micro-batch refresh and a full rebuild."""
    first, second = open_manifest(settings, a), open_manifest(settings, b)
    try:
        tables, other = load(a).tables, load(b).tables
        differing = {name: (tables.get(name) or other[name]).rows for name in set(tables) ^ set(other)}
        for name in sorted(set(tables) & set(other)):
            second.register("theirs", first.sql(f"FROM {name}").to_arrow_table())
            (count,) = second.execute(
                f"SELECT (SELECT count(*) FROM (FROM {name} EXCEPT ALL FROM theirs))"
                f" + (SELECT count(*) FROM (FROM theirs EXCEPT ALL FROM {name}))"
            ).fetchall()[0]
            second.unregister("theirs")
            if count:
                differing[name] = count
        return differing
    finally:
        first.close()
        second.close()


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('raw', 'ml')"
    ).fetchall()
    tables = [(f"{schema}.{name}", name) for schema, name in rows if schema == "marts"]
    tables += [(f"{schema}.{name}", EXTRA_TABLES[name]) for schema, name in rows if name in EXTRA_TABLES]
    return sorted(tables)


def replace_text(path: Path, text: str) -> None:
    """Write a small file readers poll beside the snapshots in one atomic rename: they see the old text or the
    new one, never a half-written file."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    staging.write_text(text)
    os.replace(staging, path)


def _prune(settings: Settings) -> None:
    """Keep the newest KEEP manifests and the files they name; remove the rest (earlier single-file snapshots
    included)."""
    manifests = sorted(settings.snapshots.glob("marts-*.json"), key=lambda p: p.stat().st_mtime)
    kept: set[str] = set()
    for path in manifests[-KEEP:]:
        kept |= load(path).files()
    for path in manifests[:-KEEP]:
        path.unlink(missing_ok=True)
    for path in [*settings.snapshots.glob("marts-*.duckdb*"), *(settings.snapshots / TABLES).glob("*.duckdb*")]:
        if str(path.relative_to(settings.snapshots)).removesuffix(".wal") not in kept:
            path.unlink(missing_ok=True)


def _literal(value: datetime | int | None) -> str:
    return "NULL" if value is None else f"'{value}'"


def _alias(file: str) -> str:
    """A database name for a published file (its name without the folder and extension)."""
    return "f_" + Path(file).stem.replace("-", "_")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
