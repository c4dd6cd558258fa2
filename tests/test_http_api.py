"""The HTTP API against the real app on a real server: answers equal the read API's in-process answers, in
JSON, CSV and Arrow; the snapshot as ETag (304 until a new publish); the push channel; clear 4xx answers."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import datetime

import orjson
import pyarrow as pa
import pytest
from api_support import ApiWorld, plain

from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import QUESTIONS, Dimension, Grain
from pulsecast.warehouse import writer_lock

ARROW = "application/vnd.apache.arrow.stream"


@pytest.mark.parametrize("who", ["admin", "tenant"])
def test_every_question_answers_as_the_read_api_does(served: ApiWorld, who: str) -> None:
    scope = served.scope(who)
    with served.client(who) as client, Metrics(served.settings) as metrics:
        for name in QUESTIONS:
            if who == "tenant" and not (QUESTIONS[name].tenant_rows or QUESTIONS[name].tenant_table):
                continue
            response = client.get(f"/api/metrics/{name}")
            assert response.status_code == 200, (name, response.text)
            expected = metrics.ask(name, scope=scope)
            body = response.json()
            assert body["data"] == plain(expected.records()), name
            assert (body["table"], body["rows"], body["snapshot"]) == (
                expected.table,
                expected.data.num_rows,
                expected.snapshot,
            )


def test_trend_with_filters_answers_as_the_read_api_does(served: ApiWorld) -> None:
    with served.client("admin") as client, Metrics(served.settings) as metrics:
        campaign = metrics.ask("pacing").records()[0]["campaign_id"]
        response = client.get(
            "/api/metrics/trend",
            params={"grain": "hour", "by": ["device", "channel"], "campaign": campaign, "start": "2026-10-02T09:00"},
        )
        expected = metrics.trend(
            Grain.hour, [Dimension.device, Dimension.channel], campaigns=[campaign], start=_moment("2026-10-02T09:00")
        )
    assert response.status_code == 200, response.text
    assert response.json()["table"] == expected.table == "events_hourly"
    assert response.json()["data"] == plain(expected.records()) and expected.data.num_rows


def test_csv_and_arrow_on_request_by_parameter_or_accept(served: ApiWorld) -> None:
    with served.client("admin") as client, Metrics(served.settings) as metrics:
        expected = metrics.ask("pacing")
        for response in (
            client.get("/api/metrics/pacing?format=csv"),
            client.get("/api/metrics/pacing", headers={"Accept": "text/csv"}),
        ):
            assert response.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(response.text)))
            assert rows[0] == expected.columns and len(rows) == 1 + expected.data.num_rows
            assert [row[0] for row in rows[1:]] == expected.data.column(0).to_pylist()
        for response in (
            client.get("/api/metrics/pacing?format=arrow"),
            client.get("/api/metrics/pacing", headers={"Accept": ARROW}),
        ):
            assert response.headers["content-type"] == ARROW
            assert pa.ipc.open_stream(response.content).read_all().equals(expected.data)
        assert client.get("/api/metrics/pacing", headers={"Accept": "text/html, */*;q=0.8"}).json()["rows"]
        refused = client.get("/api/metrics/pacing", headers={"Accept": "image/png"})
        assert refused.status_code == 406 and "text/csv" in refused.json()["detail"]


def test_the_snapshot_is_the_etag_until_a_new_one_is_published(served: ApiWorld) -> None:
    with served.client("tenant") as client:
        first = client.get("/api/metrics/kpis")
        etag = first.headers["etag"]
        assert etag == f'"{snapshot.current(served.settings).name}"'
        same = client.get("/api/metrics/kpis", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
        served.publish()
        fresh = client.get("/api/metrics/kpis", headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        assert fresh.json()["data"] == first.json()["data"]  # the same marts, published again


def test_a_new_snapshot_is_pushed_to_open_streams(served: ApiWorld) -> None:
    events: list[dict] = []
    opened = threading.Event()

    def listen() -> None:
        with served.client("rival") as client, client.stream("GET", "/api/events", timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(orjson.loads(line.removeprefix("data: ")))
                    opened.set()
                    if len(events) == 2:
                        return

    listener = threading.Thread(target=listen)
    listener.start()
    assert opened.wait(30), "the stream did not say the current snapshot"
    assert events[0]["snapshot"] == snapshot.current(served.settings).name
    published = served.publish()
    listener.join(30)
    assert not listener.is_alive(), "no event after a publish"
    assert events[1]["snapshot"] == published.name


def test_freshness_and_what_a_tenant_is_not_told(served: ApiWorld) -> None:
    with Metrics(served.settings) as metrics:
        expected = metrics.freshness()
    with served.client("admin") as admin, served.client("tenant") as tenant:
        figures = admin.get("/api/freshness").json()
        assert figures["snapshot"] == expected.snapshot.name and figures["events"] == expected.snapshot.events
        assert "events" not in tenant.get("/api/freshness").json()  # every advertiser's events together


def test_bad_requests_are_clear_4xx(served: ApiWorld) -> None:
    with served.client("admin") as client:
        typo = client.get("/api/metrics/top?by=CTR")
        assert typo.status_code == 422 and "'impressions' or 'ctr'" in typo.text
        clash = client.get("/api/metrics/devices", params={"campaign": "cmp-001", "brand": "br-01"})
        assert clash.status_code == 400 and "campaign and brand together" in clash.json()["detail"]
        assert client.get("/api/metrics/trend?start=yesterday").status_code == 422
        assert client.get("/api/metrics/kpis?limit=0").status_code == 422
        unknown = client.get("/api/metrics/feed?campaign=nope")
        assert unknown.status_code == 404 and "unknown campaign 'nope'" in unknown.json()["detail"]


def test_the_schema_is_served_and_the_cdn_docs_are_off(served: ApiWorld) -> None:
    with served.client("admin") as client:
        schema = client.get("/openapi.json").json()
        assert {f"/api/metrics/{name}" for name in QUESTIONS} | {"/api/metrics/trend", "/api/events"} <= set(
            schema["paths"]
        )
        by = next(p for p in schema["paths"]["/api/metrics/top"]["get"]["parameters"] if p["name"] == "by")
        assert "impressions" in str(by["schema"])
        assert client.get("/docs").status_code == 404


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_publish_reaches_the_servers_reader_warm(served: ApiWorld) -> None:
    """The server's reader (pre-warming) asks the questions of the changed tables again on a new snapshot before
    it moves to it: the first request after the switch is answered from the cache, not cold."""
    scope = served.scope("tenant")
    with Metrics(served.settings, prewarm=True) as reader:
        before = [reader.ask("kpis", scope=scope), reader.ask("pacing", scope=scope)]
        with writer_lock(served.settings, "test publish"):
            published = snapshot.publish(served.settings)
        for _ in range(300):
            if reader.snapshot == published.name:
                break
            threading.Event().wait(0.1)
        assert reader.snapshot == published.name, "the reader did not move to the new snapshot"
        assert reader.cached == 2, "the questions asked were asked again before the switch"
        after = [reader.ask("kpis", scope=scope), reader.ask("pacing", scope=scope)]
        assert reader.cached == 2 and [a.snapshot for a in after] == [published.name] * 2
        assert [a.rows for a in after] == [b.rows for b in before]  # the same marts, published again
    served.wait_until_served(published.name)  # the next tests see one snapshot throughout


def test_an_answer_is_read_again_when_any_table_it_read_changed(served: ApiWorld) -> None:
    """An advertiser's KPIs read the hourly campaign rollup besides the KPI mart: a publish that changes only the
    rollup does not keep the cached answer."""
    scope = served.scope("tenant")
    with Metrics(served.settings) as reader:
        kpis, pacing = reader.ask("kpis", scope=scope), reader.ask("pacing", scope=scope)
        with writer_lock(served.settings, "test publish"):
            published = snapshot.publish(served.settings, changed={"campaign_hourly"})
        assert reader.ask("pacing", scope=scope) is pacing, "an answer of unchanged tables is kept"
        again = reader.ask("kpis", scope=scope)
        assert again is not kpis and again.snapshot == published.name and again.rows == kpis.rows
    served.wait_until_served(published.name)


def test_the_pages_files_are_versioned_and_kept_by_browsers(served: ApiWorld) -> None:
    """Pages name each script and style with its content hash: cached for a year, revalidated without one."""
    with served.client("admin") as client:
        login = client.get("/login").text
        styles = re.search(r'href="(/static/dashboard\.css\?v=\w+)"', login)
        assert styles, login
        first = client.get(styles[1])
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/css")
        assert "immutable" in first.headers["cache-control"]
        again = client.get(styles[1], headers={"If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        unversioned = client.get("/static/dashboard.css")
        assert unversioned.headers["cache-control"] == "no-cache" and unversioned.content == first.content
        for guess in ("/static/shell.html", "/static/../keys.py", "/static/%2e%2e/app.py", "/static/nope.js"):
            assert client.get(guess).status_code == 404, guess
