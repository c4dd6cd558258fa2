"""A `Report` in the terminal: its sentences, then each table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pulsecast.report import Report, cell


def show(console: Console, report: Report) -> None:
    for table in report.tables:
        if not table.rows:
            console.print(f"[bold]{table.title}:[/] {table.empty}")
            continue
        rich_table = Table(title=table.title)
        for column in table.columns:
            rich_table.add_column(column, overflow="fold")
        for row in table.rows:
            rich_table.add_row(*(cell(row.get(column, "")) for column in table.columns))
        console.print(rich_table)
    for line in report.lines:
        console.print(line, highlight=False)
