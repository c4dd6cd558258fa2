"""`ml.simulations`: one row per what-if request, its result, and the cache that serves a repeated request.

A request's cache key hashes the data it reads (`Inputs.fingerprint`), its parameters and the simulation code's
version; a completed row with the same key is the answer to the next request with that key, which is then
recorded as a cache hit pointing at the row that computed it. The cache is this table rather than Prefect's task
cache: the result has to be in the warehouse anyway for the CLI and analysts, a look-up here is one indexed
query under the read the request makes for its inputs, and it works the same with or without a Prefect server
(the CLI's temporary server and `make serve`'s keep separate result stores).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from pulsecast.ml.outlook.store import ddl
from pulsecast.ml.simulation import Inputs, Simulation, code_version
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.settings import Settings
from pulsecast.warehouse import reader, writer

COLUMNS: Mapping[str, tuple[str, str]] = {
    "request_id": ("VARCHAR", "The request: its flow run id (or a random id outside Prefect)."),
    "campaign_id": ("VARCHAR", "Campaign simulated."),
    "parameters": ("JSON", "The request: budget change per channel in percent, creative refresh, audience change "
                           "in percent, horizon in days."),
    "status": ("VARCHAR", "completed, or failed (see error)."),
    "error": ("VARCHAR", "Why a failed request failed (a bad request names what exists)."),
    "cache_key": ("VARCHAR", "Hash of the data read, the parameters and the simulation code's version."),
    "cache_hit": ("BOOLEAN", "Served from an earlier request's result with the same cache key."),
    "cached_from": ("VARCHAR", "The request that computed the result (itself when not a cache hit)."),
    "totals": ("JSON", "Per measure over the horizon: baseline, P10 / P50 / P90 and the lift's P10 / P50 / P90."),
    "trajectory": ("JSON", "Per day: spend (new and current), P10 / P50 / P90 and baseline of conversions, revenue "
                           "and clicks, extrapolated, the baseline's source."),
    "notes": ("JSON", "What the numbers rest on: curves, levers' fitted effects, the baseline."),
    "read_seconds": ("DOUBLE", "Reading the inputs and looking up the cache."),
    "compute_seconds": ("DOUBLE", "Fitting and simulating (0 for a cache hit)."),
    "created_at": ("TIMESTAMP", "When the request started (UTC)."),
    "finished_at": ("TIMESTAMP", "When its result was ready (UTC)."),
}
TABLE = "simulations"


def cache_key(request: SimulationRequest, inputs: Inputs) -> str:
    parts = (inputs.fingerprint(), request.key(), code_version())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Record:
    """One request's row; `result` holds the totals, trajectory and notes as JSON text."""

    request_id: str
    request: SimulationRequest
    cache_key: str | None
    created_at: datetime
    finished_at: datetime
    read_seconds: float
    compute_seconds: float = 0.0
    result: Mapping[str, str] | None = None
    cached_from: str | None = None
    error: str | None = None

    def row(self) -> dict[str, Any]:
        result = self.result or {}
        return {
            "request_id": self.request_id, "campaign_id": self.request.campaign,
            "parameters": self.request.key(), "status": "failed" if self.error else "completed",
            "error": self.error, "cache_key": self.cache_key,
            "cache_hit": self.cached_from not in (None, self.request_id), "cached_from": self.cached_from,
            "totals": result.get("totals"), "trajectory": result.get("trajectory"), "notes": result.get("notes"),
            "read_seconds": self.read_seconds, "compute_seconds": self.compute_seconds,
            "created_at": self.created_at, "finished_at": self.finished_at,
        }


def as_result(simulation: Simulation) -> dict[str, str]:
    """The simulation as the JSON texts stored (dates as ISO days)."""
    return {
        "totals": simulation.totals.to_json(orient="records"),
        "trajectory": simulation.trajectory.to_json(orient="records", date_format="iso"),
        "notes": json.dumps(simulation.notes),
    }


def exists(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' "
                            "AND table_name = ?", [TABLE]).fetchall()[0][0])


def cached(con: duckdb.DuckDBPyConnection, key: str) -> tuple[str, dict[str, str]] | None:
    """The request that computed the newest completed result with this key, and that result."""
    if not exists(con):
        return None
    found = con.execute(
        f"""SELECT cached_from, totals, trajectory, notes FROM ml.{TABLE}
            WHERE cache_key = ? AND status = 'completed' ORDER BY finished_at DESC LIMIT 1""", [key]
    ).fetchall()
    if not found:
        return None
    origin, totals, trajectory, notes = found[0]
    return origin, {"totals": totals, "trajectory": trajectory, "notes": notes}


def write(settings: Settings, records: list[Record]) -> int:
    """Append the requests' rows in one transaction, under the writer lock."""
    with writer(settings, "simulate: recording results") as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ml")
        con.execute(ddl(TABLE, COLUMNS))
        frame = pd.DataFrame([record.row() for record in records], columns=list(COLUMNS))
        con.register("incoming", frame)
        con.execute(f"INSERT INTO ml.{TABLE} SELECT * FROM incoming")
        con.unregister("incoming")
    return len(records)


def read(settings: Settings, request_id: str | None = None, limit: int = 20) -> pd.DataFrame:
    """The newest requests (or the one named; an unknown id is refused), newest first."""
    if not settings.warehouse.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    with reader(settings) as con:
        if not exists(con):
            frame = pd.DataFrame(columns=list(COLUMNS))
        elif request_id is None:
            frame = con.execute(f"SELECT * FROM ml.{TABLE} ORDER BY created_at DESC LIMIT ?", [limit]).df()
        else:
            frame = con.execute(f"SELECT * FROM ml.{TABLE} WHERE request_id = ?", [request_id]).df()
    if request_id is not None and frame.empty:
        raise KeyError(f"no simulation {request_id!r}; `pulsecast simulations` lists the newest")
    return frame
