"""The live loop's step: what has landed made visible to readers, with no schedule or person in between.

A micro-batch ingests every file in landing, refreshes the marts incrementally and publishes a snapshot
(`build.refresh`: no data tests, the daily build runs them). Whether a batch is due is decided from what
readers can see (`freshness`), not from a memory of the previous batch, so a loop that starts after a crash,
a pause or a stop finds the files still waiting and the loads a killed build never published, and catches up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pulsecast.build import BuildResult, DbtRunner, refresh
from pulsecast.ingest import RunSummary, ingest_run
from pulsecast.metrics.freshness import Freshness, freshness
from pulsecast.settings import Settings


def due(fresh: Freshness) -> bool:
    """Files wait in landing, or loads wait for a publish (e.g. a build killed before it published)."""
    return fresh.waiting_files > 0 or fresh.unpublished_since is not None


@dataclass(frozen=True)
class MicroBatch:
    """One pass of the loop: what it ingested, the build that published it (None when no row was loaded, e.g.
    every row a duplicate), and the wall seconds of each stage."""

    ingest: RunSummary
    build: BuildResult | None
    ingest_s: float
    build_s: float
    """dbt and the publish: `build` holds the writer lock from one through the other."""

    @property
    def seconds(self) -> float:
        return self.ingest_s + self.build_s


def micro_batch(settings: Settings, runner: DbtRunner | None = None) -> MicroBatch:
    """Ingest what landed, then rebuild and publish if anything is not visible yet (this batch's rows or an
    earlier batch's that were never published)."""
    started = time.monotonic()
    ingested = ingest_run(settings)
    ingested_at = time.monotonic()
    built = refresh(settings, runner=runner) if freshness(settings).unpublished_since else None
    return MicroBatch(ingested, built, ingested_at - started, time.monotonic() - ingested_at)


def watch(
    settings: Settings,
    run_batch: Callable[[], MicroBatch],
    stopped: Callable[[], bool],
    poll_s: float,
) -> int:
    """Run a batch whenever one is due, checking every `poll_s` seconds, until `stopped()`; the batch count.

    Polling the folder, not file-system notifications: a listing costs microseconds, and it sees files on
    any file system and those that landed while nothing watched."""
    batches = 0
    while not stopped():
        if due(freshness(settings)):
            run_batch()
            batches += 1
        else:
            time.sleep(poll_s)
    return batches
