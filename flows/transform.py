"""Flow `transform`: `dbt build` with one Prefect task per dbt node, then the marts published for readers."""

from __future__ import annotations

from prefect import flow
from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

from pulsecast.build import build
from pulsecast.flows.artifacts import publish
from pulsecast.metrics.freshness import freshness
from pulsecast.report import build_report
from pulsecast.settings import DBT_PROJECT_DIR, get_settings


@flow(name="transform", log_prints=True)
def transform(full_refresh: bool = False, retry_failed: bool = False) -> dict[str, int]:
    """Build and test every dbt model, then publish the marts for readers.

    A failing node fails the flow (and nothing is published); `retry_failed` re-runs only what failed last time.
    """
    settings = get_settings()
    result = build(settings, full_refresh, retry_failed, runner=prefect_runner())
    publish(build_report(result, freshness(settings)), key="dbt-build")
    return result.statuses()


def prefect_runner() -> PrefectDbtRunner:
    settings = PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    return PrefectDbtRunner(settings=settings, raise_on_failure=True)

