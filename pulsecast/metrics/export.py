"""The export half of the seeds' data rights: everything a principal can see, as Parquet files.

Each question the principal may ask, whole (no lookup limit), and its daily trend per campaign, read through
the same scoped read API the HTTP server uses, so an export cannot hold a row the API would not show.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pulsecast.metrics.api import Metrics
from pulsecast.metrics.catalog import QUESTIONS, Dimension, Grain
from pulsecast.metrics.scope import Kind, OutOfScope, Scope
from pulsecast.settings import Settings


def export(settings: Settings, scope: Scope, folder: Path) -> dict[str, int]:
    """Write `<question>.parquet` for each question the scope may ask (and `trend.parquet`); rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    with Metrics(settings, cache_size=0) as metrics:
        answers = {}
        for name in QUESTIONS:
            try:
                answers[name] = metrics.ask(name, scope=scope, limit=None)
            except OutOfScope:
                continue
        if scope.kind is not Kind.owner:
            answers["trend"] = metrics.trend(Grain.day, [Dimension.campaign], scope=scope)
    for name, answer in answers.items():
        pq.write_table(answer.data, folder / f"{name}.parquet")
        written[name] = answer.data.num_rows
    return written
