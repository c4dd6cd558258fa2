"""Building the warehouse: dbt under the writer lock, then the marts published for readers.

dbt is called one way, here. Callers choose only the runner: the transform flow passes Prefect's (each dbt
node a Prefect task), everyone else gets dbt's own in-process runner; the hook pattern ingestion uses for
its per-file loader. Two paths: `build` (every model and data test, then every table published: the daily and
manual path) and `refresh` (the live loop's micro-batch: only the models downstream of what was loaded since
the last publish, no tests, and only the tables that changed published).
"""

from __future__ import annotations

import json
import pickle
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
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
    dbt_seconds: float = 0.0
    """The dbt invocation's wall time (parsing, every node, dbt's own overhead)."""
    publish_seconds: float = 0.0

    def statuses(self, *resource_types: str) -> dict[str, int]:
        """Node count per status, of every node or of the given resource types."""
        return dict(
            Counter(n.status for n in self.nodes if not resource_types or n.resource_type in resource_types)
        )


def dbt_args(*command: str, target: Path = DEFAULT_TARGET, file_log: bool = True) -> list[str]:
    """A dbt command line against Pulsecast's project, its profiles and a target folder.

    Quiet on the console (errors only: a line per node drowned what a run did; the build report summarises
    them), while the debug log still goes to `<target>/logs/dbt.log` for a node that fails (`file_log=False`:
    no log file, for the micro-batch path, which writes it only when a node failed)."""
    return [
        *command,
        "--quiet",
        *([] if file_log else ["--log-level-file", "none"]),
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


def _invoke(
    settings: Settings, command: list[str], runner: DbtRunner | None, target: Path, file_log: bool = True
) -> Any:
    """The one place dbt is invoked; the caller holds the writer lock."""
    with exported(settings):
        prepare_raw_schema(settings)
        try:
            outcome = (runner or default_runner()).invoke(dbt_args(*command, target=target, file_log=file_log))
        finally:
            _release_warehouse()
    if not outcome.success:
        failed = [f"{r.node.name}: {r.message}" for r in outcome.result or [] if str(r.status) in ("error", "fail")]
        raise BuildFailed(f"dbt {' '.join(command)} failed: {'; '.join(failed) or outcome.exception}")
    return outcome


def _release_warehouse() -> None:
    """Close dbt-duckdb's handle on the warehouse. The profile keeps the file open for a whole invocation
    (`keep_open`: one open instead of one per node); in-process the handle would outlive it, and the next
    writer (another process, or this one's own connection) could not open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager.close_all_connections()


def build(
    settings: Settings,
    full_refresh: bool = False,
    retry_failed: bool = False,
    runner: DbtRunner | None = None,
    target: Path = DEFAULT_TARGET,
    select: Sequence[str] = (),
) -> BuildResult:
    """Build and test every dbt model (or only `select`, dbt's node selection), then publish the marts for
    readers (not if anything failed): a selective build, e.g. of the forecast mart right after training wrote
    new forecasts, still publishes every mart.

    `retry_failed` re-runs only what failed in the previous invocation on the same target."""
    if retry_failed:
        command = ["retry"]
    else:
        command = ["build", *(["--full-refresh"] if full_refresh else []), *(["--select", *select] if select else [])]
    with writer_lock(settings, f"build: dbt {' '.join(command)}"):  # held from dbt through the publish
        started = time.perf_counter()
        outcome = _invoke(settings, command, runner, target)
        return _published(settings, command, outcome, target, None, time.perf_counter() - started)


def refresh(settings: Settings, runner: DbtRunner | None = None, target: Path = DEFAULT_TARGET) -> BuildResult:
    """The micro-batch path, for the live loop: refresh the models downstream of what was loaded since the last
    publish (events, dimensions), then publish the tables that changed. No data tests (the daily `build` runs
    them) and no debug log unless a node fails. Nothing loaded since: nothing runs, the snapshot stays. One dbt
    thread: DuckDB already spreads each statement over the cores, and two nodes at once only contend for them.

    Every mart stays equal to a full rebuild: the incremental models follow load time whatever the events'
    lateness, and the small all-time marts downstream are recomputed whole."""
    try:
        since = snapshot.current_info(settings).ingested_through  # read before the lock: older is only safer
    except snapshot.NoSnapshot:  # nothing published yet: the full build (seeds, models, tests) publishes it all
        return build(settings, runner=runner, target=target)
    with writer_lock(settings, "refresh"):
        sources = loaded_sources(settings, since)
        if not sources:
            return BuildResult("refresh: nothing new", [], [], snapshot.current(settings), {})
        command = ["run", "--threads", "1", "--select", *(f"source:pulsecast.raw.{source}+" for source in sources)]
        started = time.perf_counter()
        try:
            outcome = _invoke(settings, command, runner or warm_runner(target), target, file_log=False)
        except BuildFailed:  # once more with the debug log, so that the failed node's lines are there to read
            outcome = _invoke(settings, command, runner or default_runner(), target)
        ran = {str(r.node.name) for r in outcome.result or [] if str(r.status) == "success"}
        return _published(settings, command, outcome, target, ran, time.perf_counter() - started)


_PARSED: dict[tuple, bytes] = {}


def warm_runner(target: Path = DEFAULT_TARGET) -> DbtRunner:
    """dbt's runner with the project already parsed, kept while the project's files are unchanged: a long-lived
    caller (the live loop) parses once, not on every micro-batch. Each runner gets its own copy of the parsed
    manifest (unpickled, ~30 ms): dbt marks nodes while compiling them (ephemeral CTEs injected), and a second
    run on the same objects fails. Only the manifest's public fields are pickled; its look-ups are rebuilt on
    first use (dbt's own pickling of the whole manifest leaves out a field and shifts the rest)."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    state = tuple(
        (str(path), path.stat().st_mtime_ns)
        for path in sorted(DBT_PROJECT_DIR.rglob("*"))
        if path.suffix in (".sql", ".yml", ".csv", ".md") and "target" not in path.relative_to(DBT_PROJECT_DIR).parts
    )
    if state not in _PARSED:
        parsed = dbtRunner().invoke(dbt_args("parse", target=target, file_log=False))
        if not parsed.success:  # the command itself will say what is wrong
            return dbtRunner()
        _PARSED.clear()
        _PARSED[state] = pickle.dumps(
            {f.name: getattr(parsed.result, f.name) for f in fields(Manifest) if not f.name.startswith("_")}
        )
    return dbtRunner(manifest=Manifest(**pickle.loads(_PARSED[state])))


def loaded_sources(settings: Settings, since: datetime | None) -> list[str]:
    """The raw tables (dbt sources) that received rows after `since` (all of them when None)."""
    con = connect(settings.warehouse, read_only=True)
    try:
        rows = con.execute(
            """SELECT DISTINCT contract FROM raw.ingested_files WHERE rows_loaded > 0 AND ingested_at > ?
               ORDER BY 1""",
            [since or datetime.min],
        ).fetchall()
    finally:
        con.close()
    return [contract for (contract,) in rows]


def _published(
    settings: Settings,
    command: list[str],
    outcome: Any,
    target: Path,
    changed: Iterable[str] | None,
    dbt_seconds: float,
) -> BuildResult:
    """Publish after a successful dbt invocation (the caller holds the writer lock). `changed`: the models that
    ran, of which an incremental model that replaced no partition changed nothing; None: publish every table."""
    run_results = json.loads((target / "run_results.json").read_text())
    changes = incremental_changes(settings, run_results["metadata"]["invocation_id"])
    if changed is not None:
        unchanged = {c.model for c in changes if not c.partitions}
        changed = {snapshot.EXTRA_TABLES.get(name, name) for name in changed} - unchanged
    started = time.perf_counter()
    published = snapshot.publish(settings, changed)
    publish_seconds = time.perf_counter() - started
    nodes = [
        NodeResult(str(r.node.resource_type), r.node.name, str(r.status), r.execution_time or 0.0, r.message or "")
        for r in outcome.result or []
    ]
    return BuildResult(" ".join(command), nodes, changes, published, run_results, dbt_seconds, publish_seconds)


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
