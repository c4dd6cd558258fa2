"""The `pulsecast` command as a user meets it: real subprocesses, one-line errors, the accounting shown."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from cli_support import pulsecast

from pulsecast.settings import Settings


def test_status_before_anything_was_ingested(tmp_path: Path) -> None:
    result = pulsecast("status", data_dir=tmp_path / "data")
    assert result.returncode == 0
    assert "Nothing ingested yet" in result.stdout


def test_ingest_and_status_show_the_accounting(settings: Settings) -> None:
    (settings.landing / "events_cli.jsonl").write_text(
        '{"event_id": "a", "event_ts": "2026-05-01T00:00:00Z", "event_type": "click", "campaign_id": "c"}\n'
        '{"event_id": "a", "event_ts": "2026-05-01T00:00:00Z", "event_type": "click", "campaign_id": "c"}\n'
        '{"event_id": "b", "event_ts": "not a time", "event_type": "click", "campaign_id": "c"}\n'
    )
    ingested = pulsecast("ingest", data_dir=settings.data_dir)
    assert ingested.returncode == 0, ingested.stderr
    assert "1 loaded, 1 quarantined, 1 duplicates" in ingested.stdout

    status = pulsecast("status", data_dir=settings.data_dir)
    assert status.returncode == 0, status.stderr
    assert "Rows read 3 = loaded 1 + quarantined 1 + duplicates 1" in status.stdout
    assert "holds for every file" in status.stdout
    assert 'event_ts "not a time" is not an ISO-8601 timestamp' in status.stdout


def test_errors_are_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = pulsecast("ingest", data_dir=blocker)
    assert result.returncode == 1
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:") and "a-file" in lines[0]


@pytest.mark.slow
def test_a_prefect_run_that_succeeds_prints_no_error(tmp_path: Path) -> None:
    """The pipeline on Prefect's temporary server, dbt's ~260 nodes each a task, as a user runs it. Whether the
    server was still recording them when it stopped depended on timing; tests/test_recorded.py checks the cause
    deterministically."""
    data = tmp_path / "data"
    world = ("--days", "2", "--campaigns", "2", "--events-per-day", "200")
    result = pulsecast("run", *world, "--no-forecast", data_dir=data)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert not re.search(r"\bERROR\b(?!=0)", output), output  # dbt's summary says "ERROR=0"
    assert "accounting holds for every file" in result.stdout
    with sqlite3.connect(data / "prefect" / "prefect.db") as db:
        states = dict(db.execute("SELECT state_type, count(*) FROM task_run GROUP BY state_type").fetchall())
    assert set(states) == {"COMPLETED"} and states["COMPLETED"] > 200, states


def test_a_failing_flow_run_says_why_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "warehouse.duckdb").write_text("not a database")
    result = pulsecast("run", "--no-forecast", data_dir=data, COLUMNS="40")  # a narrow terminal wraps nothing
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    said = [line for line in result.stderr.splitlines() if "not a valid DuckDB database file" in line]
    assert len(said) == 1 and said[0].startswith("error: IO Error: The file"), result.stderr

    debugging = pulsecast("run", "--no-forecast", data_dir=data, PULSECAST_DEBUG="1")
    assert debugging.returncode == 1
    assert "Traceback" in debugging.stderr and "not a valid DuckDB database file" in debugging.stderr


def test_bad_option_values_are_refused(tmp_path: Path) -> None:
    result = pulsecast("generate", "backfill", "--days", "0", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert "--days" in result.stderr


def test_routine_task_lines_stay_off_the_terminal() -> None:
    from logging import ERROR, INFO, LogRecord

    from pulsecast.flows.console import _not_task_progress as shown

    def line(message: str, level: int = INFO, logger: str = "prefect.task_runs") -> LogRecord:
        return LogRecord(logger, level, __file__, 0, message, None, None)

    assert not shown(line("Finished in state Completed()"))
    assert not shown(line("12 of 247 START sql view model staging.stg_events ........ [RUN]"))
    assert not shown(line("13 of 247 PASS not_null_campaign_daily_day ........ [PASS in 0.1s]"))
    assert shown(line("clicks: MLflow run 1f2e, version 3: challenger"))  # a task's own print
    assert shown(line("14 of 247 ERROR creating sql table model marts.x", ERROR))
    assert shown(line("Finished in state Completed()", logger="prefect.flow_runs"))
