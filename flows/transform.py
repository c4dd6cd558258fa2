"""Flow `transform`: `dbt build` with one Prefect task per dbt node, under the warehouse writer lock."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

from pulsecast.metrics import snapshot
from pulsecast.settings import DBT_PROJECT_DIR, exported, get_settings
from pulsecast.warehouse import prepare_raw_schema, writer_lock


@flow(name="transform", log_prints=True)
def transform(full_refresh: bool = False, retry_failed: bool = False) -> dict[str, int]:
    """Build and test every dbt model. A failing node fails the flow; `retry_failed` re-runs only the failures."""
    settings = get_settings()
    args = ["retry"] if retry_failed else ["build", *(["--full-refresh"] if full_refresh else [])]
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
        raise_on_failure=True,
    )
    with writer_lock(settings, f"transform: dbt {' '.join(args)}"), exported(settings):
        prepare_raw_schema(settings)
        outcome = runner.invoke(args)
        published = snapshot.publish(settings)
    results = list(outcome.result or [])
    statuses: dict[str, int] = {}
    for node in results:
        statuses[str(node.status)] = statuses.get(str(node.status), 0) + 1
    rows = "\n".join(
        f"| {node.node.resource_type} | {node.node.name} | {node.status} | {node.execution_time:.2f} |"
        for node in results
    )
    create_markdown_artifact(
        key="dbt-build",
        markdown=(
            f"## dbt {' '.join(args)}\n\n{statuses}\n\n| type | node | status | seconds |\n|---|---|---|---|\n{rows}\n"
        ),
        description="Nodes run by this transform",
    )
    print(f"dbt {' '.join(args)}: {statuses}; marts published to {published.name} for readers")
    return statuses


if __name__ == "__main__":
    transform()
