"""The read API against the truth: every answer equals the same question computed from raw events."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from world_support import published_world

from pulsecast.build import build, run_dbt
from pulsecast.generator import WorldConfig
from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics, UnknownName
from pulsecast.metrics.catalog import QUESTIONS, Dimension, Grain
from pulsecast.metrics.reference import MEASURES, PROBES, Probe, numbers
from pulsecast.metrics.reference import MEASURES_SQL as MEASURE_SQL
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return published_world(
        tmp_path_factory.mktemp("metrics") / "data",
        WorldConfig(seed=5, days=5, campaigns=5, events_per_day=4_000, end=datetime(2026, 10, 3, 14)),
    )


@pytest.fixture
def metrics(world: Settings) -> Iterator[Metrics]:
    with Metrics(world) as reader:
        yield reader


def raw(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_navigation_picks_the_smallest_covering_rollup(metrics: Metrics) -> None:
    assert metrics.trend(Grain.day, [Dimension.campaign]).table == "campaign_daily"
    assert metrics.trend(Grain.hour, [Dimension.brand]).table == "campaign_hourly"
    assert metrics.trend(Grain.day, [Dimension.device]).table == "events_daily"
    assert metrics.trend(Grain.hour, [Dimension.device]).table == "events_hourly"


def test_device_filter_navigates_to_the_daily_rollup_of_every_dimension(world: Settings, metrics: Metrics) -> None:
    campaign = raw(world, "SELECT min(campaign_id) FROM raw.events")[0][0]
    answer = metrics.trend(Grain.day, [Dimension.channel], campaigns=[campaign], devices=["mobile"])
    assert answer.table == "events_daily"
    expected = raw(
        world,
        f"""SELECT date_trunc('day', event_ts), channel, {MEASURE_SQL} FROM raw.events
            WHERE campaign_id = ? AND device = 'mobile' GROUP BY 1, 2 ORDER BY 1, 2""",
        [campaign],
    )
    assert numbers([row[: 2 + len(MEASURES)] for row in answer.rows]) == numbers(expected)


def test_monthly_brand_trend_and_window_alignment(world: Settings, metrics: Metrics) -> None:
    monthly = metrics.trend(Grain.month, [Dimension.brand])
    assert monthly.table in ("campaign_monthly", "brand_daily")
    expected = raw(
        world,
        f"SELECT date_trunc('month', event_ts), brand_id, {MEASURE_SQL} FROM raw.events GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert numbers([row[: 2 + len(MEASURES)] for row in monthly.rows]) == numbers(expected)

    start = datetime(2026, 10, 1, 9)  # not on a day boundary: only an hourly rollup can answer exactly
    windowed = metrics.trend(Grain.day, start=start, end=date(2026, 10, 3))
    assert windowed.table in ("campaign_hourly", "events_hourly")
    expected = raw(
        world,
        f"""SELECT date_trunc('day', event_ts), {MEASURE_SQL} FROM raw.events
            WHERE event_ts >= ? AND event_ts < ? GROUP BY 1 ORDER BY 1""",
        [start, datetime(2026, 10, 3)],
    )
    assert numbers([row[: 1 + len(MEASURES)] for row in windowed.rows]) == numbers(expected)


def test_rates_are_derived_from_the_sums(metrics: Metrics) -> None:
    answer = metrics.trend(Grain.month)
    row = answer.records()[0]
    assert float(row["ctr"]) == pytest.approx(float(row["clicks"]) / float(row["impressions"]))
    assert float(row["roas"]) == pytest.approx(float(row["revenue"]) / float(row["spend"]))
    assert str(answer.data.schema.field("clicks").type) == "int64"  # counts stay counts, as in the marts
    assert str(answer.data.schema.field("spend").type) == "decimal128(38, 6)"


@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_every_answer_equals_raw_events(world: Settings, metrics: Metrics, probe: Probe) -> None:
    assert probe.agrees(probe.ask(metrics), raw(world, probe.raw_sql))


def test_top_campaigns_last_hour_by_impressions(world: Settings, metrics: Metrics) -> None:
    as_of = raw(world, "SELECT max(date_trunc('hour', event_ts)) FROM raw.events")[0][0]
    expected = raw(
        world,
        """SELECT campaign_id, count(*) FROM raw.events
           WHERE event_type = 'impression' AND date_trunc('hour', event_ts) = ?
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3""",
        [as_of],
    )
    top = [r for r in metrics.ask("top", by="impressions").records()][:3]
    assert [(r["campaign_id"], r["impressions"]) for r in top] == expected


def test_every_question_answers(metrics: Metrics) -> None:
    for question in QUESTIONS:
        answer = metrics.ask(question)
        assert answer.columns, question


def test_answers_are_cached_until_a_new_snapshot_is_published(world: Settings, metrics: Metrics) -> None:
    first = metrics.ask("kpis", window="all_time")
    assert metrics.ask("kpis", window="all_time") is first
    assert metrics.ask("kpis", window="today") is not first  # other bound parameters, another answer
    with writer_lock(world, "test publish"):
        snapshot.publish(world)
    fresh = metrics.ask("kpis", window="all_time")
    assert fresh is not first and fresh.rows == first.rows
    with Metrics(world, cache_size=0) as uncached:
        assert uncached.ask("kpis", window="all_time") is not uncached.ask("kpis", window="all_time")


def test_unknown_names_are_clear_errors(world: Settings, metrics: Metrics) -> None:
    with pytest.raises(UnknownName, match="unknown campaign 'nope'"):
        metrics.trend(Grain.day, campaigns=["nope"])
    with pytest.raises(UnknownName, match="unknown question 'kpi'"):
        metrics.ask("kpi")
    with pytest.raises(UnknownName, match="cannot be filtered by device"):
        metrics.ask("pacing", device="mobile")
    with pytest.raises(UnknownName, match="unknown campaign"):  # a bound parameter, never spliced SQL
        metrics.ask("pacing", campaign="x' OR 1=1 --")


def test_a_filter_with_fixed_values_refuses_any_other(metrics: Metrics) -> None:
    with pytest.raises(UnknownName, match=r"unknown by 'CTR' for 'top' \(choose one of: impressions, ctr\)"):
        metrics.ask("top", by="CTR")
    with pytest.raises(UnknownName, match="choose one of: search, social"):
        metrics.ask("benchmarks", channel="radio")


@pytest.mark.parametrize("name", [name for name, q in QUESTIONS.items() if q.choices])
def test_declared_choices_hold_every_value_the_mart_has(world: Settings, name: str) -> None:
    question = QUESTIONS[name]
    for option, choices in question.choices.items():
        column = question.filters[option]
        values = {v for (v,) in raw(world, f"SELECT DISTINCT {column} FROM marts.{question.table}")} - {None}
        assert values <= set(choices), option
        if name == "kpis":
            assert values == set(choices)  # every window, always


def test_forecast_choices_are_what_the_train_flow_writes() -> None:
    from pulsecast.metrics.catalog import FORECAST_METRICS, FORECAST_MODELS
    from pulsecast.ml.series import Metric
    from pulsecast.models.ensemble import default_members

    assert tuple(Metric) == FORECAST_METRICS
    assert set(FORECAST_MODELS) == {*default_members(horizon=7), "ensemble"}


def test_declared_display_columns_are_the_marts(metrics: Metrics) -> None:
    for name, question in QUESTIONS.items():
        assert set(question.columns) <= set(metrics.ask(name).columns), name


def test_top_by_ctr_ranks_on_the_lower_bound_above_the_floor(metrics: Metrics) -> None:
    """The small world's busiest campaign has under 50 impressions an hour: the CTR ranking still answers."""
    answer = metrics.ask("top", by="ctr")
    records = answer.records()
    assert records and not answer.empty
    assert all(r["impressions"] >= r["min_impressions"] and r["ctr_lower_bound"] <= r["ctr"] for r in records)
    scores = [r["ctr_lower_bound"] for r in records]
    assert scores == sorted(scores, reverse=True)


def test_an_empty_ctr_ranking_says_why(world: Settings, metrics: Metrics) -> None:
    """With a floor no campaign reaches, the CTR ranking has no rows and the answer names its guard."""

    def rebuild_top(*args: str) -> None:
        run_dbt(world, "run", "--select", "top_campaigns_last_hour", *args)
        with writer_lock(world, "test publish"):
            snapshot.publish(world)

    rebuild_top("--vars", "{top_ctr_min_impressions: 1000000}")
    try:
        answer = metrics.ask("top", by="ctr")
        assert answer.rows == [] and "top_ctr_min_impressions" in answer.empty
        by_impressions = metrics.ask("top", by="impressions")
        assert by_impressions.rows and by_impressions.empty == ""
    finally:
        rebuild_top()


def test_contradictory_filters_are_clear_errors(world: Settings, metrics: Metrics) -> None:
    campaign, brand = raw(
        world,
        "SELECT campaign_id, brand_id FROM raw.campaigns WHERE campaign_id IN (SELECT campaign_id FROM raw.events) "
        "ORDER BY 1 LIMIT 1",
    )[0]
    other = raw(world, "SELECT min(brand_id) FROM raw.brands WHERE brand_id != ?", [brand])[0][0]
    # the device mix's two filters pick scope_id; no other question has filters on one column
    assert {name: q.exclusive for name, q in QUESTIONS.items() if q.exclusive} == {"devices": [("campaign", "brand")]}
    assert metrics.ask("devices", campaign=campaign).rows
    with pytest.raises(UnknownName, match="by campaign and brand together"):
        metrics.ask("devices", campaign=campaign, brand=brand)
    with pytest.raises(UnknownName, match=f"campaign '{campaign}' is in brand '{brand}', not in '{other}'"):
        metrics.trend(Grain.day, campaigns=[campaign], brands=[other])
    assert metrics.trend(Grain.day, campaigns=[campaign], brands=[brand]).rows
    with pytest.raises(UnknownName, match="unknown channel 'tv'"):
        metrics.ask("benchmarks", campaign=campaign, channel="tv")


def replan(settings: Settings, changes: dict[str, dict[str, str]]) -> None:
    """Deliver the campaigns dimension again with some plan fields changed (campaign -> column -> value)."""
    with next(settings.archive.glob("*_campaigns.csv")).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update(changes.get(row["campaign_id"], {}))
    with (settings.landing / "campaigns.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_pacing_of_ended_campaigns_is_coherent(world: Settings, metrics: Metrics) -> None:
    """Two converting campaigns re-planned to have ended yesterday: one far short of its goal, one past it."""
    as_of_day = raw(world, "SELECT CAST(max(event_ts) AS DATE) FROM raw.events")[0][0]
    short, reached = (
        campaign
        for (campaign,) in raw(
            world,
            "SELECT campaign_id FROM raw.events WHERE event_type = 'conversion' GROUP BY 1 ORDER BY count(*) DESC, 1 "
            "LIMIT 2",
        )
    )
    first_conversion = raw(
        world,
        "SELECT min(CAST(event_ts AS DATE)) FROM raw.events WHERE campaign_id = ? AND event_type = 'conversion'",
        [reached],
    )[0][0]
    ended = (as_of_day - timedelta(days=1)).isoformat()
    replan(
        world,
        {
            short: {"end_date": ended, "goal_conversions": "99999"},
            reached: {"end_date": ended, "goal_conversions": "1"},
        },
    )
    ingest_run(world)
    build(world)

    missed = metrics.ask("pacing", campaign=short).records()[0]
    assert (missed["status"], missed["goal_reached_date"]) == ("missed", None)
    assert (missed["days_to_goal"], missed["projected_goal_date"]) == (None, None)  # no projection after the end
    assert missed["budget_status"] == "ended" and missed["projected_spend_at_end"] == missed["spend_to_date"]
    assert missed["projected_conversions_at_end"] == missed["conversions_to_date"]
    done = metrics.ask("pacing", campaign=reached).records()[0]
    assert (done["status"], done["goal_reached_date"]) == ("goal_reached", first_conversion)
    assert (done["days_to_goal"], done["projected_goal_date"]) == (None, None)


def test_reads_never_fail_while_a_transform_writes(world: Settings) -> None:
    """Readers in this process, a real writer process rebuilding the warehouse and publishing twice."""
    errors: list[BaseException] = []
    answers = 0
    stop = threading.Event()

    def read_loop() -> None:
        nonlocal answers
        with Metrics(world) as reader:
            while not stop.is_set():
                try:
                    assert reader.ask("kpis", window="all_time").rows
                    assert reader.trend(Grain.day).rows
                    answers += 1
                except BaseException as error:  # every failure counts, whatever its type
                    errors.append(error)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(2):
            subprocess.run(
                [sys.executable, str(Path(__file__).with_name("warehouse_support.py")), str(world.data_dir)],
                check=True,
                timeout=300,
            )
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors, errors[:3]
    assert answers > 10
    assert len(list(Path(world.snapshots).glob("marts-*.json"))) <= snapshot.KEEP


def test_forecast_before_any_training_is_an_empty_answer_with_its_columns(metrics: Metrics) -> None:
    """tests/test_train_flow.py asks it on a trained world."""
    answer = metrics.ask("forecast", metric="clicks", campaign="cmp-001", start=date(2026, 9, 1))
    assert answer.table == "forecast_vs_actual" and not answer.rows
    assert {"series_level", "campaign_id", "brand_id", "actual", "yhat", "yhat_lo_95", "model_version"} <= set(
        answer.columns
    )
    with pytest.raises(UnknownName, match="unknown brand 'nope'"):
        metrics.ask("forecast", brand="nope")
