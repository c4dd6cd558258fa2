"""The daily Great Expectations checkpoint and its Data Docs: the quality record an analyst browses.

Each ingest run's audit (`audit.py`) is ephemeral: a verdict stored in `raw.ingest_runs`, nothing to browse.
The daily deployment runs the same contract suite as a checkpoint of a file-backed context under
`data/docs`, over every event loaded in the last day, and keeps each result (with samples of the unexpected
values) in Great Expectations' Data Docs site, which `pulsecast data-docs` serves beside the dbt docs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pulsecast.ingest.audit import audited_rows, expectation_suite, failed_expectations, quiet_gx
from pulsecast.settings import Settings
from pulsecast.warehouse import reader

log = logging.getLogger(__name__)

CHECKPOINT = "raw_events_daily"
SITE = Path("gx/uncommitted/data_docs/local_site/index.html")
"""The Data Docs site's index, under `Settings.docs` (Great Expectations' default local site)."""


@dataclass(frozen=True)
class CheckpointResult:
    success: bool
    evaluated: int
    failed: list[str]
    rows: int
    since: datetime
    site: Path

    @property
    def summary(self) -> str:
        state = "passed" if self.success else "FAILED: " + "; ".join(self.failed)
        since = f"{self.since:%Y-%m-%d %H:%M} UTC"
        return f"{self.evaluated} expectations on {self.rows:,} events loaded since {since} {state}"


def run_checkpoint(settings: Settings, window: timedelta = timedelta(days=1)) -> CheckpointResult:
    """Validate the events loaded within `window` of now with the contract suite, keep the result and rebuild
    the Data Docs. Reads the warehouse under the writer lock, like every look at it."""
    since = datetime.now(UTC).replace(tzinfo=None) - window
    with reader(settings) as con:
        frame = audited_rows(con, "_loaded_at >= ?", [since])
    quiet_gx()
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=settings.docs)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add_or_update(expectation_suite(settings.future_tolerance_hours))
    source = context.data_sources.add_or_update_pandas("warehouse")
    batches = source.add_dataframe_asset("events_loaded_last_day").add_batch_definition_whole_dataframe("window")
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="raw_events_contract", data=batches, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=[validation],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format="SUMMARY",
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    (result,) = outcome.run_results.values()
    failed = failed_expectations(result)
    log.info("Great Expectations checkpoint %s: %d rows, %d failed", CHECKPOINT, len(frame), len(failed))
    return CheckpointResult(bool(outcome.success), len(result.results), failed, len(frame), since, site(settings))


def site(settings: Settings) -> Path:
    """The Data Docs index (it exists once a checkpoint has run)."""
    return settings.docs / SITE
