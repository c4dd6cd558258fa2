"""Building the warehouse: dbt under the writer lock, then the marts published for readers.

dbt is called one way, here. Callers choose only the runner: the transform flow passes Prefect's (each dbt
node a Prefect task), everyone else gets dbt's own in-process runner; the hook pattern ingestion uses for
its per-file loader.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import duckdb

from pulsecast.metrics import snapshot
from pulsecast.settings import DBT_PROJECT_DIR, Settings, exported
from pulsecast.warehouse import connect, prepare_raw_schema, writer_lock

DEFAULT_TARGET = DBT_PROJECT_DIR / "target"


class DbtRunner(Protocol):
    """dbt's programmatic runner (`dbt.cli.main.dbtRunner`) or anything with its `invoke`."""

    def invoke(self, args: list[str]) -> Any: ...


class BuildFailed(RuntimeError):
    """A dbt node failed or dbt could not run: nothing was published."""


@dataclass(frozen=True)
class NodeResult:
    resource_type: str
    name: str
    status: str
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class IncrementalChange:
    """The rows one incremental model replaced (dbt-duckdb reports no row counts itself)."""

    model: str
    partitions: int
    rows_deleted: int
    rows_inserted: int


@dataclass(frozen=True)
class BuildResult:
    command: str
    nodes: list[NodeResult]
    changes: list[IncrementalChange]
    published: Path
    """The snapshot readers now read."""
    run_results: dict[str, Any] = field(repr=False)

    def statuses(self, *resource_types: str) -> dict[str, int]:
        """Node count per status, of every node or of the given resource types."""
        return dict(
            Counter(n.status for n in self.nodes if not resource_types or n.resource_type in resource_types)
        )


def dbt_args(*command: str, target: Path = DEFAULT_TARGET) -> list[str]:
    """A dbt command line against Pulsecast's project, its profiles and a target folder.

    Quiet on the console (errors only: a line per node drowned what a run did; the build report summarises
    them), while the debug log still goes to `<target>/logs/dbt.log` for a node that fails."""
    return [
        *command,
        "--quiet",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(target / "logs"),
    ]  # fmt: skip


def default_runner() -> DbtRunner:
    from dbt.cli.main import dbtRunner  # dbt takes a second to import: only when something is built

    return dbtRunner()


def run_dbt(settings: Settings, *command: str, runner: DbtRunner | None = None, target: Path = DEFAULT_TARGET) -> Any:
    """`dbt <command>` in-process, as the writer (dbt reads the catalog and writes the warehouse)."""
    with writer_lock(settings, f"dbt {' '.join(command)}"):
        return _invoke(settings, list(command), runner, target)


def _invoke(settings: Settings, command: list[str], runner: DbtRunner | None, target: Path) -> Any:
    """The one place dbt is invoked; the caller holds the writer lock."""
    with exported(settings):
        prepare_raw_schema(settings)
        outcome = (runner or default_runner()).invoke(dbt_args(*command, target=target))
    if not outcome.success:
        failed = [f"{r.node.name}: {r.message}" for r in outcome.result or [] if str(r.status) in ("error", "fail")]
        raise BuildFailed(f"dbt {' '.join(command)} failed: {'; '.join(failed) or outcome.exception}")
    return outcome


def build(
    settings: Settings,
    full_refresh: bool = False,
    retry_failed: bool = False,
    runner: DbtRunner | None = None,
    target: Path = DEFAULT_TARGET,
    select: Sequence[str] = (),
    tests: bool = True,
) -> BuildResult:
    """Build and test every dbt model (or only `select`, dbt's node selection), then publish the marts for
    readers (not if anything failed): a selective build, e.g. of the forecast mart right after training wrote
    new forecasts, still publishes every mart.

    `retry_failed` re-runs only what failed in the previous invocation on the same target. `tests=False` builds
    without the data and unit tests (`refresh`)."""
    if retry_failed:
        command = ["retry"]
    else:
        command = [
            "build",
            *(["--full-refresh"] if full_refresh else []),
            *(["--select", *select] if select else []),
            *([] if tests else ["--exclude-resource-type", "test", "unit_test"]),
        ]
    with writer_lock(settings, f"build: dbt {' '.join(command)}"):  # held from dbt through the publish
        outcome = _invoke(settings, command, runner, target)
        run_results = json.loads((target / "run_results.json").read_text())
        changes = incremental_changes(settings, run_results["metadata"]["invocation_id"])
        published = snapshot.publish(settings)
    nodes = [
        NodeResult(str(r.node.resource_type), r.node.name, str(r.status), r.execution_time or 0.0, r.message or "")
        for r in outcome.result or []
    ]
    return BuildResult(" ".join(command), nodes, changes, published, run_results)


def refresh(settings: Settings, runner: DbtRunner | None = None, target: Path = DEFAULT_TARGET) -> BuildResult:
    """The micro-batch path, for the live loop: every model without the data and unit tests, then published. The
    tests check every mart in full; the daily build runs them rather than each micro-batch."""
    return build(settings, runner=runner, target=target, tests=False)


def generate_docs(settings: Settings, runner: DbtRunner | None = None) -> Path:
    """`dbt docs generate`: the site with the warehouse's catalog, for `dbt docs serve` (offline)."""
    run_dbt(settings, "docs", "generate", runner=runner)
    return DEFAULT_TARGET / "index.html"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files without an access-log line on the terminal for every page and asset the browser asks for."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_docs(port: int) -> None:
    """The generated site on 127.0.0.1 until interrupted. It is static files: no warehouse, no lock, and no
    `dbt docs serve`, whose Ctrl-C ends in a logged stack trace."""
    handler = partial(_QuietHandler, directory=str(DEFAULT_TARGET))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


def incremental_changes(settings: Settings, invocation_id: str) -> list[IncrementalChange]:
    con = connect(settings.warehouse, read_only=True)
    try:
        rows = con.execute(
            """SELECT model, partitions, rows_deleted, rows_inserted FROM staging.incremental_log
               WHERE invocation_id = ? ORDER BY model""",
            [invocation_id],
        ).fetchall()
    except duckdb.CatalogException:  # no incremental model has run on this warehouse yet
        return []
    finally:
        con.close()
    return [IncrementalChange(*row) for row in rows]
