"""Shared helpers for the ingestion tests: build landing files, run ingestion in a real subprocess, read results."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pulsecast.settings import Settings
from pulsecast.warehouse import connect

Record = Mapping[str, Any] | str
"""A record as a mapping, or a raw line written as is (for malformed input)."""

INGEST_SCRIPT = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
from pulsecast.ingest import ingest_run
from pulsecast.settings import get_settings
summary = ingest_run(get_settings())
print(json.dumps({"run_id": summary.run_id, "files": len(summary.files), "loaded": summary.total("rows_loaded")}))
"""
"""What a subprocess runs: one ingest run with the settings of its environment, INFO logs on stderr."""


def event(event_id: str, /, **fields: Any) -> dict[str, Any]:
    """A valid event; keyword arguments override or add fields (None removes one)."""
    record: dict[str, Any] = {
        "event_id": event_id,
        "event_ts": "2026-11-01T10:00:00Z",
        "event_type": "click",
        "campaign_id": "c1",
        "cost": "0.25",
    }
    record.update(fields)
    return {name: value for name, value in record.items() if value is not None}


def jsonl_bytes(records: Iterable[Record], encoding: str = "utf-8", bom: bool = False) -> bytes:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return ("\ufeff" if bom else "").encode(encoding) + ("\n".join(lines) + "\n").encode(encoding)


def csv_bytes(
    records: Iterable[Record], header: list[str] | None = None, encoding: str = "utf-8", bom: bool = False
) -> bytes:
    """CSV with a header (the union of the mappings' keys unless given); a str record is a raw line."""
    records = list(records)
    if header is None:
        header = list(dict.fromkeys(k for r in records if not isinstance(r, str) for k in r))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        if isinstance(record, str):
            out.write(record + "\n")
        else:
            writer.writerow(["" if record.get(name) is None else record[name] for name in header])
    return ("\ufeff" if bom else "").encode(encoding) + out.getvalue().encode(encoding)


def parquet_bytes(table: pa.Table | list[Mapping[str, Any]]) -> bytes:
    if not isinstance(table, pa.Table):  # from_pylist would take the columns from the first record only
        records = list(table)
        names = dict.fromkeys(k for r in records for k in r)
        table = pa.table({name: [r.get(name) for r in records] for name in names})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def isolated_settings(data_dir: Path) -> Settings:
    """Settings rooted in `data_dir` whatever PULSECAST_* variables the environment holds."""
    return Settings(
        data_dir=data_dir,
        warehouse_path=data_dir / "warehouse.duckdb",
        landing_dir=data_dir / "landing",
        archive_dir=data_dir / "archive",
        quarantine_dir=data_dir / "quarantine",
        truth_dir=data_dir / "truth",
        docs_dir=data_dir / "docs",
        future_tolerance_hours=24.0,
        writer_lock_timeout_s=120.0,
    )


def query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, from a short read-only connection (no writer may be running)."""
    con = connect(settings.warehouse, read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def assert_accounting(settings: Settings) -> None:
    """Every manifest row balances, and its counts match what is actually stored for that file."""
    for row in query(
        settings,
        """SELECT f.*,
                  (SELECT count(*) FROM raw.quarantine q WHERE q.file_id = f.file_id AND q.row_number IS NOT NULL)
                      AS stored_quarantined,
                  (SELECT count(*) FROM raw.quarantine q WHERE q.file_id = f.file_id AND q.row_number IS NULL)
                      AS stored_rejections,
                  (SELECT count(*) FROM raw.events e WHERE e._file_id = f.file_id) AS stored_events
           FROM raw.ingested_files f""",
    ):
        name = row["file_name"]
        assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"] + row["rows_duplicate"], name
        assert row["stored_quarantined"] == row["rows_quarantined"], name
        assert row["stored_rejections"] == (1 if row["status"] == "rejected" else 0), name
        if row["contract"] == "events":
            assert row["stored_events"] == row["rows_loaded"], name


def generate_events(path: Path, first: int, count: int) -> None:
    """`count` events e<first>.. as JSONL or Parquet (by suffix); ids ending in 007 have a negative cost."""
    iso = "strftime(TIMESTAMP '2024-01-01' + i * INTERVAL 1 SECOND, '%Y-%m-%dT%H:%M:%SZ')"
    native = "TIMESTAMP '2024-01-01' + i * INTERVAL 1 SECOND"
    fmt = "parquet" if path.suffix == ".parquet" else "json"
    select = f"""SELECT 'e' || i AS event_id, {native if fmt == "parquet" else iso} AS event_ts,
        ['impression', 'click', 'view'][i % 3 + 1] AS event_type, 'c' || (i % 50) AS campaign_id,
        'b' || (i % 7) AS brand_id, 'mobile' AS device,
        CASE WHEN i % 1000 = 7 THEN -1.5 ELSE (i % 100) / 100.0 END AS cost
        FROM range({first}, {first + count}) t(i)"""
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT {fmt})")
    finally:
        con.close()


def valid_ids(ranges: Iterable[tuple[int, int]]) -> int:
    """Distinct ids over (first, count) ranges written by `generate_events`, less those with a negative cost."""
    ids = set().union(*(range(first, first + count) for first, count in ranges))
    return sum(1 for i in ids if i % 1000 != 7)


@dataclass
class IngestProcess:
    """A real `ingest_run` in a child process with its own PULSECAST_DATA_DIR; its log goes to a file."""

    process: subprocess.Popen[str]
    log: Path

    @classmethod
    def start(cls, data_dir: Path, log: Path) -> IngestProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSECAST_")}
        env |= {"PULSECAST_DATA_DIR": str(data_dir), "GX_ANALYTICS_ENABLED": "false"}
        with open(log, "w") as stderr:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-c", INGEST_SCRIPT], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        return cls(process, log)

    def wait_for_log(self, text: str, timeout: float = 60.0) -> None:
        """Block until the process has logged `text`."""
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert self.process.poll() is None, f"ingest exited before logging {text!r}:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"ingest never logged {text!r}"
            time.sleep(0.002)

    def kill(self) -> bool:
        """SIGKILL; True when the process was still running."""
        if self.process.poll() is not None:
            return False
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate()
        return True

    def finish(self, timeout: float = 120.0) -> tuple[int, dict[str, Any], str]:
        """Wait for the end: exit code, the summary it printed, its log."""
        stdout, _ = self.process.communicate(timeout=timeout)
        lines = stdout.strip().splitlines()
        return self.process.returncode, json.loads(lines[-1]) if lines else {}, self.log.read_text()
