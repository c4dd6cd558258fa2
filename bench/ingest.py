"""Ingest throughput: Pulsecast's exactly-once load beside a bare DuckDB load of the same file, same run.

    .venv/bin/python bench/ingest.py [--events 1000000]

For each format it prints the bare `INSERT INTO events SELECT * FROM read_*(file)` time, Pulsecast's per-file
load (stage, contract checks, quarantine, dedupe against the warehouse, insert, manifest; one transaction),
the Great Expectations audit of the run, and the load again into a warehouse that already holds the same
number of events (the dedupe then probes a full table). Ratio = Pulsecast throughput / bare throughput; the
last table puts both formats' events/s and ratios side by side.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pulsecast.contract import Channel, Device, EventType
from pulsecast.ingest import ingest_run
from pulsecast.settings import Settings


def synthetic_events(n: int, offset: int, seed: int = 1) -> pa.Table:
    """Contract-valid events shaped like the generator's: mostly impressions, a few clicks and conversions."""
    rng = np.random.default_rng(seed + offset)
    ids = pc.binary_join_element_wise("ev-", pa.array(np.arange(offset, offset + n)).cast(pa.string()), "")
    start = np.datetime64("2026-08-01T00:00:00", "ms")
    ts = start + rng.integers(0, 90 * 86_400_000, n).astype("timedelta64[ms]")
    types = np.array([t.value for t in EventType])[rng.choice(5, n, p=[0.85, 0.03, 0.005, 0.1, 0.015])]
    return pa.table(
        {
            "event_id": ids,
            "event_ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "event_type": types,
            "campaign_id": np.char.add("cmp-", rng.integers(0, 30, n).astype(str)),
            "brand_id": np.char.add("brand-", rng.integers(0, 8, n).astype(str)),
            "channel": np.array([c.value for c in Channel])[rng.integers(0, 6, n)],
            "device": np.array([d.value for d in Device])[rng.integers(0, 4, n)],
            "user_id": np.char.add("u-", rng.integers(0, 200_000, n).astype(str)),
            "cost": pa.array(np.round(rng.gamma(2.0, 0.002, n), 6)).cast(pa.decimal128(18, 6)),
        }
    )


def write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        frame = table.to_pandas()
        frame["event_ts"] = frame["event_ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        frame["cost"] = frame["cost"].astype(str)
        frame.to_json(path, orient="records", lines=True)
    return path


def bare_load(path: Path, workdir: Path) -> float:
    """`INSERT INTO events SELECT * FROM read_*(file)` into an empty table of the file's own columns: DuckDB's
    load with nothing checked, the yardstick."""
    reader = "read_parquet" if path.suffix == ".parquet" else "read_json"
    con = duckdb.connect(str(workdir / f"bare-{path.suffix[1:]}.duckdb"))
    con.execute(f"CREATE TABLE events AS SELECT * FROM {reader}(?) LIMIT 0", [str(path)])
    started = time.perf_counter()
    con.execute(f"INSERT INTO events SELECT * FROM {reader}(?)", [str(path)])
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def pulsecast_load(path: Path, settings: Settings, name: str) -> tuple[float, float, int]:
    """Returns (per-file load seconds, audit seconds, rows loaded)."""
    shutil.copy(path, settings.landing / name)
    started = time.perf_counter()
    summary = ingest_run(settings)
    total = time.perf_counter() - started
    (result,) = summary.files
    assert result.balanced and result.status == "loaded", result
    return result.seconds, total - result.seconds, result.rows_loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.events
    workdir = Path(tempfile.mkdtemp(prefix="pulsecast-bench-"))
    first, second = synthetic_events(n, 0), synthetic_events(n, n)
    print(f"{n:,} events per file; workdir {workdir}\n")
    header = f"{'format':8} {'case':38} {'seconds':>8} {'events/s':>12} {'vs bare':>8}"
    print(header)
    print("-" * len(header))
    side_by_side = []
    for suffix in (".parquet", ".jsonl"):
        files = [write(first, workdir / f"a{suffix}"), write(second, workdir / f"b{suffix}")]
        bare = bare_load(files[0], workdir)
        settings = Settings(data_dir=workdir / f"data{suffix}")
        settings.ensure_dirs()
        load, audit, rows = pulsecast_load(files[0], settings, f"events_a{suffix}")
        load_again, _, rows_again = pulsecast_load(files[1], settings, f"events_b{suffix}")
        assert rows == rows_again == n
        rows_out = [
            ("bare DuckDB load", bare),
            ("pulsecast load, empty warehouse", load),
            ("pulsecast load, warehouse holds 1 file", load_again),
            ("pulsecast load + GX audit", load + audit),
        ]
        for case, seconds in rows_out:
            print(f"{suffix[1:]:8} {case:38} {seconds:8.3f} {n / seconds:12,.0f} {bare / seconds:8.2f}")
        print()
        side_by_side.append((suffix[1:], n / bare, n / load, n / load_again))
    print(f"{'format':8} {'bare events/s':>14} {'pulsecast events/s':>19} {'ratio':>6} {'2nd file':>12} {'ratio':>6}")
    for fmt, bare_rate, rate, rate_again in side_by_side:
        print(
            f"{fmt:8} {bare_rate:14,.0f} {rate:19,.0f} {rate / bare_rate:6.2f} "
            f"{rate_again:12,.0f} {rate_again / bare_rate:6.2f}"
        )
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
