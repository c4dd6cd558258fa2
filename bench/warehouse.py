"""Precomputed reads vs raw scans, incremental vs full rebuild: at 1M and 10M events, side by side.

    .venv/bin/python bench/warehouse.py [--scales 1000000 10000000] [--reads 50]

Per scale: a generated 90-day world (Parquet files) is ingested except its last day, which holds about 1 %
of the events plus late and re-sent ones; `dbt build` builds everything; the last day is ingested; then
`dbt run` (incremental), `dbt run` again with nothing new (dbt's fixed cost per run, the floor of any
incremental refresh) and `dbt run --full-refresh` are timed (SQL time summed from run_results.json and the
whole process), and the marts from the first and the last are compared row by row. Reads: each dashboard question
through the read API beside the same answer computed from raw events (median of 3 scans), and every API
answer is checked against that raw answer. The API is timed three ways: `first`, the question's first call
on a reader with the snapshot already open; `cold`, the median of --reads calls with the answer cache off
(what any first call of a question costs); `warm`, the median of --reads repeats served from the
per-snapshot answer cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from pulsecast.contract import FileFormat
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Answer, Metrics
from pulsecast.metrics.catalog import Grain
from pulsecast.metrics.reference import PROBES, Probe
from pulsecast.settings import DBT_PROJECT_DIR, Settings
from pulsecast.warehouse import writer_lock

END = datetime(2026, 11, 1)


def dbt(settings: Settings, command: str, *flags: str) -> tuple[float, float, float]:
    """(SQL seconds summed over the nodes in run_results.json, whole-process seconds, process CPU seconds).

    CPU seconds are reported beside the wall-clock figures because they move less when other jobs share
    the machine."""
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
        cpu_before = cpu_seconds_of_children()
        started = time.perf_counter()
        done = subprocess.run(args, env=os.environ | settings.env(), capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds_of_children() - cpu_before
    if done.returncode:
        raise RuntimeError(f"dbt {command} failed:\n{done.stdout[-3000:]}")
    results = json.loads((DBT_PROJECT_DIR / "target" / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results), elapsed, cpu


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def publish(settings: Settings) -> Path:
    with writer_lock(settings, "bench publish"):
        return snapshot.publish(settings)


def timed_ms(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def median_ms(call: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed_ms(call)[0] for _ in range(repeat))


def read_timings(
    probe: Probe, cached: Metrics, uncached: Metrics, events: duckdb.DuckDBPyConnection, repeat: int
) -> dict[str, float]:
    """first / cold / warm API milliseconds and raw milliseconds; fails if any API answer differs from raw."""
    raw_rows = events.execute(probe.raw_sql).fetchall()
    first, answer = timed_ms(lambda: probe.ask(cached))
    answers: list[Answer] = [answer, probe.ask(cached), probe.ask(uncached)]
    if not all(probe.agrees(a, raw_rows) for a in answers):
        raise AssertionError(f"{probe.name}: the read API's answer differs from raw events")
    return {
        "first": first,
        "cold": median_ms(lambda: probe.ask(uncached), repeat),
        "warm": median_ms(lambda: probe.ask(cached), repeat),
        "raw": median_ms(lambda: events.execute(probe.raw_sql).fetchall(), 3),
    }


def held_back_world(scale: int, workdir: Path) -> tuple[Settings, Path]:
    """A generated 90-day world of about `scale` events (Parquet) ingested except its last day's file, which
    holds about 1 % of the events plus late and re-sent ones; returns the settings and that file."""
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
    return settings, held_back / last.name


def measure(scale: int, reads: int, workdir: Path) -> dict:
    settings, last = held_back_world(scale, workdir)
    dbt(settings, "build")  # seeds, models and tests: the state a scheduled pipeline leaves
    batch_rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(last)]).fetchone()[0]
    shutil.move(last, settings.landing / last.name)
    ingest_run(settings)

    incremental = dbt(settings, "run")
    after_incremental = publish(settings)
    nothing_new = dbt(settings, "run")  # the same nodes with no new rows: dbt's fixed cost per run
    full = dbt(settings, "run", "--full-refresh")
    after_full = publish(settings)

    events = duckdb.connect(str(settings.warehouse), read_only=True)  # only now: dbt needs it to itself
    total_events = events.execute("SELECT count(*) FROM raw.events").fetchone()[0]
    with Metrics(settings) as cached, Metrics(settings, cache_size=0) as uncached:
        for reader in (cached, uncached):  # open the snapshot with a question no probe asks
            reader.trend(Grain.month)
        timings = {p.name: read_timings(p, cached, uncached, events, reads) for p in PROBES}
    events.close()
    return {
        "events": total_events,
        "batch_share": batch_rows / total_events,
        "incremental": incremental,
        "nothing_new": nothing_new,
        "full": full,
        "differing_rows": sum(snapshot.differences(settings, after_incremental, after_full).values()),
        "reads_ms": timings,
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
    for s in scales:
        print(f"\nReads at {results[s]['events']:,} events (ms; every answer checked against raw events)")
        print(f"{'question':38}{'first':>8}{'cold':>8}{'warm':>8}{'raw':>9}{'raw/cold':>10}{'raw/warm':>10}")
        for probe in PROBES:
            t = results[s]["reads_ms"][probe.name]
            print(
                f"{probe.name:38}{t['first']:8.3f}{t['cold']:8.3f}{t['warm']:8.3f}{t['raw']:9.1f}"
                f"{t['raw'] / t['cold']:9,.0f}x{t['raw'] / t['warm']:9,.0f}x"
            )
    print("\nMicro-batch (last day, late and re-sent events included): incremental vs full rebuild")
    for s in scales:
        r = results[s]
        (inc_sql, inc_wall, inc_cpu), (full_sql, full_wall, full_cpu) = r["incremental"], r["full"]
        print(
            f"{r['events']:>12,} events, batch {r['batch_share']:.1%}: SQL {inc_sql:.2f}s vs {full_sql:.2f}s "
            f"({full_sql / inc_sql:.1f}x cheaper), process {inc_wall:.1f}s vs {full_wall:.1f}s "
            f"({full_wall / inc_wall:.1f}x), process CPU {inc_cpu:.1f}s vs {full_cpu:.1f}s "
            f"({full_cpu / inc_cpu:.1f}x); rows differing from full refresh: {r['differing_rows']}"
        )
        idle_sql, idle_wall, _ = r["nothing_new"]
        print(
            f"{'':>12}  the same run with nothing new: SQL {idle_sql:.2f}s, process {idle_wall:.1f}s "
            f"(dbt's fixed cost; at best {full_sql / idle_sql:.1f}x cheaper than the full rebuild)"
        )
    if len(scales) > 1:
        small, large = results[scales[0]]["reads_ms"], results[scales[-1]]["reads_ms"]
        print(f"\nFlatness (read latency at {scales[-1]:,} / at {scales[0]:,}):")
        for kind in ("cold", "warm"):
            ratios = [large[p.name][kind] / small[p.name][kind] for p in PROBES]
            print(f"  {kind}: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
