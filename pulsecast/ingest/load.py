"""Load one landing file exactly once, in one transaction.

Per file: stage it, check it against its contract, quarantine bad rows with their reasons, skip events
whose `event_id` is already loaded (or repeats inside the file), insert the rest and record the file in the
manifest, all in one transaction. Only after the commit does the file leave the landing folder, so a run
killed at any point leaves either nothing or everything of a file, and the next run finishes the job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pulsecast.contract import EVENTS, Contract
from pulsecast.ingest import landing, rules
from pulsecast.ingest.staging import FileRejected, Staged, stage
from pulsecast.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    file_name: str
    file_id: str
    status: str  # loaded | rejected | redelivered
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    reason: str | None = None
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_duplicate


def ingest_file(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path, run_id: str) -> FileResult:
    started = time.perf_counter()
    file = landing.describe(path)
    known = con.execute("SELECT status, file_name FROM raw.ingested_files WHERE file_id = ?", [file.file_id]).fetchall()
    if known:
        status, first_name = known[0]
        destination = settings.archive if status == "loaded" else settings.quarantine
        # A run killed between its commit and the move leaves the very file it recorded in landing: that is
        # no new delivery. Its archived copy is missing, which a real re-delivery (an earlier copy moved) has.
        leftover = first_name == file.name and not landing.moved_path(path, file.file_id, destination).exists()
        if not leftover:
            con.execute("UPDATE raw.ingested_files SET deliveries = deliveries + 1 WHERE file_id = ?", [file.file_id])
        landing.move_out(path, file.file_id, destination)
        note = "left in landing by an interrupted run" if leftover else "same content already processed"
        log.info("%s: %s; nothing to do", file.name, note)
        return FileResult(file.name, file.file_id, "redelivered", reason=note)

    rejection: str | None = None
    try:  # staging and checks only build temp tables, so a read error cannot abort the load transaction
        contract = _route(file)
        staged = stage(con, file, contract)
        con.execute(
            "CREATE TEMP TABLE _checked AS "
            + rules.checked_select(contract, staged, settings.future_tolerance_hours)
        )
    except FileRejected as error:
        rejection = str(error)
    except duckdb.Error as error:
        rejection = f"cannot be read: {str(error).strip().splitlines()[0][:300]}"
    con.begin()
    try:
        if rejection is None:
            result = _load(con, settings, file, contract, staged, run_id, started)
        else:
            result = _reject(con, file, run_id, rejection, started)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for table in ("_staged", "_checked", "_skip", "_rejects", "_rejects_scan"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    landing.move_out(path, file.file_id, settings.archive if result.status == "loaded" else settings.quarantine)
    return result


def _load(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    file: landing.LandingFile,
    contract: Contract,
    staged: Staged,
    run_id: str,
    started: float,
) -> FileResult:
    rows_read, rows_quarantined = con.execute("SELECT count(*), count(_reason) FROM _checked").fetchone()
    con.execute(
        """INSERT INTO raw.quarantine
           SELECT ?, ?, _row, _raw_text, _reason, now() FROM _checked WHERE _reason IS NOT NULL""",
        [file.file_id, file.name],
    )
    rows_loaded = (_insert_events if contract is EVENTS else _upsert_dimension)(con, contract, file, run_id)
    duplicates = rows_read - rows_quarantined - rows_loaded
    notes = [f"ignored unknown columns: {', '.join(staged.ignored)}"] if staged.ignored else []
    if rows_read == 0:
        notes.append("no rows")
    result = FileResult(
        file.name,
        file.file_id,
        "loaded",
        rows_read,
        rows_loaded,
        rows_quarantined,
        duplicates,
        "; ".join(notes) or None,
        time.perf_counter() - started,
    )
    _record(con, file, contract, result, run_id)
    log.info(
        "%s: read %d, loaded %d, quarantined %d, duplicates %d",
        file.name,
        rows_read,
        rows_loaded,
        rows_quarantined,
        duplicates,
    )
    return result


def _route(file: landing.LandingFile) -> Contract:
    if file.contract is None:
        raise FileRejected(
            "file name matches no contract (expected events_*, campaigns*, brands*, owners*, market_signals*)"
        )
    if file.file_format is None:
        raise FileRejected(f"unsupported file type '{file.path.suffix}' (expected .jsonl, .csv or .parquet)")
    return file.contract


def _insert_events(con: duckdb.DuckDBPyConnection, contract: Contract, file: landing.LandingFile, run_id: str) -> int:
    """Insert valid events not seen before: the first of each event_id in the file, if not already loaded.

    The rows to skip are collected first, few in the usual file: each id's repeats after its first row, and the
    rows of ids already loaded. Those are found by scanning raw.events' id column against a hash of this file's
    ids, not the other way round: a hash of the whole history per file would grow with every micro-batch. The
    insert then leaves out the skipped rows by `_row`; keeping each id's first row with a semi-join
    (`_row IN (SELECT min(_row) ... GROUP BY event_id)`) hashed every row of the file once more (0.26 s per
    million rows, `bench/ingest.py`).
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _skip AS
           WITH valid AS (SELECT _row, event_id FROM _checked WHERE _reason IS NULL),
                repeated AS (SELECT event_id, min(_row) AS first_row FROM valid GROUP BY event_id HAVING count(*) > 1),
                known AS (SELECT event_id FROM raw.events WHERE event_id IN (SELECT event_id FROM valid))
           SELECT v._row FROM valid v JOIN repeated r USING (event_id) WHERE v._row > r.first_row
           UNION ALL
           SELECT _row FROM valid WHERE event_id IN (SELECT event_id FROM known)"""
    )
    columns = ", ".join(c.name for c in contract.columns)
    (inserted,) = con.execute(
        f"""
        INSERT INTO raw.events
        SELECT {columns}, ?, now(), _row, ?
        FROM _checked c
        WHERE _reason IS NULL AND NOT EXISTS (SELECT 1 FROM _skip s WHERE s._row = c._row)
        """,
        [file.file_id, run_id],
    ).fetchone()
    return inserted


def _upsert_dimension(
    con: duckdb.DuckDBPyConnection, contract: Contract, file: landing.LandingFile, run_id: str
) -> int:
    """Dimensions are state, not history: the last row for a key in the file replaces what was stored."""
    columns = ", ".join(c.name for c in contract.columns)
    (upserted,) = con.execute(
        f"""
        INSERT OR REPLACE INTO {contract.table}
        SELECT {columns}, ?, now()
        FROM _checked
        WHERE _reason IS NULL
        QUALIFY row_number() OVER (PARTITION BY {contract.key} ORDER BY _row DESC) = 1
        """,
        [file.file_id],
    ).fetchone()
    return upserted


def _reject(
    con: duckdb.DuckDBPyConnection, file: landing.LandingFile, run_id: str, reason: str, started: float
) -> FileResult:
    log.warning("%s: rejected whole: %s", file.name, reason)
    result = FileResult(file.name, file.file_id, "rejected", reason=reason, seconds=time.perf_counter() - started)
    con.execute("INSERT INTO raw.quarantine VALUES (?, ?, NULL, NULL, ?, now())", [file.file_id, file.name, reason])
    _record(con, file, file.contract, result, run_id)
    return result


def _record(
    con: duckdb.DuckDBPyConnection,
    file: landing.LandingFile,
    contract: Contract | None,
    result: FileResult,
    run_id: str,
) -> None:
    stored_in = "archive" if result.status == "loaded" else "quarantine"
    con.execute(
        "INSERT INTO raw.ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, now(), ?, ?)",
        [
            file.file_id,
            file.name,
            contract.name if contract else None,
            file.file_format.value if file.file_format else None,
            file.size_bytes,
            result.status,
            result.reason,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            result.rows_duplicate,
            run_id,
            result.seconds,
            f"{stored_in}/{file.file_id[:12]}_{file.name}",
        ],
    )
