"""One published world served over HTTP, with a key per principal: what the API, key and isolation tests use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from world_support import published_world

from pulsecast.generator import WorldConfig, generate_live
from pulsecast.generator.state import LiveState
from pulsecast.http.server import serving
from pulsecast.keys import KeyStore
from pulsecast.live import micro_batch
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock

NO_CAMPAIGN = "cmp-nonexistent"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Principal:
    name: str
    scope: Scope
    key: str


@dataclass(frozen=True)
class ApiWorld:
    settings: Settings
    url: str
    principals: dict[str, Principal]
    """admin, tenant (one brand), rival (the other brands with events), owner (one data owner)."""
    world: WorldConfig

    @classmethod
    def admin_only(cls, settings: Settings, url: str, world: WorldConfig) -> ApiWorld:
        """A served world with one admin key: for the tests that need no tenants."""
        _, key = KeyStore(settings.key_store).create(Scope(), "admin", rate=10_000)
        return cls(settings, url, {"admin": Principal("admin", Scope(), key)}, world)

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.principals[who].key}"})

    def scope(self, who: str) -> Scope:
        return self.principals[who].scope

    def publish(self) -> Path:
        """Publish the marts again and wait until the server answers from the new snapshot."""
        with writer_lock(self.settings, "test publish"):
            published = snapshot.publish(self.settings)
        self.wait_until_served(published.name)
        return published

    def land_next_hour(self) -> Path:
        """The world's next hour of events as the live simulation lands them, then the live loop's micro-batch
        (ingest, refresh, publish); waits until the server answers from the new snapshot."""
        live = self.settings.data_dir.parent / "live"
        state = LiveState.load(live / "state.json")
        landed = state.watermark if state else self.world.resolved_end()
        generate_live(self.world, self.settings.landing, live / "truth", live / "state.json", now=landed + HOUR)
        built = micro_batch(self.settings).build
        assert built is not None, "the next hour landed nothing to publish"
        self.wait_until_served(built.published.name)
        return built.published

    def wait_until_served(self, name: str, timeout_s: float = 60.0) -> None:
        """Until the server answers from snapshot `name` (it warms the changed questions on it first)."""
        deadline = time.monotonic() + timeout_s
        with self.client("admin") as client:
            while client.get("/api/freshness").json()["snapshot"] != name:
                assert time.monotonic() < deadline, "the server did not move to the new snapshot"
                time.sleep(0.05)


@contextmanager
def api_world(data_dir: Path) -> Iterator[ApiWorld]:
    world = WorldConfig(seed=3, days=3, campaigns=4, events_per_day=2_000, end=datetime(2026, 10, 3, 14))
    settings = published_world(data_dir, world)
    with Metrics(settings) as metrics:
        brands = sorted({row["brand_id"] for row in metrics.ask("pacing").records() if row["impressions_to_date"]})
        owner = metrics.ask("earnings").records()[0]["owner_id"]
    assert len(brands) >= 2, "the isolation tests need two advertisers with events"
    scopes = {
        "admin": Scope(),
        "tenant": Scope(Kind.advertiser, frozenset(brands[:1])),
        "rival": Scope(Kind.advertiser, frozenset(brands[1:])),
        "owner": Scope(Kind.owner, owners=frozenset({owner})),
    }
    store = KeyStore(settings.key_store)
    keys = {name: store.create(scope, name, rate=10_000)[1] for name, scope in scopes.items()}
    principals = {name: Principal(name, scope, keys[name]) for name, scope in scopes.items()}
    with serving(settings) as url:
        yield ApiWorld(settings, url, principals, world)


def plain(records: list[dict]) -> list[dict]:
    """Records as the API's JSON says them: money a number, times ISO-8601 text."""

    def value(v: object) -> object:
        if isinstance(v, Decimal):
            return float(v)
        return v.isoformat() if isinstance(v, date) else v

    return [{k: value(v) for k, v in record.items()} for record in records]
