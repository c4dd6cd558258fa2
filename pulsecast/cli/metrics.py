"""`pulsecast metrics ...`: the read API on the command line, one subcommand per dashboard question."""

from __future__ import annotations

import inspect
import json
from datetime import date, datetime
from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table

from pulsecast.metrics.api import Answer, Metrics
from pulsecast.metrics.catalog import QUESTIONS, Dimension, Grain, Question
from pulsecast.settings import get_settings

app = typer.Typer(help="Dashboard questions answered from the published marts (never from raw events).")
console = Console()

JSON_OPTION = typer.Option(False, "--json", help="Print JSON records instead of a table.")


def _moment(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not an ISO date (2026-09-01) or time (2026-09-01T10:00)") from None


WIDE = 8
"""Answers with more columns than this print one key/value block per row: wide tables fold unreadably."""


def show(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.records(), default=_plain, indent=1))
        return
    title = f"from {answer.table} · {len(answer.rows)} rows"
    if len(answer.columns) > WIDE:
        console.print(f"[bold]{title}")
        for record in answer.records():
            block = Table(show_header=False, box=None, padding=(0, 2))
            for column, value in record.items():
                block.add_row(f"[dim]{column}", _cell(value))
            console.print(block, "")
        return
    table = Table(title=title)
    for column in answer.columns:
        table.add_column(column, overflow="fold")
    for row in answer.rows:
        table.add_row(*(_cell(v) for v in row))
    console.print(table)


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else str(value)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)


@app.command()
def trend(
    grain: Grain = typer.Option(Grain.day, help="Period of each row."),
    by: list[Dimension] = typer.Option([], help="Break down by (repeatable)."),
    campaign: list[str] = typer.Option([], help="Only these campaigns (repeatable)."),
    brand: list[str] = typer.Option([], help="Only these brands (repeatable)."),
    channel: list[str] = typer.Option([], help="Only these channels (repeatable)."),
    device: list[str] = typer.Option([], help="Only these devices (repeatable)."),
    start: str | None = typer.Option(None, help="Inclusive start, ISO date or time."),
    end: str | None = typer.Option(None, help="Exclusive end, ISO date or time."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Volumes, spend and rates per hour, day or month, any filter combination, from the smallest rollup."""
    with Metrics(get_settings()) as metrics:
        show(
            metrics.trend(
                grain,
                by,
                campaigns=campaign,
                brands=brand,
                channels=channel,
                devices=device,
                start=_moment(start),
                end=_moment(end),
            ),
            as_json,
        )


def _question_command(name: str, question: Question):
    """A command whose options are exactly the filters the question accepts (so --help tells the truth)."""

    def command(**options: str | bool | None) -> None:
        as_json = bool(options.pop("as_json"))
        bounds = {k: _moment(options.pop(k, None)) for k in ("start", "end")}
        with Metrics(get_settings()) as metrics:
            show(metrics.ask(name, **bounds, **options), as_json)

    parameters = [
        inspect.Parameter(
            option,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=str | None,
            default=typer.Option(None, help=f"Filter on {column}."),
        )
        for option, column in question.filters.items()
    ]
    if question.time_column:
        parameters += [
            inspect.Parameter(
                bound,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=str | None,
                default=typer.Option(None, help=f"{label} {question.time_column}, ISO date."),
            )
            for bound, label in (("start", "Inclusive start of"), ("end", "Exclusive end of"))
        ]
    parameters.append(
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=JSON_OPTION)
    )
    command.__signature__ = inspect.Signature(parameters)
    command.__doc__ = question.description
    return command


for _name, _question in QUESTIONS.items():
    app.command(_name)(_question_command(_name, _question))
