"""A campaign's page in real Chromium on a world the train and decide flows ran on: the forecast fan chart, the
goal probability, scenarios, pivots and insights are the API's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import ApiWorld
from dashboard_support import chromium, shown_snapshot, signed_in
from test_decide import TRAINING, WORLD
from world_support import trained_world

from pulsecast.http.server import serving
from pulsecast.ml.outlook.config import DecideConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def decided(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    from pulsecast.flows.decide import decide

    data_dir = tmp_path_factory.mktemp("dashboard-outlook") / "data"
    settings = trained_world(data_dir, WORLD, TRAINING)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PULSECAST_DATA_DIR", str(data_dir))
        decide(DecideConfig(llm=False))
    with serving(settings) as url:
        yield ApiWorld.admin_only(settings, url, WORLD)


def test_the_campaign_page_shows_the_outlook_as_the_api_says_it(decided: ApiWorld) -> None:
    with decided.client("admin") as client:
        outlook = client.get("/api/metrics/outlook").json()["data"]
        campaign = next(row["campaign_id"] for row in outlook if row["goal_probability"] is not None)
        ask = {name: client.get(f"/api/metrics/{name}", params={"campaign": campaign, **extra}).json()["data"]
               for name, extra in (("forecast", {"metric": "conversions", "level": "campaign", "model": "ensemble"}),
                                   ("scenarios", {"metric": "conversions"}), ("pivots", {}), ("insights", {}),
                                   ("risks", {"status": "open"}))}
    goal = next(row["goal_probability"] for row in outlook if row["campaign_id"] == campaign)
    assert ask["forecast"] and ask["scenarios"] and ask["insights"]
    with chromium() as browser, signed_in(browser, decided, "admin") as page:
        page.goto(f"{decided.url}/campaigns/{campaign}")
        shown_snapshot(page)
        assert float(page.get_attribute("#outlook dd[data-field=goal_probability]", "data-value")) == goal
        assert page.get_attribute("#forecast", "data-points") == str(len(ask["forecast"]))
        assert page.locator("#forecast .u-wrap").count() == 1
        for section in ("scenarios", "pivots", "risks"):
            assert page.locator(f"#{section} tbody tr").count() == len(ask[section]), section
        assert page.locator("#insights li").count() == len(ask["insights"])
