"""Tables in the terminal, one style for reports and answers: a `Report`'s sentences and tables, and the builder
`pulsecast metrics` uses for its answers."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from pulsecast.report import Report


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], right: set[str]) -> Table:
    """A rule under the header and no column lines (the narrowest readable frame); `right` columns are numbers."""
    rich_table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        rich_table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    for row in rows:
        rich_table.add_row(*row)
    return rich_table


def show(console: Console, report: Report) -> None:
    for report_table in report.tables:
        if not report_table.rows:
            console.print(f"[bold]{report_table.title}:[/] {report_table.empty}")
            continue
        numeric = {column for column, fmt in report_table.formats().items() if fmt.numeric}
        console.print(table(report_table.title, report_table.columns, report_table.text_rows(), numeric))
    for line in report.lines:
        console.print(line, highlight=False)
