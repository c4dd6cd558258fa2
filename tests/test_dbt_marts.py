"""The dbt warehouse: an incremental build after late and re-sent events equals a full rebuild, row for row.

A small generated world is ingested in two batches. The first holds all but the last day of event files. The
second holds that day (whose files carry the generator's late originals and re-sent copies) and a file of our
own: copies of loaded events under new ids dated up to 126 hours back (inside and beyond the 72-hour lookback),
one event that bridges two existing sessions of a user, and exact re-sends of loaded events; with it comes a
campaigns file that renames a campaign. `dbt build` runs after each batch; then every mart and intermediate
table is snapshotted, `dbt build --full-refresh` rebuilds everything, and each table must match its snapshot
both ways with EXCEPT ALL (so a duplicated row counts too).
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from world_support import generated_holding_back

from pulsecast.build import build
from pulsecast.generator import WorldConfig
from pulsecast.ingest import RunSummary, ingest_run
from pulsecast.settings import Settings
from pulsecast.warehouse import connect

pytestmark = pytest.mark.slow  # three dbt builds of ~220 nodes: 25-50 s

WORLD = WorldConfig(
    seed=23,
    days=8,
    campaigns=5,
    events_per_day=4_000,
    hours_per_file=6,
    end=datetime(2026, 3, 10, tzinfo=UTC),
)
HELD_BACK_FILES = 4
"""The last day of 6-hour event files goes into the second batch."""

MARTS = (
    "campaign_hourly", "campaign_daily", "campaign_monthly", "brand_daily", "channel_daily", "device_mix",
    "kpi_overview", "top_campaigns_last_hour", "brand_performance", "owner_earnings", "owner_latest_earnings",
    "campaign_activity_feed", "campaign_pacing", "audience_heatmap", "sessions", "viewing_patterns",
    "topic_leaderboard", "topic_monthly", "publisher_metrics", "publisher_relationships", "campaign_reach_daily",
    "campaign_vs_benchmark", "forecast_vs_actual", "campaign_outlook", "campaign_scenarios", "campaign_risks",
    "campaign_insights", "campaign_pivots", "creative_daily",
)  # fmt: skip
"""The marts the read API and the dashboards name."""

EMPTY_HERE = {
    "marts.top_campaigns_last_hour",
    "marts.forecast_vs_actual",
    "marts.campaign_scenarios",
    "marts.campaign_risks",
    "marts.campaign_insights",
    "marts.campaign_pivots",
}
"""Empty in this world: the as_of hour has no impressions; nothing was trained or decided (tests/test_train_flow.py
and tests/test_decide.py fill them)."""

BIG_INCREMENTAL_MODELS = ("events_hourly", "campaign_hourly", "sessions", "int_topic_viewers")
"""Tables large enough that a one-day batch must rewrite only a small share of them."""

EVENT_FIELDS = (
    "event_id", "event_ts", "event_type", "campaign_id", "brand_id", "channel", "device", "publisher", "topic",
    "creative_id", "user_id", "owner_id", "cost", "revenue", "amount", "watch_seconds",
)  # fmt: skip


@dataclass
class Builds:
    settings: Settings
    held_back: list[str]
    second_batch: RunSummary
    incremental: dict[str, Any]
    """run_results.json of the incremental build."""
    incremental_manifest: dict[str, Any]
    tables: list[str]
    """Tables built by dbt, snapshotted after the incremental build into schema incremental_build."""

    def read(self) -> duckdb.DuckDBPyConnection:
        return connect(self.settings.warehouse, read_only=True)


def dbt(settings: Settings, target: Path, full_refresh: bool = False) -> dict[str, Any]:
    """`dbt build` as the transform flow runs it, into its own target folder; returns run_results.json."""
    return build(settings, full_refresh=full_refresh, target=target).run_results


def built_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table dbt materialises: the marts and the intermediate tables (views and the seed excluded)."""
    rows = con.execute(
        r"""SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_type = 'BASE TABLE'
              AND (table_schema = 'marts' OR (table_schema = 'staging' AND table_name LIKE 'int\_%' ESCAPE '\'))
            ORDER BY 1"""
    ).fetchall()
    return [name for (name,) in rows]


def keep_as_built(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Copy every built table into schema incremental_build, to compare with a full rebuild; their names."""
    tables = built_tables(con)
    con.execute("CREATE SCHEMA incremental_build")
    for table in tables:
        con.execute(f"CREATE TABLE incremental_build.{table.split('.')[1]} AS FROM {table}")
    return tables


def differences_from_kept(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, tuple[int, int, int]]:
    """Tables whose rows differ from the kept copy both ways with EXCEPT ALL (a duplicated row counts too):
    (rows only in the copy, rows only in the table, rows in the table). An empty table the world should fill
    fails: the comparison would prove nothing."""
    differences = {}
    for table in tables:
        kept = f"incremental_build.{table.split('.')[1]}"
        only_kept = count(con, f"FROM {kept} EXCEPT ALL FROM {table}")
        only_now = count(con, f"FROM {table} EXCEPT ALL FROM {kept}")
        if only_kept or only_now:
            differences[table] = (only_kept, only_now, count(con, f"FROM {table}"))
        if table not in EMPTY_HERE:
            assert count(con, f"FROM {table}") > 0, f"{table} is empty: the comparison would prove nothing"
    return differences


def count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return con.execute(f"SELECT count(*) FROM ({sql})", params or []).fetchone()[0]


def jsonl(record: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return str(value) if isinstance(value, Decimal) else value

    return json.dumps({key: plain(value) for key, value in record.items() if value is not None})


def late_and_resent_events(settings: Settings) -> list[str]:
    """JSONL lines for the second batch: late copies, a session bridge, and exact re-sends of loaded events.

    Hours are counted back from the newest event of the first batch; the second batch's own last day adds
    about 24 hours, so "2-20 hours back" arrives 26-44 hours late and "100-102 hours back" 124-126 hours late.
    """
    columns = ", ".join(EVENT_FIELDS)
    con = connect(settings.warehouse, read_only=True)
    try:
        newest = con.execute("SELECT max(event_ts) FROM raw.events").fetchone()[0]

        def sample(from_hours: float, to_hours: float, n: int) -> list[dict[str, Any]]:
            rows = con.execute(
                f"SELECT {columns} FROM raw.events WHERE event_ts BETWEEN ? AND ? ORDER BY hash(event_id) LIMIT ?",
                [newest - timedelta(hours=to_hours), newest - timedelta(hours=from_hours), n],
            ).fetchall()
            return [dict(zip(EVENT_FIELDS, row, strict=True)) for row in rows]

        late = sample(2, 20, 100) + sample(100, 102, 5)
        resent = sample(0, 48, 50)
        # a recent user whose consecutive sessions are 31-50 minutes apart: an event half-way joins them
        bridge = con.execute(
            """SELECT user_id, session_end + (next_start - session_end) / 2 FROM (
                   SELECT user_id, session_end,
                          lead(session_start) OVER (PARTITION BY user_id ORDER BY session_start) AS next_start
                   FROM marts.sessions)
               WHERE next_start - session_end BETWEEN INTERVAL 31 MINUTES AND INTERVAL 50 MINUTES
                 AND session_end > ?::TIMESTAMP - INTERVAL 20 HOURS
               ORDER BY hash(user_id) LIMIT 1""",
            [newest],
        ).fetchone()
        assert bridge, "the world should have two sessions of one user 31-50 minutes apart"
        template = con.execute(
            f"SELECT {columns} FROM raw.events WHERE user_id = ? ORDER BY event_ts LIMIT 1", [bridge[0]]
        ).fetchone()
    finally:
        con.close()

    shifted = timedelta(seconds=7)
    lines = [jsonl(e | {"event_id": f"late-{i:04d}", "event_ts": e["event_ts"] + shifted}) for i, e in enumerate(late)]
    lines.append(jsonl(dict(zip(EVENT_FIELDS, template, strict=True)) | {"event_id": "bridge", "event_ts": bridge[1]}))
    return lines + [jsonl(event) for event in resent]


def publisher_pair_setup() -> tuple[str, str]:
    """A user whose publisher pair moves to the previous day, leaving that day with no pair at all.

    Batch 1: a session on Feb 1 at 23:50 (pub-alpha) and one on Feb 2 at 00:30-00:35 (pub-alpha, pub-beta),
    so Feb 2 has one pair. Batch 2: a late event at 00:10 joins them into one session starting on Feb 1; the
    pair now belongs to Feb 1 and Feb 2 must be emptied, which only a placeholder row can ask for.
    """
    base = {"event_type": "impression", "campaign_id": "cmp-001", "user_id": "pair-mover"}
    first = [
        base | {"event_id": "pair-1", "event_ts": "2026-02-01T23:50:00Z", "publisher": "pub-alpha"},
        base | {"event_id": "pair-2", "event_ts": "2026-02-02T00:30:00Z", "publisher": "pub-alpha"},
        base | {"event_id": "pair-3", "event_ts": "2026-02-02T00:35:00Z", "publisher": "pub-beta"},
    ]
    bridge = base | {"event_id": "pair-4", "event_ts": "2026-02-02T00:10:00Z", "publisher": "pub-gamma"}
    return "".join(json.dumps(e) + "\n" for e in first), json.dumps(bridge) + "\n"


def renamed_campaigns_file(settings: Settings) -> str:
    """The campaigns dimension again with its busiest campaign renamed: marts that show names must follow."""
    with connect(settings.warehouse, read_only=True) as con:
        busiest = con.execute(
            "SELECT campaign_id FROM raw.events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    original = next(settings.archive.glob("*_campaigns.csv"))
    with original.open(newline="") as handle:
        rows = list(csv.reader(handle))
    key, name = rows[0].index("campaign_id"), rows[0].index("name")
    for row in rows[1:]:
        if row[key] == busiest:
            row[name] += " (renamed)"
    return "\n".join(",".join(f'"{v}"' if "," in v else v for v in row) for row in rows) + "\n"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """Batch 1, build; batch 2, incremental build, snapshot; full-refresh build."""
    root = tmp_path_factory.mktemp("dbt_marts")
    settings, held_back = generated_holding_back(root, WORLD, HELD_BACK_FILES)
    pair_setup, pair_bridge = publisher_pair_setup()
    (settings.landing / "events_pair_setup.jsonl").write_text(pair_setup)

    ingest_run(settings)
    dbt(settings, root / "target_first")

    for path in held_back:
        shutil.move(path, settings.landing / path.name)
    (settings.landing / "events_late_and_resent.jsonl").write_text("\n".join(late_and_resent_events(settings)) + "\n")
    (settings.landing / "events_pair_bridge.jsonl").write_text(pair_bridge)
    (settings.landing / "campaigns.csv").write_text(renamed_campaigns_file(settings))
    second_batch = ingest_run(settings)
    incremental = dbt(settings, root / "target_incremental")

    with connect(settings.warehouse) as con:
        tables = keep_as_built(con)
    dbt(settings, root / "target_full", full_refresh=True)
    return Builds(
        settings=settings,
        held_back=[p.name for p in held_back],
        second_batch=second_batch,
        incremental=incremental,
        incremental_manifest=json.loads((root / "target_incremental" / "manifest.json").read_text()),
        tables=tables,
    )


def test_second_batch_holds_late_and_resent_events(builds: Builds) -> None:
    assert builds.second_batch.total("rows_duplicate") >= 50, "re-sent events are skipped at ingestion"
    with builds.read() as con:
        late, resent = con.execute(
            f"""SELECT count(*) FILTER (WHERE delivery = 'late'), count(*) FILTER (WHERE delivery = 'duplicate')
                FROM '{builds.settings.truth}/delivery_*.parquet' WHERE file IN ?""",
            [builds.held_back],
        ).fetchone()
        beyond_lookback = con.execute("SELECT sum(events_beyond_lookback) FROM staging.int_late_arrivals").fetchone()[0]
    assert late > 0 and resent > 0, "the generator's last day carries late originals and re-sends"
    # the 5 copies 124-126 hours late, and the 4 February events of the publisher-pair case
    assert beyond_lookback == 9, "events later than the 72-hour lookback are reported"
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in builds.incremental["results"]}
    assert statuses.pop("late_events_beyond_lookback") == "warn"
    assert set(statuses.values()) <= {"success", "pass", "no-op"}


def test_incremental_models_refreshed_only_what_changed(builds: Builds) -> None:
    """dbt-duckdb reports no row counts in run_results.json: replace_partitions logs them per invocation."""
    incremental_models = {
        node["name"]
        for node in builds.incremental_manifest["nodes"].values()
        if node["config"].get("materialized") == "incremental"
    }
    compiled = {r["unique_id"].split(".")[-1]: r.get("compiled_code") or "" for r in builds.incremental["results"]}
    with builds.read() as con:
        logged = {
            model: inserted
            for model, inserted in con.execute(
                "SELECT model, rows_inserted FROM staging.incremental_log WHERE invocation_id = ?",
                [builds.incremental["metadata"]["invocation_id"]],
            ).fetchall()
        }
        sizes = {model: count(con, f"FROM staging.{model}" if model.startswith("int_") else f"FROM marts.{model}")
                 for model in BIG_INCREMENTAL_MODELS}  # fmt: skip
    assert len(incremental_models) >= 15 and set(BIG_INCREMENTAL_MODELS) <= incremental_models
    assert set(logged) == incremental_models, "every incremental model took its incremental path"
    for model in incremental_models:
        assert "(select coalesce(max(" in compiled[model], f"{model} compiled without its watermark filter"
    for model in BIG_INCREMENTAL_MODELS:
        assert 0 < logged[model] < 0.3 * sizes[model], f"{model} rewrote {logged[model]} of {sizes[model]} rows"


def test_every_table_equals_a_full_rebuild(builds: Builds) -> None:
    with builds.read() as con:
        assert built_tables(con) == builds.tables, "the full rebuild made the same tables"
        differences = differences_from_kept(con, builds.tables)
    assert not differences, f"incremental != full rebuild (rows only incremental, only full, total): {differences}"
    assert {f"marts.{name}" for name in MARTS} <= set(builds.tables)
    assert "marts.events_hourly" in builds.tables


def test_publisher_pair_moved_to_the_previous_day(builds: Builds) -> None:
    with builds.read() as con:
        pairs = con.execute(
            """SELECT day::VARCHAR, publisher_a, publisher_b, shared_sessions
               FROM incremental_build.int_publisher_pairs_daily WHERE day < DATE '2026-03-01' ORDER BY ALL"""
        ).fetchall()
    assert pairs == [
        ("2026-02-01", "pub-alpha", "pub-beta", 1),
        ("2026-02-01", "pub-alpha", "pub-gamma", 1),
        ("2026-02-01", "pub-beta", "pub-gamma", 1),
    ]


def test_renamed_campaign_reaches_every_row(builds: Builds) -> None:
    with builds.read() as con:
        for table in ("incremental_build.campaign_daily", "incremental_build.campaign_monthly"):
            names = con.execute(
                f"""SELECT count(DISTINCT campaign_name) FILTER (WHERE campaign_name LIKE '% (renamed)'),
                           count(*) FILTER (WHERE campaign_id = (
                               SELECT campaign_id FROM raw.campaigns WHERE name LIKE '% (renamed)')
                           AND campaign_name NOT LIKE '% (renamed)')
                    FROM {table}"""
            ).fetchone()
            assert names == (1, 0), f"{table}: every row of the renamed campaign shows the new name"


def test_forecast_mart_builds_empty_before_the_first_training(builds: Builds) -> None:
    """Its types then are the trained ones (tests/test_train_flow.py compares them)."""
    with builds.read() as con:
        ml_tables = count(con, "FROM duckdb_tables() WHERE schema_name = 'ml'")
        assert ml_tables == 0 and count(con, "FROM marts.forecast_vs_actual") == 0
