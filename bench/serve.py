"""The HTTP API under load on loopback while snapshots are republished: requests/s, p50 / p99 latency, errors,
and the same request mix answered in-process by the read API (the HTTP overhead ratio).

    .venv/bin/python bench/serve.py [--seconds 60] [--clients 64] [--publish-every 2] [--data-dir DIR]

A small world is generated, ingested, built and published (or `--data-dir` names one already published); an
advertiser key per brand and an admin key are created; `pulsecast api` runs in its own process; --clients
keep-alive connections send the overview dashboard's requests (KPI windows, top campaigns both ways, brand
table, device mix, pacing, activity feed, an hourly trend, freshness), each with a tenant's key, for --seconds,
while a thread republishes the snapshot every --publish-every seconds (a full publish: every table's files
change, so the server's reader asks every cached question again on each new snapshot before it switches).
The load generator is a minimal HTTP/1.1 client on asyncio streams: on a 2-core machine httpx's own CPU per
request would be measured instead of the server's.

Goals on a 2-core machine: >= 1,000 requests/s, p99 <= 50 ms, 0 errors while publishing. Figures are printed
beside the goals as ratios, with the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import duckdb

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.keys import KeyStore
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import Dimension, Grain
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock

GOAL_RPS = 1_000
GOAL_P99_MS = 50.0


def published(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir)
    if not (settings.snapshots / snapshot.POINTER).exists():
        settings.ensure_dirs()
        config = WorldConfig(seed=7, days=14, campaigns=12, events_per_day=5_000, end=datetime(2026, 10, 3, 14))
        generate_backfill(config, settings.landing, settings.truth)
        ingest_run(settings)
        build(settings)
    return settings


def request_mix(settings: Settings) -> list[tuple[Scope, str, dict]]:
    """The overview dashboard's requests, per advertiser: (scope, question, parameters)."""
    with Metrics(settings) as metrics:
        pacing = metrics.ask("pacing").records()
    mix = []
    for brand in sorted({row["brand_id"] for row in pacing}):
        scope = Scope(Kind.advertiser, frozenset({brand}))
        campaign = next(row["campaign_id"] for row in pacing if row["brand_id"] == brand)
        mix += [
            (scope, "kpis", {}),
            (scope, "top", {"by": "impressions"}),
            (scope, "top", {"by": "ctr"}),
            (scope, "brands", {}),
            (scope, "devices", {"brand": brand}),
            (scope, "pacing", {}),
            (scope, "feed", {"campaign": campaign}),
            (scope, "trend", {"grain": "hour", "by": "campaign", "start": "2026-10-02T00:00"}),
            (scope, "freshness", {}),
        ]
    return mix


def path(question: str, params: dict) -> str:
    endpoint = "/api/freshness" if question == "freshness" else f"/api/metrics/{question}"
    return f"{endpoint}?{urlencode(params)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings: Settings, port: int) -> subprocess.Popen:
    executable = Path(sys.executable).parent / "pulsecast"
    server = subprocess.Popen(
        [str(executable), "api", "--port", str(port)],
        env=os.environ | {"PULSECAST_DATA_DIR": str(settings.data_dir.resolve())},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the API server did not start")


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive request; the status. Every answer in the mix has a Content-Length."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = next(int(line[15:]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


async def client(port: int, requests: list[bytes], until: float, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            request = random.choice(requests)
            started = time.perf_counter()
            try:
                status = await fetch(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                errors.append(type(error).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def load(port: int, requests: list[bytes], seconds: float, clients: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client(port, requests, until, latencies, errors) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - started


def republish(settings: Settings, every_s: float, stop: threading.Event, published_names: list[str]) -> None:
    while not stop.wait(every_s):
        with writer_lock(settings, "bench serve publish"):
            published_names.append(snapshot.publish(settings).name)


def in_process_ms(settings: Settings, mix: list[tuple[Scope, str, dict]], calls: int) -> list[float]:
    """The same mix answered by one in-process reader (answer cache on, as in the server)."""
    timings = []
    with Metrics(settings) as metrics:
        for _ in range(calls):
            scope, question, params = random.choice(mix)
            started = time.perf_counter()
            if question == "trend":
                start = datetime.fromisoformat(params["start"])
                metrics.trend(Grain(params["grain"]), [Dimension(params["by"])], start=start, scope=scope)
            elif question == "freshness":
                metrics.freshness()
            else:
                metrics.ask(question, scope=scope, **params)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def server_ms(settings: Settings, key_ids: list[str], since: datetime) -> list[float]:
    """Each request's time inside the server, from the audit log (request in to response start): the
    latency without the queueing a closed loop of many clients adds on a busy machine."""
    log = f"read_json_auto('{settings.audit}/*.jsonl', format='newline_delimited')"
    rows = duckdb.sql(
        f"SELECT latency_ms FROM {log} WHERE key_id = ANY(?) AND CAST(time AS TIMESTAMPTZ) >= ?",
        params=[key_ids, since],
    ).fetchall()
    return [ms for (ms,) in rows]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--publish-every", type=float, default=2.0)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pulsecast-serve-")) / "data"
    settings = published(data_dir)
    mix = request_mix(settings)
    store = KeyStore(settings.key_store)
    keys = {scope: store.create(scope, "bench", rate=1e6)[1] for scope in {scope for scope, _, _ in mix}}
    requests = [
        f"GET {path(question, params)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {keys[scope]}\r\n\r\n".encode()
        for scope, question, params in mix
    ]
    port = free_port()
    server = start_server(settings, port)
    stop = threading.Event()
    published_names: list[str] = []
    publisher = threading.Thread(target=republish, args=(settings, args.publish_every, stop, published_names))
    try:
        asyncio.run(load(port, requests, 2.0, 4))  # warm-up: imports, first snapshot open
        publisher.start()
        started = datetime.now(UTC)
        latencies, errors, elapsed = asyncio.run(load(port, requests, args.seconds, args.clients))
    finally:
        stop.set()
        if publisher.is_alive():
            publisher.join()
        server.terminate()
        server.wait(timeout=30)
    local = in_process_ms(settings, mix, 5_000)
    inside = server_ms(settings, [key.split("_")[1] for key in keys.values()], started)

    rps = len(latencies) / elapsed
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    local_p50, local_p99 = percentile(local, 50), percentile(local, 99)
    print(
        f"HTTP API on loopback: {args.clients} clients for {elapsed:.0f} s, {len(published_names)} snapshots published"
    )
    print(f"  requests/s  {rps:8,.0f}   ({rps / GOAL_RPS:.2f}x the {GOAL_RPS:,} goal)")
    print(f"  p50         {p50:8.2f} ms")
    print(f"  p99         {p99:8.2f} ms ({p99 / GOAL_P99_MS:.2f}x the {GOAL_P99_MS:.0f} ms ceiling)")
    print(f"  errors      {len(errors):8,d}   of {len(latencies):,} requests {sorted(set(errors)) or ''}")
    inside_p50, inside_p99 = percentile(inside, 50), percentile(inside, 99)
    print(f"inside the server (audit log): p50 {inside_p50:.2f} ms, p99 {inside_p99:.2f} ms, {len(inside):,} requests")
    print(f"in-process read API, same mix: p50 {local_p50:.3f} ms, p99 {local_p99:.3f} ms")
    print(
        f"HTTP overhead: in the server p50 {inside_p50 / local_p50:.0f}x the in-process read; at the client "
        f"p50 {p50 / local_p50:.0f}x, p99 {p99 / local_p99:.0f}x (queueing of {args.clients} clients included)"
    )
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
