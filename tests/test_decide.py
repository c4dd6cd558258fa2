"""The decide flow under Prefect's test harness, on a small generated world trained by the real train flow."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from cli_support import pulsecast
from mlflow import MlflowClient
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from world_support import trained_world

from pulsecast.generator import WorldConfig
from pulsecast.ml.outlook.config import DecideConfig
from pulsecast.ml.outlook.scope import UnknownCampaign
from pulsecast.ml.series import Metric
from pulsecast.ml.training import TrainConfig
from pulsecast.settings import Settings
from pulsecast.warehouse import reader

pytestmark = pytest.mark.slow

BUDGET_KINDS = ("budget_reallocation", "channel_shift")
LEVER_KINDS = {"creative_refresh": "creative_fatigue", "audience_expansion": "audience_fatigue"}
"""Each lever pivot's kind and the open risk that calls for it."""

WORLD = WorldConfig(seed=1, days=60, campaigns=4, events_per_day=3_000, end=datetime(2026, 10, 20, 9))
"""Seed 1: three campaigns spend on two or three channels with conversions, so budget pivots have curves."""
TRAINING = TrainConfig(
    metrics=[Metric.conversions, Metric.clicks, Metric.spend, Metric.revenue],
    horizon=7,
    windows=3,
    lstm_steps=10,
    lstm_networks=1,
)


@pytest.fixture(scope="module")
def trained(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return trained_world(tmp_path_factory.mktemp("decide") / "data", WORLD, TRAINING)


def table(settings: Settings, query: str) -> list[tuple]:
    with reader(settings) as con:
        return con.execute(query).fetchall()


def test_decide_writes_the_outlook_and_keeps_one_alert_per_problem(
    trained: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulsecast.flows.decide import decide

    monkeypatch.setenv("PULSECAST_DATA_DIR", str(trained.data_dir))
    written = decide(DecideConfig(llm=False))
    assert written["scenarios"] > 0 and written["goals"] > 0 and written["insights"] > 0
    forecast = {c for (c,) in table(trained, "SELECT DISTINCT campaign_id FROM ml.scenarios")}
    bands = table(trained, """SELECT campaign_id, metric, span, count(*), sum(stated_probability),
                                     bool_and(measured_probability BETWEEN 0 AND 1) FROM ml.scenarios GROUP BY ALL""")
    assert {metric for _, metric, *_ in bands} == {"conversions", "clicks", "spend", "revenue"}
    assert all(n == 3 and abs(total - 1) < 1e-9 and measured for *_, n, total, measured in bands)
    per_campaign = dict(table(trained, "SELECT campaign_id, count(*) FROM ml.insights GROUP BY 1"))
    assert set(per_campaign) == forecast and all(3 <= n <= 5 for n in per_campaign.values())
    assert table(trained, "SELECT DISTINCT source FROM ml.insights") == [("rules",)], "no key, no LLM"
    assert_pivots(trained)

    risks_before = dict(table(trained, "SELECT risk_id, first_detected_at FROM ml.risks"))
    decide(DecideConfig(llm=False))
    risks_after = dict(table(trained, "SELECT risk_id, first_detected_at FROM ml.risks"))
    assert len(risks_after) == len(risks_before), "a problem found again is the same alert, not a new one"
    assert all(risks_after[risk] == first for risk, first in risks_before.items())

    with get_client(sync_client=True) as client:
        outlook_key = ArtifactFilter(key=ArtifactFilterKey(any_=["decide-outlook"]))
        artifacts = client.read_artifacts(artifact_filter=outlook_key)
    assert artifacts and "Campaign outlook" in str(artifacts[-1].data)

    campaign = sorted(forecast)[0]
    shown = pulsecast("outlook", campaign, "--json", data_dir=trained.data_dir)
    assert shown.returncode == 0, shown.stderr
    outlook = json.loads(shown.stdout)[campaign]
    assert outlook["summary"]["decide_run_id"] is not None
    assert {s["scenario"] for s in outlook["scenarios"]} == {"pessimistic", "realistic", "optimistic"}
    assert len(outlook["insights"]) >= 3
    readable = pulsecast("outlook", campaign, data_dir=trained.data_dir)
    assert readable.returncode == 0 and "Conversions scenarios" in readable.stdout, readable.stderr
    pivoted = table(trained, "SELECT min(campaign_id) FROM marts.campaign_pivots")[0][0]
    shown = json.loads(pulsecast("outlook", pivoted, "--json", data_dir=trained.data_dir).stdout)[pivoted]
    assert shown["pivots"] and shown["summary"]["pivots"] == len({p["pivot_id"] for p in shown["pivots"]})
    assert "Pivots" in pulsecast("outlook", pivoted, data_dir=trained.data_dir).stdout


def assert_pivots(settings: Settings) -> None:
    """Budget pivots were written for the newest run: ranked by impact, moves that keep each total within the
    bounds, a response fit logged to MLflow, and the outlook marts showing them."""
    pivots = table(settings, """SELECT pivot_id, rank, kind, level, impact, lift_p10, lift_p50, lift_p90,
                                       response_run_id FROM ml.pivots ORDER BY rank""")
    assert pivots, "the small world has campaigns with two channels or more: some budget move pays"
    budget = [p for p in pivots if p[2] in BUDGET_KINDS]
    assert budget and {kind for _, _, kind, *_ in pivots} <= {*BUDGET_KINDS, *LEVER_KINDS}
    assert [rank for _, rank, *_ in pivots] == list(range(1, len(pivots) + 1))
    impacts = [impact for *_, impact, _, _, _, _ in pivots]
    assert impacts == sorted(impacts, reverse=True)
    assert all(p10 <= p50 <= p90 for *_, p10, p50, p90, _ in pivots)
    moves = table(settings, """SELECT pivot_id, sum(current_spend), sum(recommended_spend),
                                      bool_and(abs(change) <= 0.3 + 1e-6) FROM ml.pivot_moves GROUP BY 1""")
    assert {m[0] for m in moves} == {p[0] for p in budget}, "only the budget kinds move spend"
    assert all(bounded for *_, bounded in moves)
    within = [m for m in moves if m[0].startswith("budget_reallocation/cmp") or m[0].startswith("channel_shift")]
    assert all(abs(now - then) < 1e-6 * now for _, now, then, _ in within), "a campaign's daily total is kept"
    [(run_id,)] = {(p[-1],) for p in budget}
    assert MlflowClient(settings.mlflow_uri).get_run(run_id).data.params["lines"] != "0"
    outlook = table(settings, "SELECT sum(pivots), count(top_pivot) FROM marts.campaign_outlook")[0]
    assert outlook[0] >= 1 and outlook[1] >= 1
    assert_lever_pivots(settings)


def assert_lever_pivots(settings: Settings) -> None:
    """A creative refresh or audience expansion exactly where this run left the matching fatigue open: in clicks,
    without moves, shown in campaign_pivots."""
    levers = table(settings, """SELECT campaign_id, kind, measure, lift_p50 FROM ml.pivots
                                WHERE kind IN ('creative_refresh', 'audience_expansion')""")
    opened = table(settings, """SELECT DISTINCT campaign_id, risk_type FROM ml.risks WHERE status = 'open'
                                AND risk_type IN ('creative_fatigue', 'audience_fatigue')""")
    assert levers, "the small world has creative fatigue open (seed 1: two campaigns): a refresh is recommended"
    assert {(c, LEVER_KINDS[kind]) for c, kind, *_ in levers} <= set(opened), "no lever pivot without its risk"
    assert all(measure == "clicks" and lift > 0 for *_, measure, lift in levers)
    shown = table(settings, """SELECT count(*), count(channel) FROM marts.campaign_pivots
                               WHERE kind IN ('creative_refresh', 'audience_expansion')""")[0]
    assert shown == (len(levers), 0)


def test_decide_for_one_campaign_and_bad_requests(trained: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from pulsecast.flows.decide import decide

    monkeypatch.setenv("PULSECAST_DATA_DIR", str(trained.data_dir))
    campaign = table(trained, "SELECT min(campaign_id) FROM ml.scenarios")[0][0]
    decide(DecideConfig(campaigns=[campaign], horizon=10, llm=False))
    newest = table(trained, "SELECT DISTINCT campaign_id, days FROM ml.scenarios WHERE span = 'horizon' AND "
                            "run_id = (SELECT arg_max(run_id, created_at) FROM ml.scenarios)")  # fmt: skip
    assert {c for c, _ in newest} == {campaign}
    assert all(days <= 10 for _, days in newest)
    with pytest.raises(UnknownCampaign, match="cmp-nope"):
        decide(DecideConfig(campaigns=["cmp-nope"], llm=False))
    unknown = pulsecast("outlook", "cmp-nope", data_dir=trained.data_dir)
    assert unknown.returncode == 2 and campaign in unknown.stderr, "a clear error lists the campaigns there are"


def test_outlook_before_anything_was_published_says_what_to_do(tmp_path: Path) -> None:
    answer = pulsecast("outlook", data_dir=tmp_path / "data")
    assert answer.returncode == 1 and "run `pulsecast run`" in answer.stderr, answer.stderr
