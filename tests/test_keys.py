"""API keys: shown once and hashed at rest, rotated and revoked with immediate effect, rate limited per key,
every request in the audit log (never a key), and a tenant's export of everything it can see."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import httpx
import pyarrow.parquet as pq
from api_support import ApiWorld
from cli_support import admin_client, api_process, pulsecast

from pulsecast.http.access import FAILED_BURST
from pulsecast.http.server import serving
from pulsecast.keys import KeyStore
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import Dimension, Grain
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.settings import Settings


def test_a_key_is_shown_once_and_stored_only_hashed(settings: Settings) -> None:
    created = pulsecast(
        "keys", "create", "--tenant", "br-01", "--tenant", "br-02", "--name", "acme", data_dir=settings.data_dir
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    secret = key.split("_", 2)[2]
    assert key.startswith("pck_") and len(secret) >= 40
    listed = pulsecast("keys", "list", data_dir=settings.data_dir)
    assert "acme" in listed.stdout and "advertiser:br-01,br-02" in listed.stdout and secret not in listed.stdout
    stored = b"".join(path.read_bytes() for path in settings.key_store.parent.iterdir())
    assert secret.encode() not in stored and key.split("_")[1].encode() in stored  # the id is stored, not the key
    assert KeyStore(settings.key_store).verify(key).scope == Scope(Kind.advertiser, frozenset({"br-01", "br-02"}))
    assert KeyStore(settings.key_store).verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None


def test_one_principal_per_key(settings: Settings) -> None:
    both = pulsecast("keys", "create", "--admin", "--owner", "own-01", data_dir=settings.data_dir)
    assert both.returncode != 0 and "exactly one of" in both.stderr
    unknown = pulsecast("keys", "revoke", "0123456789ab", data_dir=settings.data_dir)
    assert unknown.returncode != 0 and "no key '0123456789ab'" in unknown.stderr


def test_rotation_and_revocation_take_effect_at_once(served: ApiWorld) -> None:
    store = KeyStore(served.settings.key_store)
    record, key = store.create(Scope(), "rotating")
    with served.client("admin") as client:

        def status(presented: str) -> int:
            return client.get("/api/metrics/kpis", headers={"Authorization": f"Bearer {presented}"}).status_code

        assert status(key) == 200
        _, rotated = store.rotate(record.key_id)
        assert (status(key), status(rotated)) == (401, 200)
        store.revoke(record.key_id)
        assert status(rotated) == 401
        missing = client.get("/api/metrics/kpis", headers={"Authorization": ""})
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in missing.json()["detail"]
        assert status("pck_nope") == status(f"pck_{record.key_id}_guess") == status("Basic abc") == 401


def test_a_key_over_its_rate_gets_429_with_retry_after(served: ApiWorld) -> None:
    _, key = KeyStore(served.settings.key_store).create(Scope(), "slow", rate=1)
    with served.client("admin") as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/api/metrics/kpis", headers=headers).status_code == 200
        limited = client.get("/api/metrics/kpis", headers=headers)
        assert limited.status_code == 429 and "1 requests/s" in limited.json()["detail"]
        retry = int(limited.headers["retry-after"])
        assert retry >= 1
        time.sleep(retry)
        assert client.get("/api/metrics/kpis", headers=headers).status_code == 200
        assert client.get("/api/metrics/kpis").status_code == 200  # the other keys keep their own buckets


def test_an_address_that_keeps_guessing_keys_is_turned_away(served: ApiWorld) -> None:
    """Failed key attempts are counted per client address, over the header and the login form alike: after the
    burst the address gets 429 with Retry-After before any key is hashed, then its attempts come back at the
    steady rate. A server of its own, so that the other tests' address keeps its budget."""
    with serving(served.settings) as url, httpx.Client(base_url=url) as client:
        guess = f"pck_{'0' * 12}_guess"
        statuses = [
            client.get("/api/metrics/kpis", headers={"Authorization": f"Bearer {guess}"}).status_code
            for _ in range(int(FAILED_BURST))
        ]
        assert statuses == [401] * int(FAILED_BURST)
        refused = client.get("/api/metrics/kpis", headers={"Authorization": f"Bearer {served.principals['admin'].key}"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "failed key attempts" in refused.json()["detail"]
        login = client.post("/login", data={"key": guess})
        assert login.status_code == 429 and "Too many attempts" in login.text
        page = client.get("/", headers={"Authorization": f"Bearer {guess}"})  # a page checks keys the same way
        assert page.status_code == 429
        time.sleep(int(refused.headers["Retry-After"]))
        admin = client.get("/api/metrics/kpis", headers={"Authorization": f"Bearer {served.principals['admin'].key}"})
        assert admin.status_code == 200


def test_sign_in_limits_failures_not_sign_ins(served: ApiWorld) -> None:
    """The login form: a wrong key is told so, a second guess at the same key id within the second waits; a
    right key signs in as often as it is used."""
    key = served.principals["tenant"].key
    with httpx.Client(base_url=served.url) as client:
        for _ in range(3):
            assert client.post("/login", data={"key": key}).status_code == 303
        guess = key[:-1] + ("A" if key[-1] != "A" else "B")
        wrong = client.post("/login", data={"key": guess})
        assert wrong.status_code == 401 and "not a live API key" in wrong.text
        again = client.post("/login", data={"key": guess})
        assert again.status_code == 429 and again.headers["Retry-After"] == "1"


def test_every_request_is_audited_and_no_key_is(served: ApiWorld) -> None:
    record, key = KeyStore(served.settings.key_store).create(
        Scope(Kind.advertiser, served.scope("tenant").brands), "audited"
    )
    with served.client("admin") as client:
        headers = {"Authorization": f"Bearer {key}"}
        answered = client.get("/api/metrics/pacing", params={"limit": 5}, headers=headers).json()
        refused = client.get("/api/metrics/heatmap", headers=headers)
    log = f"read_json_auto('{served.settings.audit}/*.jsonl', format='newline_delimited')"
    rows = duckdb.sql(
        f"SELECT endpoint, CAST(params AS JSON) ->> 'limit', status, rows, latency_ms, principal FROM {log}"
        " WHERE key_id = ? ORDER BY time",
        params=[record.key_id],
    ).fetchall()
    assert [r[:4] for r in rows] == [
        ("/api/metrics/pacing", "5", 200, answered["rows"]),
        ("/api/metrics/heatmap", None, refused.status_code, None),
    ]
    assert all(r[4] > 0 and r[5] == record.principal for r in rows)
    written = b"".join(path.read_bytes() for path in served.settings.audit.iterdir())
    for presented in [key, *(p.key for p in served.principals.values())]:
        assert presented.split("_", 2)[2].encode() not in written


def test_a_tenant_export_holds_everything_it_can_see_and_nothing_else(served: ApiWorld, tmp_path: Path) -> None:
    store = KeyStore(served.settings.key_store)
    tenant = next(r for r in store.list() if r.name == "tenant")
    out = tmp_path / "export"
    result = pulsecast("tenant", "export", tenant.key_id, "--out", str(out), data_dir=served.settings.data_dir)
    assert result.returncode == 0, result.stderr
    files = {path.stem: pq.read_table(path) for path in out.glob("*.parquet")}
    with Metrics(served.settings) as metrics:
        assert files.keys() >= {"kpis", "pacing", "devices", "feed", "outlook", "trend"}
        assert not files.keys() & {"heatmap", "sessions", "earnings"}
        for name, table in files.items():
            expected = (
                metrics.trend(Grain.day, [Dimension.campaign], scope=tenant.scope)
                if name == "trend"
                else metrics.ask(name, scope=tenant.scope, limit=None)
            )
            assert table.equals(expected.data), name
            if "brand_id" in table.column_names:
                assert set(table.column("brand_id").to_pylist()) <= set(tenant.scope.brands) | {None}, name


def test_the_first_start_prints_an_admin_key_that_works(settings: Settings) -> None:
    """`pulsecast api` on a fresh data folder: an admin key printed once; nothing published yet is a 503."""
    with api_process(settings.data_dir) as api:
        lines = [api.process.stdout.readline() for _ in range(4)]
        key = next(line.strip() for line in lines if line.startswith("pck_"))
        assert "Pulsecast API on" in lines[-1]
        with admin_client(api.url, key) as client:
            response = client.get("/api/freshness")
            assert response.status_code == 200 and response.json()["snapshot"] is None
            empty = client.get("/api/metrics/kpis")
            assert empty.status_code == 503 and "pulsecast transform" in empty.json()["detail"]
            assert client.get("/api/metrics/kpis", headers={"Authorization": ""}).status_code == 401
    assert key.split("_", 2)[2] not in (settings.data_dir / "access" / "keys.sqlite").read_bytes().decode("latin-1")


def test_settings_are_a_flow_parameter_prefect_can_walk(settings) -> None:
    """Prefect reads a pydantic parameter with dict(); a `keys` attribute made that call it (every flow task
    taking settings failed with "'PosixPath' object is not callable")."""
    assert dict(settings)["data_dir"] == settings.data_dir
