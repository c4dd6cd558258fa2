"""The HTTP API under load on loopback while the live loop publishes: requests/s, p50 / p99 latency, errors, for
the API's clients and the dashboard's signed-in browsers side by side, and the same API mix answered in-process
by the read API (the HTTP overhead ratio).

    .venv/bin/python bench/serve.py [--seconds 60] [--clients 64] [--page-clients 16] [--publisher live|full]
                                    [--publish-every 2] [--step-minutes 5] [--data-dir DIR]

A small world is generated, ingested, built and published (or `--data-dir` names one already published); an
advertiser key per brand, and one per page client, are created; `pulsecast api` runs in its own process. Two
populations of keep-alive clients run for --seconds:

- --clients API clients send the overview's questions (KPI windows, top campaigns both ways, brand table,
  device mix, pacing, activity feed, an hourly trend, freshness) with a tenant's key in the Authorization header.
- --page-clients browsers (default a quarter of --clients) sign in once with the login form (POST /login, a form
  body) and keep the session cookie, then view pages in a loop: the page's HTML (the overview or one of their
  brand's campaigns), its styles and scripts as a browser cache has them (fetched once: their URLs name their
  version and come with `immutable`; an unversioned one would be asked again with If-None-Match), then exactly the
  API requests the page's scripts make on load (static/overview.js, campaign.js: /api/me, then each section's
  question; the same questions are asked again on every `snapshot` event). An advertiser's overview asks `earnings`
  and is answered 403, which the page expects and shows as "not available": that status counts as an answer, any
  other status than the one the page expects as an error. The push channel (/api/events) is not held open: an idle
  stream costs the server a sleeping task, and the requests it triggers are the ones the loop makes anyway.

Meanwhile a separate process publishes (separate so that its CPU is not taken from the load generator's event
loop by the GIL). `--publisher live` (the default) is what production does: every --publish-every seconds the
world's next --step-minutes of simulated events land (`generate_live`, the live simulation) and the live loop's
micro-batch (`pulsecast.live.micro_batch`: ingest, incremental refresh, publish of the tables that changed)
makes them visible; the landing -> published time of each batch is printed (a batch that takes longer
than --publish-every, as on 2 busy cores, is followed by the next at once). `--publisher full` republishes
every table instead (a harsher case for the server's reader, which asks every cached question again on each
new snapshot before it switches). On a reused --data-dir the live simulation continues where it stopped.

The load generator is a minimal HTTP/1.1 client on asyncio streams: on a 2-core machine httpx's own CPU per
request would be measured instead of the server's. One connection per client, requests one after the other (a
browser spreads a page's requests over up to six connections; here the client count is the concurrency).

Goals on a 2-core machine: >= 1,000 requests/s, p99 <= 50 ms, 0 errors while publishing. Figures are printed
beside the goals as ratios, with the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from urllib.parse import urlencode

import duckdb

from pulsecast.build import build, warm_runner
from pulsecast.generator import WorldConfig, generate_backfill, generate_live
from pulsecast.generator.simulation import FIRST_LIVE_WINDOW
from pulsecast.generator.state import LiveState
from pulsecast.ingest import ingest_run
from pulsecast.keys import KeyStore, key_id_of
from pulsecast.live import micro_batch
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import Dimension, Grain
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock

GOAL_RPS = 1_000
GOAL_P99_MS = 50.0
WORLD = WorldConfig(seed=7, days=14, campaigns=12, events_per_day=5_000, end=datetime(2026, 10, 3, 14))
"""The backfill's world; the live publisher continues the same one (the simulation's state must match it)."""
ASSET = re.compile(rb'(?:href|src)="(/static/[^"]+)"')


def published(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir)
    if not (settings.snapshots / snapshot.POINTER).exists():
        settings.ensure_dirs()
        generate_backfill(WORLD, settings.landing, settings.truth)
        ingest_run(settings)
        build(settings)
    return settings


def campaigns_by_brand(settings: Settings) -> dict[str, list[str]]:
    with Metrics(settings) as metrics:
        pacing = metrics.ask("pacing").records()
    brands: dict[str, list[str]] = {}
    for row in pacing:
        brands.setdefault(row["brand_id"], []).append(row["campaign_id"])
    return dict(sorted(brands.items()))


def request_mix(brands: dict[str, list[str]]) -> list[tuple[Scope, str, dict]]:
    """The overview dashboard's requests, per advertiser: (scope, question, parameters)."""
    mix = []
    for brand, campaigns in brands.items():
        scope = advertiser(brand)
        mix += [
            (scope, "kpis", {}),
            (scope, "top", {"by": "impressions"}),
            (scope, "top", {"by": "ctr"}),
            (scope, "brands", {}),
            (scope, "devices", {"brand": brand}),
            (scope, "pacing", {}),
            (scope, "feed", {"campaign": campaigns[0]}),
            (scope, "trend", {"grain": "hour", "by": "campaign", "start": "2026-10-02T00:00"}),
            (scope, "freshness", {}),
        ]
    return mix


def advertiser(brand: str) -> Scope:
    return Scope(Kind.advertiser, frozenset({brand}))


def path(question: str, params: dict) -> str:
    endpoint = "/api/freshness" if question == "freshness" else f"/api/metrics/{question}"
    return f"{endpoint}?{urlencode(params)}"


@dataclass(frozen=True)
class Page:
    """A dashboard page: its address and the API requests its scripts make on load, each with the status the
    page expects."""

    address: str
    requests: tuple[tuple[str, int], ...]


def overview_page() -> Page:
    """static/overview.js for an advertiser: who am I, then every section (earnings: 403, "not available")."""
    questions = ["kpis", "top?by=impressions", "brands", "pacing", "devices", "earnings", "feed"]
    requests = [(f"/api/metrics/{q}", 403 if q == "earnings" else 200) for q in questions]
    return Page("/", (("/api/me", 200), *requests))


def campaign_page(campaign: str) -> Page:
    """static/campaign.js: who am I, the what-if form's channels, then every section (trend with the form's
    defaults: grain=day, empty filters left out)."""
    asked = [
        ("trend", {"by": "channel"}),
        ("outlook", {}),
        ("trend", {"grain": "day"}),
        ("forecast", {"metric": "conversions", "level": "campaign", "model": "ensemble"}),
        ("scenarios", {"metric": "conversions"}),
        ("risks", {"status": "open"}),
        ("pivots", {}),
        ("insights", {}),
    ]
    requests = [(f"/api/metrics/{q}?{urlencode({'campaign': campaign, **params})}", 200) for q, params in asked]
    return Page(f"/campaigns/{campaign}", (("/api/me", 200), *requests))


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


def get(target: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {target} HTTP/1.1", "Host: x", *headers, "", ""]).encode()


def login(key: str) -> bytes:
    body = urlencode({"key": key})
    form = f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}"
    return f"POST /login HTTP/1.1\r\nHost: x\r\n{form}\r\n\r\n{body}".encode()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[bytes, bytes]
    """Lower-case names."""
    body: bytes


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> Answer:
    """One keep-alive request. Every answer here has a Content-Length, or no body (304)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines[1:])}
    status = int(lines[0][9:12])
    body = b"" if status == 304 else await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return Answer(status, headers, body)


@dataclass
class Tally:
    """One population's figures: each answered request's latency, each error (a status or a transport error)."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Connection:
    """A keep-alive connection that times and checks each request; reopened after a transport error."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def send(self, request: bytes, expected: tuple[int, ...] = (200,)) -> Answer | None:
        started = time.perf_counter()
        try:
            answer = await fetch(self.reader, self.writer, request)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            self.tally.errors.append(type(error).__name__)
            self.writer.close()
            await self.__aenter__()
            return None
        self.tally.latencies.append((time.perf_counter() - started) * 1000)
        if answer.status not in expected:
            self.tally.errors.append(f"{answer.status} {request.split(b' ')[1].split(b'?')[0].decode()}")
        return answer


async def api_client(port: int, requests: list[bytes], until: float, tally: Tally) -> None:
    async with Connection(port, tally) as connection:
        while time.perf_counter() < until:
            await connection.send(random.choice(requests))


async def browser(port: int, key: str, pages: list[Page], until: float, tally: Tally) -> None:
    """Sign in once, then view pages until `until`, keeping each asset as a browser cache does."""
    async with Connection(port, tally) as connection:
        signed_in = await connection.send(login(key), expected=(303,))
        if signed_in is None or b"set-cookie" not in signed_in.headers:
            return
        cookie = "Cookie: " + signed_in.headers[b"set-cookie"].split(b";")[0].decode()
        cache: dict[bytes, str | None] = {}
        while time.perf_counter() < until:
            await page_view(connection, random.choice(pages), cookie, cache)


async def page_view(connection: Connection, page: Page, cookie: str, cache: dict[bytes, str | None]) -> None:
    """A page, its styles and scripts as a browser cache has them, then its questions. `cache` maps each asset
    to its ETag, or to None once it came with `immutable` (a browser does not ask for it again)."""
    html = await connection.send(get(page.address, cookie))
    for asset in ASSET.findall(html.body if html else b""):
        if asset in cache and cache[asset] is None:
            continue
        cached = (f"If-None-Match: {cache[asset]}",) if asset in cache else ()
        answer = await connection.send(get(asset.decode(), *cached), expected=(200, 304))
        if answer and b"immutable" in answer.headers.get(b"cache-control", b""):
            cache[asset] = None
        elif answer and b"etag" in answer.headers:
            cache[asset] = answer.headers[b"etag"].decode()
    for target, status in page.requests:
        await connection.send(get(target, cookie), expected=(status,))


@dataclass(frozen=True)
class Population:
    """Page clients: one key (so one sign-in, one session) and the pages of its brand, each."""

    keys: list[str]
    pages: list[list[Page]]


async def load(port: int, requests: list[bytes], browsers: Population, seconds: float,
               clients: int) -> tuple[Tally, Tally, float]:
    api, pages = Tally(), Tally()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(api_client(port, requests, until, api) for _ in range(clients)),
        *(browser(port, key, seen, until, pages) for key, seen in zip(browsers.keys, browsers.pages, strict=True)),
    )
    return api, pages, time.perf_counter() - started


@dataclass(frozen=True)
class Published:
    """One publisher pass: when it ended (epoch s), the snapshot readers now see, landing (or start) -> published."""

    ended: float
    snapshot: str | None
    seconds: float


def live_batches(settings: Settings, step: timedelta) -> Callable[[], Published]:
    """The live simulation's next `step` of events lands, then the live loop's micro-batch publishes them. The
    simulated clock starts where the simulation's state stopped, or at the backfill's end: the first call
    generates the hour before its `now`, so that hour is the first after the backfill."""
    state = LiveState.load(settings.simulation_state)
    clock = [state.watermark if state else WORLD.end + FIRST_LIVE_WINDOW - step]

    def batch() -> Published:
        clock[0] += step
        generate_live(WORLD, settings.landing, settings.truth, settings.simulation_state, now=clock[0])
        landed = time.perf_counter()
        built = micro_batch(settings).build
        name = built.published.name if built else None
        return Published(time.time(), name, time.perf_counter() - landed)

    return batch


def full_publish(settings: Settings) -> Published:
    started = time.perf_counter()
    with writer_lock(settings, "bench serve publish"):
        name = snapshot.publish(settings).name
    return Published(time.time(), name, time.perf_counter() - started)


def publishing(kind: str, data_dir: Path, every_s: float, step: timedelta, signals: tuple[Event, Event],
               out: multiprocessing.Queue) -> None:
    """The publisher process: `ready` once dbt's project is parsed (as in the long-lived live loop, not a cost of
    the first batch), then a pass every `every_s` seconds (start to start; at once after a longer pass) until
    `stop`, each pass's figures on `out`, then None."""
    ready, stop = signals
    settings = Settings(data_dir=data_dir)
    publish = live_batches(settings, step) if kind == "live" else lambda: full_publish(settings)
    if kind == "live":
        warm_runner()
    ready.set()
    due = time.monotonic() + every_s
    while not stop.wait(max(0.0, due - time.monotonic())):
        due = time.monotonic() + every_s
        out.put(publish())
    out.put(None)


def collected(out: multiprocessing.Queue) -> list[Published]:
    passes = []
    while (one := out.get()) is not None:
        passes.append(one)
    return passes


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
    latency without the queueing a closed loop of many clients adds on a busy machine. Static files carry no
    key, so they are not among them."""
    log = f"read_json_auto('{settings.audit}/*.jsonl', format='newline_delimited')"
    rows = duckdb.sql(
        f"SELECT latency_ms FROM {log} WHERE key_id = ANY(?) AND CAST(time AS TIMESTAMPTZ) >= ?",
        params=[key_ids, since],
    ).fetchall()
    return [ms for (ms,) in rows]


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def row(name: str, tally: Tally, elapsed: float, inside: list[float]) -> str:
    at_client = f"{percentile(tally.latencies, 50):8.2f} {percentile(tally.latencies, 99):8.2f}"
    in_server = f"{percentile(inside, 50):8.2f} {percentile(inside, 99):8.2f}"
    return f"  {name:<10} {len(tally.latencies) / elapsed:10,.0f} {at_client} {len(tally.errors):7,d} {in_server}"


def report_publisher(kind: str, passes: list[Published], started: float, ended: float) -> None:
    during = [one for one in passes if started <= one.ended <= ended]
    snapshots = {one.snapshot for one in during if one.snapshot}
    seconds = [one.seconds for one in during]
    timing = f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s" if seconds else "none"
    what = "landing -> published" if kind == "live" else "publish"
    print(
        f"publisher {kind}: {len(during)} passes and {len(snapshots)} new snapshots while the load ran "
        f"({len(passes)} passes in all); {what} {timing}"
    )


def report(args: argparse.Namespace, api: Tally, pages: Tally, elapsed: float, inside: tuple[list[float], ...],
           local: list[float]) -> None:
    print(f"HTTP on loopback for {elapsed:.0f} s: {args.clients} API clients, {args.page_clients} page clients")
    print(f"  {'':<10} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'in p50':>8} {'in p99':>8}")
    total = Tally(api.latencies + pages.latencies, api.errors + pages.errors)
    for name, tally, seen in (("API mix", api, inside[0]), ("pages", pages, inside[1]), ("total", total, inside[2])):
        print(row(name, tally, elapsed, seen))
    rps, p99 = len(total.latencies) / elapsed, percentile(total.latencies, 99)
    print(
        f"  goals: {rps / GOAL_RPS:.2f}x the {GOAL_RPS:,} requests/s, p99 {p99 / GOAL_P99_MS:.2f}x the "
        f"{GOAL_P99_MS:.0f} ms ceiling, {len(total.errors):,} errors of {len(total.latencies):,} requests "
        f"{sorted(set(total.errors)) or ''}"
    )
    print("  (in p50 / p99: inside the server, from the audit log; static files are not in it)")
    p50, local_p50, local_p99 = percentile(api.latencies, 50), percentile(local, 50), percentile(local, 99)
    print(f"in-process read API, the API mix: p50 {local_p50:.3f} ms, p99 {local_p99:.3f} ms")
    print(
        f"HTTP overhead, API mix: in the server p50 {percentile(inside[0], 50) / local_p50:.0f}x the in-process read; "
        f"at the client p50 {p50 / local_p50:.0f}x, p99 {percentile(api.latencies, 99) / local_p99:.0f}x "
        f"(queueing of {args.clients + args.page_clients} clients included)"
    )
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64, help="API clients (the overview's questions)")
    parser.add_argument("--page-clients", type=int, default=None, help="signed-in browsers (default clients / 4)")
    parser.add_argument("--publisher", choices=["live", "full"], default="live")
    parser.add_argument("--publish-every", type=float, default=2.0)
    parser.add_argument("--step-minutes", type=float, default=5.0, help="simulated minutes per live batch")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.page_clients is None:
        args.page_clients = max(1, args.clients // 4)
    return args


def main() -> None:
    args = arguments()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pulsecast-serve-")) / "data"
    settings = published(data_dir)
    brands = campaigns_by_brand(settings)
    mix = request_mix(brands)
    store = KeyStore(settings.key_store)
    keys = {scope: store.create(scope, "bench", rate=1e6)[1] for scope in {scope for scope, _, _ in mix}}
    requests = [get(path(question, params), f"Authorization: Bearer {keys[scope]}") for scope, question, params in mix]
    tenants = [list(brands)[i % len(brands)] for i in range(args.page_clients)]
    browsers = Population(
        [store.create(advertiser(brand), "bench page", rate=1e6)[1] for brand in tenants],
        [[overview_page(), *map(campaign_page, brands[brand])] for brand in tenants],
    )
    port = free_port()
    server = start_server(settings, port)
    spawn = multiprocessing.get_context("spawn")
    ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    step = timedelta(minutes=args.step_minutes)
    publisher = spawn.Process(
        target=publishing, args=(args.publisher, data_dir, args.publish_every, step, (ready, stop), out)
    )
    try:
        publisher.start()
        warm_up = Population(browsers.keys[:1], browsers.pages[:1])
        asyncio.run(load(port, requests, warm_up, 2.0, 4))  # imports, first snapshot open, static files
        if not ready.wait(120):
            raise RuntimeError("the publisher did not start")
        started = datetime.now(UTC)
        api, pages, elapsed = asyncio.run(load(port, requests, browsers, args.seconds, args.clients))
        ended = time.time()
    finally:
        stop.set()
        passes = collected(out) if publisher.is_alive() else []
        publisher.join()
        server.terminate()
        server.wait(timeout=30)
    local = in_process_ms(settings, mix, 5_000)
    ids = [key_id_of(key) for key in keys.values()], [key_id_of(key) for key in browsers.keys]
    inside = server_ms(settings, ids[0], started), server_ms(settings, ids[1], started)
    report_publisher(args.publisher, passes, started.timestamp(), ended)
    report(args, api, pages, elapsed, (*inside, inside[0] + inside[1]), local)


if __name__ == "__main__":
    main()
