"""What the terminal shows of a run: what it did and, when it fails, why, in one line.

The Prefect UI keeps every log line of a run with its traceback; the terminal is for a person watching. A
run that fails raises to the CLI, which prints the reason as one `error:` line on stderr; Prefect's own
account of the same failure (the engine's traceback, `Finished in state Failed(...)`) stays in the UI
unless `PULSECAST_DEBUG=1`, which also shows every traceback.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

errors = Console(stderr=True, soft_wrap=True, highlight=False)


def reason(error: BaseException) -> str:
    """The error as one line: a multi-line message (DuckDB's, dbt's) joined, the type when it says nothing."""
    return " ".join(str(error).split()) or type(error).__name__


def print_error(error: BaseException) -> None:
    """`error: <reason>` on stderr, never wrapped, whatever the terminal's width."""
    errors.print(f"[red]error:[/] {escape(reason(error))}")
