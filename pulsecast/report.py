"""What a run did, said once: the flows render it as Prefect artifacts, the CLI as terminal tables.

A `Report` is a title, sentences and tables of plain values; each job builds its report from its typed
result, so the flow's artifact and the CLI's answer can never tell two stories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulsecast.build import BuildResult, NodeResult
from pulsecast.display import ColumnFormat, column_format
from pulsecast.ingest import RunSummary
from pulsecast.ingest.checkpoint import CheckpointResult
from pulsecast.live import MicroBatch
from pulsecast.metrics.freshness import Freshness
from pulsecast.status import Accounting, Status

DOCS_HINT = "Browse every model, column, test and exposure with `make docs` (http://127.0.0.1:8080)."
DATA_DOCS_HINT = "Browse every checkpoint's results with `make data-docs` (http://127.0.0.1:8081)."
UI_HINT = (
    "Open: Prefect UI `make serve` (http://127.0.0.1:4200), dbt docs `make docs`, Great Expectations Data Docs\n"
    "`make data-docs`, MLflow UI `make mlflow`.\n"
    "Ask: `pulsecast metrics --help` for the dashboard questions, `pulsecast sql \"SHOW TABLES\"` for your own SQL."
)


@dataclass(frozen=True)
class Table:
    title: str
    rows: list[dict[str, Any]]
    empty: str = "none"
    """What to say instead of an empty table."""

    @property
    def columns(self) -> list[str]:
        """Every key any row has, in first-seen order (rows may leave a column out)."""
        return list(dict.fromkeys(key for row in self.rows for key in row))

    def formats(self) -> dict[str, ColumnFormat]:
        """Each column's format (`pulsecast.display`), decided from the whole column."""
        return {column: column_format(column, [row.get(column) for row in self.rows]) for column in self.columns}

    def text_rows(self) -> list[list[str]]:
        """The rows as people read them, in `columns` order."""
        formats = self.formats()
        return [[fmt(row.get(column)) for column, fmt in formats.items()] for row in self.rows]


@dataclass(frozen=True)
class Report:
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"## {self.title}", *self.lines]
        for table in self.tables:
            parts.append(f"### {table.title}\n\n{markdown_table(table) if table.rows else table.empty}")
        return "\n\n".join(parts) + "\n"

    def text(self) -> str:
        """The sentences alone, for a log line."""
        return " ".join(self.lines)


def markdown_table(table: Table) -> str:
    columns = table.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(text.replace("|", "\\|").replace("\n", " ") for text in row) + " |"
        for row in table.text_rows()
    ]
    return "\n".join(lines)


def accounting(acc: Accounting) -> str:
    verdict = "holds for every file" if acc.holds else "BROKEN for " + ", ".join(acc.unbalanced_files)
    return (
        f"Rows read {acc.rows_read:,} = loaded {acc.rows_loaded:,} + quarantined {acc.rows_quarantined:,} "
        f"+ duplicates {acc.rows_duplicate:,}: accounting {verdict}."
    )


def ingest_report(summary: RunSummary, fresh: Freshness) -> Report:
    audit = summary.audit.summary if summary.audit else "not run"
    return Report(
        "Ingest",
        [_files_sentence(summary), f"Great Expectations audit: {audit}.", *fresh.sentences()],
        [_files_table(summary)],
    )


def live_report(batch: MicroBatch, fresh: Freshness) -> Report:
    """One micro-batch of the live loop: what landed, how long each stage took, what readers see now."""
    if batch.build is None:
        published = "Nothing new to publish (no row was loaded)."
    else:
        models = batch.build.statuses("model").get("success", 0)
        published = f"{models} models refreshed, published to {batch.build.published.name}."
    return Report(
        "Live micro-batch",
        [
            _files_sentence(batch.ingest),
            f"{published} Ingest {batch.ingest_s:.1f} s, dbt and publish {batch.build_s:.1f} s.",
            *fresh.sentences(),
        ],
        [_files_table(batch.ingest)],
    )


def _files_sentence(summary: RunSummary) -> str:
    return (
        f"{len(summary.files)} file(s): {summary.total('rows_loaded'):,} loaded, "
        f"{summary.total('rows_quarantined'):,} quarantined, {summary.total('rows_duplicate'):,} duplicates."
    )


def _files_table(summary: RunSummary) -> Table:
    files = [
        {
            "file": f.file_name,
            "status": f.status,
            "read": f.rows_read,
            "loaded": f.rows_loaded,
            "quarantined": f.rows_quarantined,
            "duplicates": f.rows_duplicate,
            "note": f.reason or "",
        }
        for f in summary.files
    ]
    return Table("Files", files, "No new files.")


def checkpoint_report(result: CheckpointResult) -> Report:
    return Report(
        "Great Expectations checkpoint",
        [f"{result.summary}.", DATA_DOCS_HINT],
        [Table("Failed expectations", [{"expectation": name} for name in result.failed], "None: every one passed.")],
    )


PASSING = {"success", "pass", "no-op"}
"""dbt statuses of nodes that did their job (an exposure is a no-op)."""
SLOWEST = 5


def build_report(result: BuildResult, fresh: Freshness) -> Report:
    """The build in a few lines: every node is a task in the Prefect UI and a line of dbt's log, not of this."""
    changes = [
        {"model": c.model, "partitions": c.partitions, "rows deleted": c.rows_deleted, "rows inserted": c.rows_inserted}
        for c in result.changes
        if c.partitions or c.rows_deleted or c.rows_inserted
    ]
    not_passing = [n for n in result.nodes if n.status not in PASSING]
    slowest = sorted(result.nodes, key=lambda n: n.seconds, reverse=True)[:SLOWEST]
    return Report(
        f"dbt {result.command}",
        [
            f"Nodes: {_counts(result.statuses())}; tests: {_counts(result.statuses('test', 'unit_test'))}; "
            f"marts published to {result.published.name} for readers.",
            *fresh.sentences(),
            DOCS_HINT,
        ],
        [
            Table("Rows changed by incremental models", changes, "None: a full rebuild, or nothing new."),
            Table("Nodes that did not pass", _node_rows(not_passing), "None: every node passed."),
            Table(f"Slowest {SLOWEST} nodes", _node_rows(slowest)),
        ],
    )


def _node_rows(nodes: list[NodeResult]) -> list[dict]:
    return [{"type": n.resource_type, "node": n.name, "status": n.status, "seconds": n.seconds} for n in nodes]


def status_report(status: Status, warehouse: str, fresh: Freshness) -> Report:
    acc = status.accounting
    runs = [
        {
            "run": run_id[:12],
            "started": f"{started:%Y-%m-%d %H:%M:%S}",
            "files": files,
            "rows loaded": rows or 0,
            "audit": audit or "unfinished",
        }
        for run_id, started, _finished, files, rows, audit in status.recent_runs
    ]
    return Report(
        f"Warehouse {warehouse}",
        [
            f"Files: {acc.files_loaded:,} loaded, {acc.files_rejected:,} rejected, "
            f"{acc.redeliveries:,} re-deliveries ignored.",
            accounting(acc),
            *fresh.sentences(),
        ],
        [
            Table("Rows per table", [{"table": t, "rows": n} for t, n in status.counts.items()]),
            Table("Top quarantine reasons", [{"reason": r, "rows": n} for r, n in status.top_reasons], "None."),
            Table("Recent ingest runs", runs),
        ],
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())) or "none"
