"""A Great Expectations suite derived from the event contract, run over each ingest run's loaded rows.

The contract rules already judge every row in SQL while it loads; this is the independent second look,
declared the Great Expectations way, and it also checks what row rules cannot: that no event_id was loaded
twice. It runs once per ingest run rather than inside each file's transaction because validating in pandas
costs more than the load itself (bench/ingest.py prints both).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pandas

from pulsecast.contract import EVENTS, EventType
from pulsecast.ingest.rules import EARLIEST_TS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditResult:
    success: bool
    evaluated: int
    failed: list[str]
    rows: int

    @property
    def summary(self) -> str:
        if not self.rows:
            return "no new rows"
        state = "passed" if self.success else "FAILED: " + "; ".join(self.failed)
        return f"{self.evaluated} expectations on {self.rows} rows {state}"


AUDITED_COLUMNS = tuple(c.name for c in EVENTS.columns if c.required or c.non_negative)
"""The columns `expectation_suite` has expectations on."""


def expectation_suite(future_hours: float):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="raw_events_contract")
    for name in EVENTS.required:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="event_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=[t.value for t in EventType]))
    for column in EVENTS.columns:
        if column.non_negative:
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column.name, min_value=0))
    latest = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=future_hours)
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="event_ts", min_value=datetime.fromisoformat(EARLIEST_TS), max_value=latest
        )
    )
    return suite


def audit_run(con: duckdb.DuckDBPyConnection, run_id: str, future_hours: float) -> AuditResult:
    frame = audited_rows(con, "_run_id = ?", [run_id])
    if frame.empty:
        return AuditResult(True, 0, [], 0)
    return _validate(frame, future_hours)


def audited_rows(con: duckdb.DuckDBPyConnection, where: str, parameters: list) -> pandas.DataFrame:
    """The columns the suite looks at, of the raw events matching `where` (the others would double the cost of
    fetching and validating). Money arrives as DOUBLE: GX compares floats, and pandas would otherwise hold slow
    Decimal objects."""
    columns = ", ".join(
        f"CAST({c.name} AS DOUBLE) AS {c.name}" if c.kind == "money" else c.name
        for c in EVENTS.columns
        if c.name in AUDITED_COLUMNS
    )
    return con.execute(f"SELECT {columns} FROM raw.events WHERE {where}", parameters).df()


def quiet_gx() -> None:
    """Great Expectations without telemetry, progress bars or INFO lines a user has no use for."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # This one sets its own level; its INFO line per run ("Created temporary directory ... for ephemeral docs
    # site") says nothing to a user.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)


def failed_expectations(result) -> list[str]:
    """`type(column)` of each expectation a validation result says failed."""
    return [
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
        for r in result.results
        if not r.success
    ]


def _validate(frame: pandas.DataFrame, future_hours: float) -> AuditResult:
    quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(expectation_suite(future_hours))
    batch = (
        context.data_sources.add_pandas("ingest")
        .add_dataframe_asset("raw_events")
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(suite, result_format="BOOLEAN_ONLY")
    failed = failed_expectations(result)
    log.info("Great Expectations audit: %d expectations, %d failed", len(result.results), len(failed))
    return AuditResult(bool(result.success), len(result.results), failed, len(frame))
