"""Flow `transform`: `dbt build` with one Prefect task per dbt node, under the warehouse writer lock."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

from pulsecast.metrics import snapshot
from pulsecast.settings import DBT_PROJECT_DIR, Settings, exported, get_settings
from pulsecast.warehouse import connect, prepare_raw_schema, writer_lock

DOCS_HINT = "Browse every model, column, test and exposure with `make docs` (http://127.0.0.1:8080)."


@flow(name="transform", log_prints=True)
def transform(full_refresh: bool = False, retry_failed: bool = False) -> dict[str, int]:
    """Build and test every dbt model, then publish the marts for readers.

    A failing node fails the flow (and nothing is published); `retry_failed` re-runs only what failed last time.
    """
    settings = get_settings()
    args = ["retry"] if retry_failed else ["build", *(["--full-refresh"] if full_refresh else [])]
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
        raise_on_failure=True,
    )
    with writer_lock(settings, f"transform: dbt {' '.join(args)}"), exported(settings):
        prepare_raw_schema(settings)
        outcome = runner.invoke(args)
        changes = incremental_changes(settings)
        published = snapshot.publish(settings)
    statuses = Counter(str(node.status) for node in outcome.result or [])
    report(args, outcome.result or [], changes)
    print(f"dbt {' '.join(args)}: {dict(statuses)}; marts published to {published.name} for readers")
    return dict(statuses)


def incremental_changes(settings: Settings) -> list[tuple]:
    """Rows each incremental model replaced in this invocation (dbt-duckdb reports no row counts itself)."""
    results = DBT_PROJECT_DIR / "target" / "run_results.json"
    invocation = json.loads(results.read_text())["metadata"]["invocation_id"]
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(
            """SELECT model, partitions, rows_deleted, rows_inserted FROM staging.incremental_log
               WHERE invocation_id = ? ORDER BY model""",
            [invocation],
        ).fetchall()
    except duckdb.CatalogException:  # no incremental model has run on this warehouse yet
        return []
    finally:
        con.close()


def report(args: list[str], results: list, changes: list[tuple]) -> None:
    nodes = "\n".join(
        f"| {node.node.resource_type} | {node.node.name} | {node.status} | {node.execution_time:.2f} |"
        for node in results
    )
    changed = "\n".join(
        f"| {model} | {parts} | {deleted:,} | {inserted:,} |" for model, parts, deleted, inserted in changes
    )
    tests = Counter(str(node.status) for node in results if str(node.node.resource_type) in ("test", "unit_test"))
    create_markdown_artifact(
        key="dbt-build",
        markdown=f"""## dbt {" ".join(args)}

Tests: {dict(tests) or "none run"}. {DOCS_HINT}

### Rows changed by incremental models
| model | partitions | rows deleted | rows inserted |
|---|---|---|---|
{changed or "| (full rebuild or nothing new) | | | |"}

### Nodes
| type | node | status | seconds |
|---|---|---|---|
{nodes}
""",
        description="What this transform built, changed and tested",
    )
