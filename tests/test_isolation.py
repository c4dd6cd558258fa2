"""Tenant isolation over HTTP: every endpoint x every principal x hostile requests. Another tenant's campaign
or brand, a wildcard, an injection attempt and a guessed snapshot path each get exactly the answer a name that
does not exist gets (0 leaks), every answer holds only the principal's own rows, and every request is audited."""

from __future__ import annotations

import duckdb
import pytest
from api_support import NO_CAMPAIGN, ApiWorld

from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import QUESTIONS
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.metrics.snapshot import current, open_manifest

ENDPOINTS = {**{name: set(question.filters) for name, question in QUESTIONS.items()}, "trend": {"campaign", "brand"}}
PRINCIPALS = ["tenant", "rival", "owner"]
WILDCARDS = ["*", "%", "cmp-%", "x' OR '1'='1", "cmp-001') OR 1=1 --", "../snapshots/CURRENT"]


def visible(served: ApiWorld, scope: Scope) -> dict[str, set[str]]:
    """What a scope may see, read from the snapshot itself (not from the code under test)."""
    con = open_manifest(served.settings, current(served.settings))
    try:
        campaigns = con.execute("SELECT campaign_id, brand_id FROM campaigns").fetchall()
    finally:
        con.close()
    if scope.kind is Kind.admin:
        return {"campaign": {c for c, _ in campaigns}, "brand": {b for _, b in campaigns}}
    return {"campaign": {c for c, b in campaigns if b in scope.brands}, "brand": set(scope.brands)}


def hostile_values(served: ApiWorld, who: str) -> dict[str, list[str]]:
    """Per filter, values the principal must not be able to tell from names that do not exist."""
    own = visible(served, served.scope(who))
    everyone = visible(served, Scope())
    with Metrics(served.settings) as metrics:
        owners = {r["owner_id"] for r in metrics.ask("earnings").records()}
    return {
        "campaign": sorted(everyone["campaign"] - own["campaign"]) + WILDCARDS,
        "brand": [*sorted(everyone["brand"] - own["brand"]), "*", "br-%"],
        "owner": [*sorted(owners - served.scope(who).owners), "%"],
    }


NONEXISTENT = {"campaign": NO_CAMPAIGN, "brand": "br-nonexistent", "owner": "own-nonexistent"}


def normalized(response, value: str) -> tuple[int, dict]:
    """Status and body, the value asked for masked in an error's sentence (which names it, as it should)."""
    body = response.json()
    if isinstance(body.get("detail"), str):
        body["detail"] = body["detail"].replace(repr(value), "<value>")
    return response.status_code, body


@pytest.mark.parametrize("who", PRINCIPALS)
def test_hostile_filters_answer_as_a_name_that_does_not_exist(served: ApiWorld, who: str) -> None:
    hostile = hostile_values(served, who)
    compared = 0
    with served.client(who) as client:
        for endpoint in ENDPOINTS:
            for option, values in hostile.items():
                baseline = client.get(f"/api/metrics/{endpoint}", params={option: NONEXISTENT[option]})
                expected = normalized(baseline, NONEXISTENT[option])
                for value in values:
                    response = client.get(f"/api/metrics/{endpoint}", params={option: value})
                    assert normalized(response, value) == expected, (who, endpoint, option, value, response.text)
                    assert response.headers.get("etag") == baseline.headers.get("etag")
                    compared += 1
    assert compared > 100


def test_guessed_paths_answer_as_a_path_that_does_not_exist(served: ApiWorld) -> None:
    name = current(served.settings).name
    guesses = [
        f"/api/metrics/{name}",
        "/api/metrics/..%2Fsnapshots%2FCURRENT",
        "/api/metrics/../../data/snapshots/CURRENT",
        f"/data/snapshots/{name}",
        f"/snapshots/{name}",
        "/api/metrics/kpis/../../../warehouse.duckdb",
    ]
    for who in ["admin", *PRINCIPALS]:
        with served.client(who) as client:
            expected = client.get("/api/metrics/nonexistent")
            assert expected.status_code == 404
            for path in guesses:
                response = client.get(path)
                assert (response.status_code, response.json()) == (404, expected.json()), (who, path)


@pytest.mark.parametrize("who", PRINCIPALS)
def test_every_answer_holds_only_the_principals_rows(served: ApiWorld, who: str) -> None:
    scope = served.scope(who)
    own = visible(served, scope)
    answered = []
    with served.client(who) as client:
        for endpoint in ENDPOINTS:
            response = client.get(f"/api/metrics/{endpoint}")
            if response.status_code == 403:  # nothing in it can be tied to one principal
                assert f"cannot ask '{endpoint}'" in response.json()["detail"]
                continue
            assert response.status_code == 200, (endpoint, response.text)
            answered.append(endpoint)
            for row in response.json()["data"]:
                if scope.kind is Kind.owner:  # its earnings, each naming the campaign it was earned on
                    assert row["owner_id"] in scope.owners, (endpoint, row)
                    continue
                assert row.get("campaign_id") in own["campaign"] | {None}, (endpoint, row)
                assert row.get("brand_id") in own["brand"] | {None}, (endpoint, row)
                assert "owner_id" not in row, (endpoint, row)
                assert row.get("scope_id", "x") != "all" and row.get("series_level") != "total", (endpoint, row)
                if "scope_id" in row:
                    assert row["scope_id"] in own["campaign"] | own["brand"], (endpoint, row)
    expected = {"earnings", "latest-earnings"} if who == "owner" else {"kpis", "pacing", "trend", "devices", "outlook"}
    assert expected <= set(answered)


def test_a_tenants_answers_are_its_share_of_the_admins(served: ApiWorld) -> None:
    """Scoping narrows to the tenant's rows and no further: its trend is the admin's filtered on its brands."""
    brands = sorted(served.scope("tenant").brands)
    with served.client("tenant") as tenant, served.client("admin") as admin:
        assert (
            tenant.get("/api/metrics/trend").json()["data"]
            == admin.get("/api/metrics/trend", params={"brand": brands}).json()["data"]
        )
        own = tenant.get("/api/metrics/pacing").json()["data"]
        assert own and own == [r for r in admin.get("/api/metrics/pacing").json()["data"] if r["brand_id"] in brands]


def test_hostile_requests_are_audited(served: ApiWorld) -> None:
    principal = served.principals["rival"]
    value = "x' OR '1'='1"
    with served.client("rival") as client:
        assert client.get("/api/metrics/feed", params={"campaign": value}).status_code == 404
    log = f"read_json_auto('{served.settings.audit}/*.jsonl', format='newline_delimited')"
    rows = duckdb.sql(
        f"SELECT status, principal FROM {log} WHERE endpoint = '/api/metrics/feed' AND key_id = ?"
        " AND CAST(params AS JSON) ->> 'campaign' = ?",
        params=[principal.key.split("_")[1], value],
    ).fetchall()
    assert rows and rows[-1][0] == 404 and rows[-1][1].startswith("advertiser:")
