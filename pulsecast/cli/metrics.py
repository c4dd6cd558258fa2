"""`pulsecast metrics ...`: the read API on the command line, one subcommand per dashboard question.

`--format table` (the default) is for people: one table that fits the terminal, values as people read them
(`pulsecast.display`). `--format json|csv` is for machines: every column, raw values, on stdout.
"""

from __future__ import annotations

import csv
import inspect
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

import typer
from rich.cells import cell_len
from rich.console import Console

from pulsecast.cli.render import table
from pulsecast.contract import Channel, Device
from pulsecast.display import ColumnFormat, Kind, column_format
from pulsecast.metrics.api import Answer, Metrics
from pulsecast.metrics.catalog import HEADLINE, QUESTIONS, Dimension, Grain, Question
from pulsecast.settings import get_settings

app = typer.Typer(help="Dashboard questions answered from the published marts (never from raw events).")
console = Console()


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FORMAT_OPTION = typer.Option(Format.table, "--format", help="table for people; json or csv (raw values) for machines.")
COLUMNS_OPTION = typer.Option(
    [], "--columns", help="Only these columns, in this order: a,b,c or repeated. Default: as many as fit."
)


def _moment(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not an ISO date (2026-09-01) or time (2026-09-01T10:00)") from None


def show(answer: Answer, output: Format, picked: list[str], first: tuple[str, ...] = ()) -> None:
    """Print an answer in the chosen format, only the `picked` columns if any; a table too wide for the terminal
    keeps the `first` columns, then keys and headline measures."""
    columns = _picked(answer, picked)
    data = answer.data.select(columns or answer.columns)
    if output is Format.json:
        print(json.dumps(data.to_pylist(), default=json_value, indent=1))
    elif output is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(data.column_names)
        writer.writerows([_raw(v) for v in record.values()] for record in data.to_pylist())
    elif not answer.data.num_rows:
        console.print(answer.empty or "No rows.", highlight=False)
    else:
        _show_table(answer, columns, first)


def _picked(answer: Answer, picked: list[str]) -> list[str]:
    columns = [name.strip() for names in picked for name in names.split(",") if name.strip()]
    unknown = [c for c in columns if c not in answer.columns]
    if unknown:
        message = f"no column {', '.join(unknown)} in this answer; it has: {', '.join(answer.columns)}"
        raise typer.BadParameter(message, param_hint="--columns")
    return columns


def _raw(value: object) -> str:
    """A value for machines: full precision, ISO-8601 times, null as nothing."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def json_value(value: object) -> object:
    """What JSON cannot say itself: money as a number, times as ISO-8601 text."""
    return float(value) if isinstance(value, Decimal) else _raw(value)


def _show_table(answer: Answer, picked: list[str], first: tuple[str, ...]) -> None:
    formats = {c: column_format(c, answer.data.column(c).to_pylist()) for c in answer.columns}
    texts = {c: [formats[c](v) for v in answer.data.column(c).to_pylist()] for c in answer.columns}
    numeric = {c for c, fmt in formats.items() if fmt.numeric}
    title = f"from {answer.table} · {answer.data.num_rows:,} rows"
    columns = picked or _fitting(_by_priority(answer.columns, formats, first), texts, numeric)
    console.print(table(title, columns, list(zip(*(texts[c] for c in columns), strict=True)), numeric))
    left_out = [c for c in answer.columns if c not in columns]
    if left_out and not picked:
        console.print(_left_out(left_out), highlight=False)


def _left_out(columns: list[str]) -> str:
    """One line naming the columns a table left out, as many as the width allows."""
    for named in range(len(columns), 0, -1):
        more = f", … ({len(columns)} in all)" if named < len(columns) else ""
        line = f"Not shown: {', '.join(columns[:named])}{more}; pick columns with --columns a,b,c."
        if cell_len(line) <= console.width:
            return line
    return line


def _by_priority(columns: list[str], formats: dict[str, ColumnFormat], first: tuple[str, ...]) -> list[str]:
    """The question's own `first` columns, then keys (what a row is: its text columns, its first time column, a
    rank), then the headline measures, then the rest in the mart's order (later times such as as_of are context)."""
    times = [c for c in columns if formats[c].temporal]
    keys = [c for c in columns if formats[c].kind is Kind.text or c == "rank" or c in times[:1]]
    return list(dict.fromkeys([*(c for c in (*first, *keys, *HEADLINE) if c in columns), *columns]))


def _fitting(columns: list[str], texts: dict[str, list[str]], numeric: set[str]) -> list[str]:
    """The longest head of `columns` (at least one) whose table fits the console's width."""
    widest = {c: max([c, *texts[c]], key=cell_len) for c in columns}
    unbounded = console.options.update_width(sys.maxsize)  # measured as wide as it wants, not cut to the screen
    for count in range(2, len(columns) + 1):
        sample = table(None, columns[:count], [[widest[c] for c in columns[:count]]], numeric)
        if console.measure(sample, options=unbounded).maximum > console.width:
            return columns[: count - 1]
    return columns


@app.command()
def trend(
    grain: Grain = typer.Option(Grain.day, help="Period of each row."),
    by: list[Dimension] = typer.Option([], help="Break down by (repeatable)."),
    campaign: list[str] = typer.Option([], help="Only these campaigns (repeatable)."),
    brand: list[str] = typer.Option([], help="Only these brands (repeatable)."),
    channel: list[Channel] = typer.Option([], help="Only these channels (repeatable)."),
    device: list[Device] = typer.Option([], help="Only these devices (repeatable)."),
    start: str | None = typer.Option(None, help="Inclusive start, ISO date or time."),
    end: str | None = typer.Option(None, help="Exclusive end, ISO date or time."),
    output: Format = FORMAT_OPTION,
    columns: list[str] = COLUMNS_OPTION,
) -> None:
    """Volumes, spend and rates per hour, day or month, any filter combination, from the smallest rollup."""
    with Metrics(get_settings()) as metrics:
        answer = metrics.trend(
            grain,
            by,
            campaigns=campaign,
            brands=brand,
            channels=channel,
            devices=device,
            start=_moment(start),
            end=_moment(end),
        )
    show(answer, output, columns)


def _question_command(name: str, question: Question):
    """A command whose options are exactly the filters the question accepts (so --help tells the truth), a
    filter with fixed values a choice among them."""

    def command(**options: str | None) -> None:
        output, columns = options.pop("output"), options.pop("columns")
        bounds = {k: _moment(options.pop(k, None)) for k in ("start", "end")}
        with Metrics(get_settings()) as metrics:
            answer = metrics.ask(name, **bounds, **options)
        show(answer, output, columns, question.columns)

    parameters = [
        inspect.Parameter(
            option,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=(Literal[question.choices[option]] if option in question.choices else str) | None,
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
    parameters += [
        inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=Format, default=FORMAT_OPTION),
        inspect.Parameter("columns", inspect.Parameter.KEYWORD_ONLY, annotation=list[str], default=COLUMNS_OPTION),
    ]
    command.__signature__ = inspect.Signature(parameters)
    command.__doc__ = question.description
    return command


def sql(
    query: str = typer.Argument(..., help='e.g. "SELECT campaign_id, status FROM campaign_pacing"'),
    output: Format = FORMAT_OPTION,
    columns: list[str] = COLUMNS_OPTION,
) -> None:
    """Your own read-only SQL over the published marts (the snapshot dashboards read; `SHOW TABLES` lists them)."""
    with Metrics(get_settings()) as metrics:
        answer = metrics.sql(query)
    show(answer, output, columns)


@app.command("freshness")
def freshness_command(output: Format = FORMAT_OPTION) -> None:
    """How fresh the answers are: the snapshot's age, its newest event, and what landed that it does not show."""
    with Metrics(get_settings()) as metrics:
        fresh = metrics.freshness()
    if output is Format.table:
        console.print("\n".join(fresh.sentences()), highlight=False)
        return
    figures = fresh.figures()
    if output is Format.json:
        print(json.dumps({name: _raw(v) if isinstance(v, datetime) else v for name, v in figures.items()}))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(figures))
        writer.writeheader()
        writer.writerow({name: _raw(value) for name, value in figures.items()})


for _name, _question in QUESTIONS.items():
    app.command(_name)(_question_command(_name, _question))
