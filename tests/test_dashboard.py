"""The dashboard in real Chromium against the real app on a published snapshot: the overview's numbers are the
API's, a new snapshot reaches an open page without a reload, a tenant sees only its campaigns, the what-if form
completes, and the pages fit a phone's width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import NO_CAMPAIGN, ApiWorld
from dashboard_support import PHONE, chromium, shown_snapshot, signed_in
from playwright.sync_api import Browser, Page

from pulsecast.generator import WorldConfig
from pulsecast.http.server import serving
from pulsecast.settings import Settings

WORLD = WorldConfig()
"""Nothing is generated: the world is never published."""
WINDOWS = ("last_hour", "today", "last_7_days", "last_30_days")
KPI_FIELDS = ("impressions", "clicks", "conversions", "spend", "revenue", "ctr")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _campaign_links(page: Page) -> set[str]:
    hrefs = page.eval_on_selector_all("a[href^='/campaigns/']", "links => links.map(a => a.getAttribute('href'))")
    return {href.removeprefix("/campaigns/") for href in hrefs}


def _kpis_shown(page: Page) -> dict[tuple[str, str], float | None]:
    return {
        (window, field): _number(page.get_attribute(f"[data-window={window}] dd[data-field={field}]", "data-value"))
        for window in WINDOWS
        for field in KPI_FIELDS
    }


def _number(text: str | None) -> float | None:
    return float(text) if text else None


def test_the_overview_shows_the_apis_numbers(served: ApiWorld, browser: Browser) -> None:
    with signed_in(browser, served, "admin") as page, served.client("admin") as client:
        snapshot = shown_snapshot(page)
        kpis = {row["window_name"]: row for row in client.get("/api/metrics/kpis").json()["data"]}
        assert client.get("/api/freshness").json()["snapshot"] == snapshot
        expected = {(w, f): _number(None if kpis[w][f] is None else str(kpis[w][f])) for w in WINDOWS
                    for f in KPI_FIELDS}
        assert _kpis_shown(page) == expected
        assert any(value for value in expected.values()), "a world with no figures proves nothing"
        earnings = client.get("/api/metrics/earnings").json()["data"]
        today = float(page.get_attribute("#earnings-today", "data-value"))
        all_time = float(page.get_attribute("#earnings-all-time", "data-value"))
        assert today == pytest.approx(sum(row["earnings_today"] for row in earnings))
        assert all_time == pytest.approx(sum(row["earnings_all_time"] for row in earnings)) and all_time > 0
        brands = client.get("/api/metrics/brands").json()["data"]
        assert page.locator("#brands tbody tr").count() == len(brands)
        pacing = client.get("/api/metrics/pacing").json()["data"]
        assert {row["campaign_id"] for row in pacing} <= _campaign_links(page)
        assert page.locator("#feed li").count() > 0
        page.wait_for_function("document.getElementById('live-state').textContent", timeout=30_000)
        live = client.get("/api/live")  # no Prefect server serves the live simulation in the tests: 503, said
        assert live.status_code == 503 and "Prefect server" in live.json()["detail"]
        assert page.locator("#live-state").inner_text() == live.json()["detail"]


def test_new_events_reach_the_open_page_without_a_reload(served: ApiWorld, browser: Browser) -> None:
    """The live path end to end: the simulation lands the next hour, the live loop's ingest and micro-batch
    refresh publish it, the push channel tells the page, and its tiles show the new numbers."""
    with signed_in(browser, served, "tenant") as page, served.client("tenant") as client:
        before = shown_snapshot(page)
        shown_before = _kpis_shown(page)
        page.evaluate("window.notReloaded = true")
        published = served.land_next_hour()
        page.wait_for_function(f"document.body.dataset.snapshot === {published.name!r}", timeout=30_000)
        assert published.name != before
        assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
        assert published.name in page.locator("#snapshot").inner_text()
        kpis = {row["window_name"]: row for row in client.get("/api/metrics/kpis").json()["data"]}
        shown = _kpis_shown(page)
        assert shown[("last_30_days", "impressions")] == kpis["last_30_days"]["impressions"]
        assert shown[("last_30_days", "impressions")] > shown_before[("last_30_days", "impressions")]


def test_a_tenant_sees_only_its_campaigns(served: ApiWorld, browser: Browser) -> None:
    with served.client("admin") as admin:
        pacing = admin.get("/api/metrics/pacing").json()["data"]
    tenant_brands = served.scope("tenant").brands
    own = {row["campaign_id"] for row in pacing if row["brand_id"] in tenant_brands}
    others = {row["campaign_id"] for row in pacing} - own
    assert own and others
    with signed_in(browser, served, "tenant") as page:
        shown_snapshot(page)
        links = _campaign_links(page)
        assert own <= links and not links & others
        assert not any(other in page.content() for other in others)
        assert "Earnings are the data owners'" in page.locator("#earnings").inner_text()
        rival = sorted(others)[0]
        for campaign in (rival, NO_CAMPAIGN):  # another tenant's campaign reads as one that does not exist
            page.goto(f"{served.url}/campaigns/{campaign}")
            shown_snapshot(page)
            page.wait_for_selector("#outlook .error")
            text = page.locator("main").inner_text().replace(campaign, "CAMPAIGN")
            if campaign == rival:
                rival_text = text
        assert rival_text == text


def test_the_campaign_trend_takes_any_filters_and_splits(served: ApiWorld, browser: Browser) -> None:
    """Two channels, split by channel, daily: a line per channel, and the figures are the API's for the same
    filters."""
    with served.client("admin") as client:
        rows = client.get("/api/metrics/trend", params={"by": ["campaign", "channel"]}).json()["data"]
        spent: dict[str, set[str]] = {}
        for row in rows:
            if row["impressions"]:
                spent.setdefault(row["campaign_id"], set()).add(row["channel"])
        campaign, channels = next((c, sorted(ch)[:2]) for c, ch in sorted(spent.items()) if len(ch) >= 2)
        params = {"campaign": campaign, "grain": "day", "by": "channel", "channel": channels}
        expected = client.get("/api/metrics/trend", params=params).json()["data"]
    with signed_in(browser, served, "admin") as page:
        page.goto(f"{served.url}/campaigns/{campaign}")
        shown_snapshot(page)
        form = page.locator("#trend-form")
        for channel in channels:
            form.get_by_label(channel, exact=True).check()
        form.get_by_label("Split by").select_option("channel")
        form.get_by_role("button", name="Show").click()
        page.wait_for_function("document.getElementById('trend').dataset.lines === '2'", timeout=30_000)
        shown = page.locator("#trend details table tbody tr")
        assert shown.count() == len(expected)
        legend = page.locator("#trend .u-legend").inner_text()
        assert all(f"conversions, {channel}" in legend for channel in channels), legend
        impressions = page.eval_on_selector_all(
            "#trend details td[data-column=impressions]", "cells => cells.map(c => Number(c.dataset.value))"
        )
        assert sum(impressions) == sum(row["impressions"] for row in expected) > 0


@pytest.mark.slow
def test_the_what_if_form_completes(served: ApiWorld, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the `simulate` flow in the server's process (no Prefect server configured): its first run starts
    Prefect's temporary server, so this takes tens of seconds. The flow reads its settings from the environment,
    as `pulsecast api` sets them: here, the served world's."""
    monkeypatch.setenv("PULSECAST_DATA_DIR", str(served.settings.data_dir))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with served.client("admin") as client:
        rows = client.get("/api/metrics/trend", params={"by": ["campaign", "channel"]}).json()["data"]
    # a channel whose spend brought conversions: the response curve the budget change needs can be fitted
    converting = sorted({(r["campaign_id"], r["channel"]) for r in rows if r["conversions"] and r["spend"]})
    assert converting, "no campaign converts on any channel"
    campaign, channel = converting[0]
    with signed_in(browser, served, "admin") as page:
        page.goto(f"{served.url}/campaigns/{campaign}")
        shown_snapshot(page)
        page.wait_for_function("document.getElementById('whatif-form').dataset.channels !== undefined")
        assert channel in page.get_attribute("#whatif-form", "data-channels").split()
        page.locator("#whatif-form").get_by_label(channel, exact=True).fill("20")  # its budget +20 %
        page.get_by_label("Horizon, days").fill("7")
        page.get_by_role("button", name="Simulate").click()
        status = page.locator("#whatif-status")
        page.wait_for_function(
            "!/Simulating/.test(document.getElementById('whatif-status').textContent)", timeout=240_000
        )
        assert status.inner_text().startswith("Completed"), status.inner_text()
        assert page.locator("#whatif .u-wrap").count() == 1  # the trajectory's chart
        assert page.locator("#whatif table tbody tr").count() > 0


def test_before_the_first_publish_the_page_says_what_to_run(settings: Settings, browser: Browser) -> None:
    with serving(settings) as url, signed_in(browser, ApiWorld.admin_only(settings, url, WORLD), "admin") as page:
        page.wait_for_selector("#unpublished")
        assert "run `make run`" in page.locator("#unpublished").inner_text()
        assert page.locator("#snapshot").inner_text() == "nothing published yet"


UNNAMED = """() => [...document.querySelectorAll("input, select, button, a[href]")]
    .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute("aria-label")
                      && !node.textContent.trim())
    .map((node) => node.outerHTML)"""
"""Controls and links a screen reader could not name: no <label>, no aria-label, no text."""


def test_the_pages_fit_a_phone_and_name_every_control(served: ApiWorld, browser: Browser) -> None:
    with served.client("admin") as client:
        campaign = client.get("/api/metrics/pacing").json()["data"][0]["campaign_id"]
    with signed_in(browser, served, "admin", viewport=PHONE) as page:
        for address in ("/", f"/campaigns/{campaign}"):
            page.goto(f"{served.url}{address}")
            shown_snapshot(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], address
            assert page.evaluate(UNNAMED) == [], address
            assert page.locator("main h1").count() == 1 and page.locator("header").count() == 1


@pytest.mark.slow
def test_an_admin_pauses_and_resumes_the_live_simulation(
    served: ApiWorld, browser: Browser, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Prefect's test server holding a `live-simulation` deployment of the `generate-events` flow."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    monkeypatch.setenv("PREFECT_API_URL", get_current_settings().api.url)  # the server's threads read it
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("generate-events")
        deployment_id = client.create_deployment(flow_id=flow_id, name="live-simulation")
        with signed_in(browser, served, "admin") as page:
            state = page.locator("#live-state")
            page.wait_for_function("document.getElementById('live-state').textContent === 'Running.'", timeout=30_000)
            page.get_by_role("button", name="Pause").click()
            page.wait_for_function("document.getElementById('live-state').textContent === 'Paused.'", timeout=30_000)
            assert client.read_deployment(deployment_id).paused
            page.get_by_role("button", name="Resume").click()
            page.wait_for_function("document.getElementById('live-state').textContent === 'Running.'", timeout=30_000)
            assert not client.read_deployment(deployment_id).paused, state.inner_text()
    with served.client("tenant") as tenant:
        assert tenant.post("/api/live/pause").status_code == 403
