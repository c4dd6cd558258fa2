"""Precomputed reads vs raw scans, incremental vs full rebuild: at 1M and 10M events, side by side.

    .venv/bin/python bench/warehouse.py [--scales 1000000 10000000] [--reads 50]

Per scale: a generated 90-day world (Parquet files) is ingested except its last day, which holds about 1 %
of the events plus late and re-sent ones; `dbt build` builds everything; the last day is ingested; then
`dbt run` (incremental) and `dbt run --full-refresh` are timed (SQL time summed from run_results.json and
the whole process), and the marts from both are compared row by row. Reads: each dashboard question
through the read API (median of --reads calls) beside the same answer computed from raw events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from pulsecast.contract import FileFormat
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.reference import PROBES
from pulsecast.settings import DBT_PROJECT_DIR, Settings
from pulsecast.warehouse import writer_lock

END = datetime(2026, 11, 1)


def dbt(settings: Settings, command: str, *flags: str) -> tuple[float, float]:
    """(SQL seconds summed over the nodes in run_results.json, whole-process seconds)."""
    executable = Path(sys.executable).parent / "dbt"
    args = [
        str(executable),
        command,
        *flags,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    with writer_lock(settings, f"bench dbt {command}"):
        started = time.perf_counter()
        done = subprocess.run(args, env=os.environ | settings.env(), capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"dbt {command} failed:\n{done.stdout[-3000:]}")
    results = json.loads((DBT_PROJECT_DIR / "target" / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results), elapsed


def publish(settings: Settings) -> Path:
    with writer_lock(settings, "bench publish"):
        return snapshot.publish(settings)


def differing_rows(a: Path, b: Path) -> int:
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'a'").fetchall()]
    total = 0
    for table in tables:
        total += con.execute(
            f"SELECT (SELECT count(*) FROM (FROM a.{table} EXCEPT ALL FROM b.{table}))"
            f" + (SELECT count(*) FROM (FROM b.{table} EXCEPT ALL FROM a.{table}))"
        ).fetchone()[0]
    con.close()
    return total


def median_ms(call, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(scale: int, reads: int, workdir: Path) -> dict:
    settings = Settings(data_dir=workdir / f"world-{scale}")
    settings.ensure_dirs()
    config = WorldConfig(
        seed=3,
        days=90,
        campaigns=30,
        events_per_day=max(100, round(scale / 90 / 1.05)),
        file_format=FileFormat.parquet,
        end=END,
    )
    report = generate_backfill(config, settings.landing, settings.truth)
    held_back = settings.data_dir / "held_back"
    held_back.mkdir()
    last = sorted(report.event_files)[-1]
    shutil.move(last, held_back / last.name)
    ingest_run(settings)
    dbt(settings, "build")  # seeds, models and tests: the state a scheduled pipeline leaves
    batch_rows = (
        duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(held_back / last.name)]).fetchone()[0]
    )
    shutil.move(held_back / last.name, settings.landing / last.name)
    ingest_run(settings)

    incremental = dbt(settings, "run")
    after_incremental = publish(settings)
    full = dbt(settings, "run", "--full-refresh")
    after_full = publish(settings)

    events = duckdb.connect(str(settings.warehouse), read_only=True)  # only now: dbt needs it to itself
    total_events = events.execute("SELECT count(*) FROM raw.events").fetchone()[0]
    with Metrics(settings) as metrics:
        api = {p.name: median_ms(lambda p=p: p.ask(metrics), reads) for p in PROBES}
    raw = {p.name: median_ms(lambda p=p: events.execute(p.raw_sql).fetchall(), 3) for p in PROBES}
    events.close()
    return {
        "events": total_events,
        "batch_share": batch_rows / total_events,
        "incremental": incremental,
        "full": full,
        "differing_rows": differing_rows(after_incremental, after_full),
        "api_ms": api,
        "raw_ms": raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pulsecast-bench-warehouse-"))
    try:
        results = {scale: measure(scale, args.reads, workdir) for scale in args.scales}
    finally:
        shutil.rmtree(workdir)
    scales = list(results)
    width = 38
    print("\nReads: read API median ms | raw scan median ms | speed-up")
    headers = [f"{results[s]['events']:,} events" for s in scales]
    print(f"{'question':{width}}" + "".join(f"{h:>36}" for h in headers))
    for probe in PROBES:
        cells = []
        for s in scales:
            api, raw = results[s]["api_ms"][probe.name], results[s]["raw_ms"][probe.name]
            cells.append(f"{api:9.3f} | {raw:9.1f} | {raw / api:8,.0f}x")
        print(f"{probe.name:{width}}" + "".join(f"{c:>36}" for c in cells))
    print("\nMicro-batch (last day, late and re-sent events included): incremental vs full rebuild")
    for s in scales:
        r = results[s]
        (inc_sql, inc_wall), (full_sql, full_wall) = r["incremental"], r["full"]
        print(
            f"{r['events']:>12,} events, batch {r['batch_share']:.1%}: SQL {inc_sql:.2f}s vs {full_sql:.2f}s "
            f"({full_sql / inc_sql:.1f}x cheaper), process {inc_wall:.1f}s vs {full_wall:.1f}s "
            f"({full_wall / inc_wall:.1f}x); rows differing from full refresh: {r['differing_rows']}"
        )
    if len(scales) > 1:
        small, large = results[scales[0]]["api_ms"], results[scales[-1]]["api_ms"]
        ratios = [large[p.name] / small[p.name] for p in PROBES]
        print(
            f"\nFlatness (read latency at {scales[-1]:,} / at {scales[0]:,}): median {statistics.median(ratios):.2f}, "
            f"max {max(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
