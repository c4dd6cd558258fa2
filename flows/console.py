"""The terminal's share of Prefect's logging: what a run did, not every task's routine line or a traceback.

The Prefect UI keeps every log line of a run with its traceback; the console is for a person watching. The CLI
applies this in its own process, and the train flow's process pool in each of its workers (their task runs log
to their own console), so a run that succeeds prints no routine task line from any process.
"""

from __future__ import annotations

import logging
import os
import re

DEBUG_VARIABLE = "PULSECAST_DEBUG"
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

TASK_PROGRESS = re.compile(r"Finished in state Completed\(|\d+ of \d+ (START|OK|PASS|NO-OP|SKIP) ")
"""A task run's routine lines: its completion, and dbt's progress line per node (PrefectDbtRunner's tasks)."""
ENGINE_FAILURE = re.compile(r"Finished in state (Failed|Crashed)\(")
"""The engine's closing line of a failed run, which restates the exception the CLI prints."""


def debugging() -> bool:
    return bool(os.environ.get(DEBUG_VARIABLE))


def _not_task_progress(record: logging.LogRecord) -> bool:
    return not (
        record.name == "prefect.task_runs"
        and record.levelno < logging.WARNING
        and TASK_PROGRESS.match(record.getMessage())
    )


def _not_failure_account(record: logging.LogRecord) -> bool:
    """False for the engine's record of a failure: it carries the traceback, or only restates the exception."""
    if record.name not in RUN_LOGGERS:
        return True
    return not ((record.exc_info and record.levelno >= logging.ERROR) or ENGINE_FAILURE.match(record.getMessage()))


class _WithoutTraceback(logging.Formatter):
    """Formats as the wrapped formatter does, leaving out any traceback (another handler may still need it, so
    the record is restored)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def quiet_prefect_console() -> None:
    """A task run's routine lines (dbt's START / OK per node, `Finished in state Completed()`) stay in the Prefect
    UI; in the terminal ~700 of them per `make run` hid what the run did. So do failures' tracebacks, unless
    debugging. The console is the root logger's handler (Prefect's run loggers send to the UI through their own
    handler, first); call this after Prefect is imported, as its logging set-up installs it."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_task_progress)
        if not debugging() and not isinstance(handler.formatter, _WithoutTraceback):
            handler.addFilter(_not_failure_account)
            handler.setFormatter(_WithoutTraceback(handler.formatter))
