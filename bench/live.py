"""Live: landing -> visible in the read API, micro-batch vs full rebuild, ingest speed, and a soak; side by side.

    .venv/bin/python bench/live.py [--scales 1000000 10000000] [--batches 5] [--soak MINUTES] [--readers 2]

Per scale: bench/warehouse.py's generated 90-day world, built and published except its last day, whose file (late
and re-sent events included) is cut into 10k-event micro-batches landed one at a time. Each goes the live loop's
way: `ingest_run`, then `pulsecast.build.refresh` (dbt on the models downstream of what was loaded, then the publish
of what changed), then a reader's first question, which must count the new events. Then `dbt run --full-refresh`
in its own process (node time summed from run_results.json, and the whole process) and a publish; the two
snapshots are compared row by row. Ingest events/s for Parquet and JSONL beside a bare DuckDB load
(bench/ingest.py's). `--soak` (on the first scale): a generator lands >= 10k events a minute at the world's "now"
while reader processes ask every dashboard question (one reader pre-warming, one with its cache off: warm and
cold latency) and the loop runs ingest + refresh whenever something landed; then freshness lag, read errors,
memory and disk at start and end, file accounting, and incremental == full rebuild.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ingest import bare_load, pulsecast_load, synthetic_events, write
from warehouse import END, dbt, held_back_world, publish

from pulsecast.build import build, refresh, warm_runner
from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.reference import PROBES
from pulsecast.settings import Settings

BATCH = 10_000


def rss_mb(pid: str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk_mb(settings: Settings) -> dict[str, float]:
    size = sum(p.stat().st_size for p in settings.snapshots.rglob("*") if p.is_file())
    return {"snapshots": size / 2**20, "warehouse": settings.warehouse.stat().st_size / 2**20}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def land(settings: Settings, table: pa.Table, name: str) -> float:
    """Write a Parquet file into landing the way producers should (a dot-file, then a rename); returns when."""
    partial = settings.landing / f".{name}"
    pq.write_table(table, partial)
    partial.rename(settings.landing / name)
    return time.perf_counter()


def micro_batch(settings: Settings, reader: Metrics, table: pa.Table, name: str) -> dict[str, float]:
    """One batch through the live loop's calls; seconds per part, and landing -> the reader's first answer."""
    before = reader.ask("kpis", window="all_time").records()[0]["events"]
    landed = land(settings, table, name)
    ingest_run(settings)
    ingested = time.perf_counter()
    result = refresh(settings)
    after = reader.ask("kpis", window="all_time").records()[0]["events"]
    visible = time.perf_counter()
    assert after > before, "the batch is visible"
    return {
        "ingest": ingested - landed,
        "dbt": result.dbt_seconds,
        "publish": result.publish_seconds,
        "visible": visible - landed,
        "nodes": len(result.nodes),
        "node_seconds": sum(n.seconds for n in result.nodes),
    }


def batch_of(day: pa.Table, i: int) -> pa.Table:
    """The i-th 10k events of the held-back day; past its end the day again, under new event ids (a small
    history's last day holds fewer batches than the benchmark asks for)."""
    per_day = max(1, day.num_rows // BATCH)
    batch = day.slice(i % per_day * BATCH, BATCH)
    if i < per_day:
        return batch
    ids = pc.binary_join_element_wise(batch["event_id"], pa.scalar(f"-again-{i}"), "")
    return batch.set_column(batch.schema.get_field_index("event_id"), "event_id", ids)


def full_rebuild_equals(settings: Settings, incremental: Path) -> tuple[tuple[float, float, float], int]:
    """`dbt run --full-refresh` in its own process, published; rows differing from the `incremental` snapshot."""
    full = dbt(settings, "run", "--full-refresh")
    return full, sum(snapshot.differences(settings, incremental, publish(settings)).values())


def measure(scale: int, batches: int, workdir: Path) -> tuple[Settings, dict]:
    settings, last = held_back_world(scale, workdir)
    build(settings)  # seeds, models, tests and the first publish: what the daily deployment leaves
    warm_runner()  # the live loop is long-running: it parses the project once, before the first batch
    day = pq.read_table(last)
    runs = []
    with Metrics(settings) as reader:
        for i in range(batches):
            runs.append(micro_batch(settings, reader, batch_of(day, i), f"events_live_{i:03d}.parquet"))
    full, differing = full_rebuild_equals(settings, snapshot.current(settings))
    events = duckdb.connect(str(settings.warehouse), read_only=True).execute("SELECT count(*) FROM raw.events")
    return settings, {"events": events.fetchall()[0][0], "runs": runs, "full": full, "differing": differing}


def ingest_rates(n: int, workdir: Path) -> dict[str, tuple[float, float]]:
    """Events/s (bare DuckDB load, Pulsecast's load) per format, with bench/ingest.py's file and loads."""
    table, rates = synthetic_events(n, 0), {}
    for suffix in (".parquet", ".jsonl"):
        path = write(table, workdir / f"ingest{suffix}")
        settings = Settings(data_dir=workdir / f"ingest-{suffix[1:]}")
        settings.ensure_dirs()
        load, _, _ = pulsecast_load(path, settings, f"events_a{suffix}")
        rates[suffix[1:]] = (n / bare_load(path, workdir), n / load)
    return rates


def reader_main(data_dir: str, seconds: float, out: str) -> None:
    """A soak reader process, a dashboard refreshing every second: every dashboard question, pre-warmed and cold,
    and the freshness lag."""
    settings = Settings(data_dir=Path(data_dir))
    deadline, errors, lag, lat = time.time() + seconds, [], [], {"warm": [], "cold": []}
    start_rss, next_round = rss_mb(), time.time()
    with Metrics(settings, prewarm=True) as warm, Metrics(settings, cache_size=0) as cold:
        while time.time() < deadline:
            for probe in PROBES:
                for kind, reader in (("warm", warm), ("cold", cold)):
                    started = time.perf_counter()
                    try:
                        probe.ask(reader)
                        lat[kind].append((time.perf_counter() - started) * 1000)
                    except Exception as error:  # counted, not fatal: the soak measures errors
                        errors.append(f"{probe.name}: {error}")
            lag.append((time.time(), warm.freshness().lag_s))
            next_round += 1
            time.sleep(max(0.0, next_round - time.time()))
    Path(out).write_text(json.dumps({"errors": errors, "lag": lag, "lat": lat, "rss": [start_rss, rss_mb()]}))


def live_events(campaigns: list[tuple[str, str]], n: int, offset: int, at: float) -> pa.Table:
    """`n` contract-valid events of the world's campaigns (and their brands), timed `at` seconds after the world's
    end (its now)."""
    table = synthetic_events(n, offset)
    stamp = pa.array([END + timedelta(seconds=at)] * n, pa.timestamp("ms")).cast(pa.timestamp("ms", tz="UTC"))
    for column, values in (
        ("event_ts", stamp),
        *(
            (name, pa.array([campaigns[i % len(campaigns)][k] for i in range(n)]))
            for k, name in enumerate(("campaign_id", "brand_id"))
        ),
    ):
        table = table.set_column(table.schema.get_field_index(column), column, values)
    return table


def soak(settings: Settings, minutes: float, readers: int, per_minute: int, workdir: Path) -> dict:
    seconds, every = minutes * 60, 15.0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        campaigns = con.execute("SELECT campaign_id, brand_id FROM raw.campaigns ORDER BY 1").fetchall()
    start = {"rss": rss_mb(), **disk_mb(settings)}
    outs = [workdir / f"reader-{i}.json" for i in range(readers)]
    procs = [
        subprocess.Popen([sys.executable, __file__, "--reader", str(settings.data_dir), str(seconds), str(out)])
        for out in outs
    ]
    stop, began = threading.Event(), time.time()

    def generator() -> None:
        i = 0
        while not stop.wait(0 if i == 0 else every):
            n = round(per_minute * every / 60)
            land(
                settings, live_events(campaigns, n, 10**9 + i * n, time.time() - began), f"events_soak_{i:05d}.parquet"
            )
            i += 1

    thread = threading.Thread(target=generator)
    thread.start()
    loops = []
    while time.time() - began < seconds:
        if not any(p.name.startswith("events_soak") for p in settings.landing.iterdir()):
            time.sleep(0.2)
            continue
        started = time.perf_counter()
        ingest_run(settings)
        result = refresh(settings)  # the live loop's one call after each ingest
        loops.append(
            {"seconds": time.perf_counter() - started, "dbt": result.dbt_seconds, "publish": result.publish_seconds}
        )
    stop.set()
    thread.join()
    for proc in procs:
        proc.wait()
    ingest_run(settings)
    refresh(settings)
    end = {"rss": rss_mb(), **disk_mb(settings)}
    read = [json.loads(out.read_text()) for out in outs]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        unbalanced = con.execute(
            "SELECT count(*) FROM raw.ingested_files WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"
        ).fetchall()[0][0]
    _, differing = full_rebuild_equals(settings, snapshot.current(settings))
    return {
        "loops": loops,
        "read": read,
        "start": start,
        "end": end,
        "unbalanced": unbalanced,
        "differing": differing,
        "per_minute": per_minute,
    }


def report(results: dict[int, dict], rates: dict[str, tuple[float, float]]) -> None:
    print("\nMicro-batches of 10k events (late and re-sent included): seconds, median [p95] over the batches")
    print(f"{'history':>12} {'ingest':>10} {'dbt':>10} {'publish':>10} {'landing->visible':>18} {'nodes':>6}")
    for r in results.values():
        runs = r["runs"]
        cell = {
            k: f"{statistics.median(x[k] for x in runs):.2f} [{pct([x[k] for x in runs], 0.95):.2f}]"
            for k in ("ingest", "dbt", "publish", "visible")
        }
        print(
            f"{r['events']:>12,} {cell['ingest']:>10} {cell['dbt']:>10} {cell['publish']:>10} "
            f"{cell['visible']:>18} {runs[0]['nodes']:>6}"
        )
    print("\ndbt: micro-batch refresh (in-process, parsed project kept) vs `dbt run --full-refresh` (own process)")
    for r in results.values():
        inc_nodes = statistics.median(x["node_seconds"] for x in r["runs"])
        inc_wall = statistics.median(x["dbt"] for x in r["runs"])
        full_nodes, full_wall, _ = r["full"]
        print(
            f"{r['events']:>12,} events: node time {inc_nodes:.2f}s vs {full_nodes:.2f}s "
            f"({full_nodes / inc_nodes:.1f}x "
            f"cheaper), whole process {inc_wall:.2f}s vs {full_wall:.2f}s ({full_wall / inc_wall:.1f}x); "
            f"rows differing from the full rebuild: {r['differing']}"
        )
    if len(results) > 1:
        small, large = (results[s] for s in (min(results), max(results)))
        ratio = {
            k: statistics.median(x[k] for x in large["runs"]) / statistics.median(x[k] for x in small["runs"])
            for k in ("ingest", "dbt", "publish", "visible")
        }
        print(
            f"\nMicro-batch cost at {large['events']:,} / at {small['events']:,}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items())
        )
    print(f"\n{'format':8} {'bare events/s':>14} {'pulsecast events/s':>19} {'ratio':>6}")
    for fmt, (bare, ours) in rates.items():
        print(f"{fmt:8} {bare:14,.0f} {ours:19,.0f} {ours / bare:6.2f}")


def report_soak(s: dict) -> None:
    lags = [lag for r in s["read"] for _, lag in r["lag"]]
    warm = [x for r in s["read"] for x in r["lat"]["warm"]]
    cold = [x for r in s["read"] for x in r["lat"]["cold"]]
    errors = [e for r in s["read"] for e in r["errors"]]
    seconds = [x["seconds"] for x in s["loops"]]
    print(
        f"\nSoak: {s['per_minute']:,} events a minute landed, {len(seconds)} refreshes "
        f"(loop median {pct(seconds, 0.5):.2f}s, p95 {pct(seconds, 0.95):.2f}s)"
    )
    print(f"  freshness lag: p50 {pct(lags, 0.5):.1f}s, p95 {pct(lags, 0.95):.1f}s, max {max(lags):.1f}s")
    by_minute: dict[int, list[float]] = {}
    first = min(t for r in s["read"] for t, _ in r["lag"])
    for r in s["read"]:
        for t, lag in r["lag"]:
            by_minute.setdefault(int((t - first) // 60), []).append(lag)
    print(
        "  per minute (p50/p95/max): "
        + "; ".join(f"{m}: {pct(v, 0.5):.1f}/{pct(v, 0.95):.1f}/{max(v):.1f}" for m, v in sorted(by_minute.items()))
    )
    print(f"  reads: {len(warm) + len(cold):,}, errors {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print(
        f"  latency ms: cold p50 {pct(cold, 0.5):.2f} p99 {pct(cold, 0.99):.2f}; "
        f"warm (pre-warmed) p50 {pct(warm, 0.5):.3f} p99 {pct(warm, 0.99):.2f}"
    )
    rss = [r["rss"] for r in s["read"]]
    print(
        f"  memory MB: loop {s['start']['rss']:.0f} -> {s['end']['rss']:.0f}; readers "
        + ", ".join(f"{a:.0f} -> {b:.0f}" for a, b in rss)
    )
    print(
        f"  disk MB: snapshots {s['start']['snapshots']:.1f} -> {s['end']['snapshots']:.1f}, "
        f"warehouse {s['start']['warehouse']:.0f} -> {s['end']['warehouse']:.0f}"
    )
    print(f"  files with unaccounted rows: {s['unbalanced']}; rows differing from a full rebuild: {s['differing']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--ingest-events", type=int, default=1_000_000)
    parser.add_argument("--soak", type=float, default=0.0, help="minutes of soak on the first scale (0: none)")
    parser.add_argument("--soak-events", type=int, default=12_000, help="events landed per minute")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--reader", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        data_dir, seconds, out = args.reader
        reader_main(data_dir, float(seconds), out)
        return
    workdir = Path(tempfile.mkdtemp(prefix="pulsecast-bench-live-"))
    try:
        results, soaked = {}, None
        for scale in args.scales:
            settings, results[scale] = measure(scale, args.batches, workdir)
            if args.soak and soaked is None:
                soaked = soak(settings, args.soak, args.readers, args.soak_events, workdir)
        rates = ingest_rates(args.ingest_events, workdir)
    finally:
        shutil.rmtree(workdir)
    report(results, rates)
    if soaked is not None:
        report_soak(soaked)


if __name__ == "__main__":
    main()
