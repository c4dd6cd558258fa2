"""The flows under Prefect's test harness: ingest and transform, and the whole pipeline twice."""

from __future__ import annotations

import pytest

from pulsecast.ingest.checkpoint import site
from pulsecast.settings import Settings
from pulsecast.warehouse import reader

EVENTS = (
    '{"event_id": "p1", "event_ts": "2026-03-01T10:00:00Z", "event_type": "impression", "campaign_id": "c1", '
    '"cost": "0.004"}\n'
    '{"event_id": "p2", "event_ts": "2026-03-01T10:00:05Z", "event_type": "click", "campaign_id": "c1"}\n'
    '{"event_id": "p3", "event_ts": "2026-03-02T08:00:00Z", "event_type": "conversion", "campaign_id": "c1", '
    '"revenue": "25.50"}\n'
    '{"event_id": "p4", "event_ts": "2026-03-02T08:00:00Z", "event_type": "refund", "campaign_id": "c1"}\n'
)


def test_ingest_then_transform_builds_campaign_daily(prefect_harness: None, settings: Settings) -> None:
    from pulsecast.flows.ingest import ingest
    from pulsecast.flows.transform import transform

    (settings.landing / "events_small.jsonl").write_text(EVENTS)
    totals = ingest()
    assert totals == {"files": 1, "rows_read": 4, "rows_loaded": 3, "rows_quarantined": 1, "rows_duplicate": 0}

    statuses = transform()
    assert set(statuses) <= {"success", "pass", "no-op", "warn"}, statuses  # exposures are no-op nodes
    with reader(settings) as con:
        daily = con.execute(
            """SELECT day::VARCHAR, impressions, clicks, conversions, spend, revenue
               FROM marts.campaign_daily ORDER BY day"""
        ).fetchall()
    assert [(d, i, c, v, float(s), float(r)) for d, i, c, v, s, r in daily] == [
        ("2026-03-01", 1, 1, 0, 0.004, 0.0),
        ("2026-03-02", 0, 0, 1, 0.0, 25.5),
    ]


@pytest.mark.slow
def test_pipeline_generates_ingests_builds_and_is_idempotent(prefect_harness: None, settings: Settings) -> None:
    from pulsecast.flows.pipeline import pipeline
    from pulsecast.generator import WorldConfig
    from pulsecast.ml.series import Metric
    from pulsecast.ml.training import TrainConfig

    world = WorldConfig(days=4, campaigns=4, events_per_day=3_000, seed=11)
    training = TrainConfig(metrics=[Metric.conversions], horizon=7, lstm_steps=10, lstm_networks=1)
    first = pipeline(world=world, training=training)
    assert first["raw.events"] > 10_000
    assert first["raw.campaigns"] == 4
    assert first["raw.ingested_files"] >= 4
    with reader(settings) as con:
        mart_impressions = con.execute("SELECT sum(impressions) FROM marts.campaign_daily").fetchone()[0]
        raw_impressions = con.execute("SELECT count(*) FROM raw.events WHERE event_type = 'impression'").fetchone()[0]
        unbalanced = con.execute(
            "SELECT count(*) FROM raw.ingested_files WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"
        ).fetchone()[0]
        duplicates = con.execute("SELECT sum(rows_duplicate) FROM raw.ingested_files").fetchone()[0]
        # Four days are too few to backtest: every series is forecast by the baseline, and says so.
        forecast_models = con.execute("SELECT DISTINCT model FROM ml.forecasts ORDER BY model").fetchall()
    assert mart_impressions == raw_impressions
    assert unbalanced == 0
    assert duplicates > 0, "the generator re-sends some events on purpose; ingestion must skip them"
    assert forecast_models == sorted((model,) for model in [*training.members(), "ensemble"])
    assert site(settings).exists(), "the daily checkpoint's results are in the Data Docs"

    second = pipeline(world=world, training=training)
    assert second == first, "a second run ingests nothing new and changes no count"
