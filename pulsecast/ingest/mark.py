"""What the warehouse holds beyond the published snapshot, said where readers can see it.

Readers never open the warehouse, so without this they could not tell events that were ingested but not yet
published (they wait for the next build) from events that never came. After each run, still holding the
writer lock, ingestion writes a small JSON file beside the snapshots: how far ingestion has got and since when
loaded events have been waiting for a publish.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pulsecast.metrics import snapshot
from pulsecast.settings import Settings

MARK = "LOADED"


@dataclass(frozen=True)
class Loaded:
    """The warehouse after the newest ingest run. Times are naive UTC."""

    ingested_through: datetime | None
    """The newest manifest `ingested_at`."""
    events: int
    newest_event_ts: datetime | None
    unpublished_since: datetime | None
    """When the first load the current snapshot does not include was made (None: it includes every load)."""


def write_mark(con: duckdb.DuckDBPyConnection, settings: Settings) -> Loaded:
    """Record the warehouse's state after an ingest run. The caller holds the writer lock (so no publish runs)."""
    try:
        published_through = snapshot.current_info(settings).ingested_through
    except snapshot.NoSnapshot:
        published_through = None
    ingested_through, unpublished_since = con.execute(
        """SELECT max(ingested_at), min(ingested_at) FILTER (WHERE rows_loaded > 0 AND ingested_at > ?)
           FROM raw.ingested_files""",
        [published_through or datetime.min],
    ).fetchone()
    events, newest = con.execute("SELECT count(*), max(event_ts) FROM raw.events").fetchone()
    loaded = Loaded(ingested_through, events, newest, unpublished_since)
    settings.snapshots.mkdir(parents=True, exist_ok=True)
    snapshot.replace_text(_path(settings), json.dumps(asdict(loaded), default=datetime.isoformat) + "\n")
    return loaded


def read_mark(settings: Settings) -> Loaded | None:
    """None before the first ingest run."""
    try:
        fields = json.loads(_path(settings).read_text())
    except FileNotFoundError:
        return None
    times = {k: datetime.fromisoformat(v) for k, v in fields.items() if k != "events" and v is not None}
    return Loaded(**(fields | times))


def _path(settings: Settings) -> Path:
    return settings.snapshots / MARK
