"""The measures' one declaration (dbt_project.yml `vars: measures`) and the consumers that cannot derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsecast import measures
from pulsecast.contract import EVENTS, EventType
from pulsecast.metrics import catalog, reference
from pulsecast.ml.series import Metric


def test_measures_count_contract_event_types_and_sum_contract_columns() -> None:
    counted = {m.counts for m in measures.MEASURES.values() if m.counts}
    assert counted <= {measures.EVERY_EVENT, *EventType}
    assert {m.sums for m in measures.MEASURES.values() if m.sums} <= {c.name for c in EVENTS.columns}


def test_the_read_api_and_its_oracle_carry_every_measure() -> None:
    assert list(catalog.MEASURES) == reference.MEASURES == list(measures.MEASURES)
    assert catalog.MEASURES["clicks"] == "BIGINT" and catalog.MEASURES["spend"] == "DECIMAL(38, 6)"


def test_training_metrics_are_measures() -> None:
    """ml/series.py picks its targets (and reads `events`) by name from the marts' measure columns."""
    assert {*Metric, "events"} <= set(measures.MEASURES)


def test_a_measure_declares_what_it_adds_up(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text("vars:\n  measures:\n    odd: {type: bigint, counts: click, sums: cost}\n")
    with pytest.raises(ValueError, match="exactly one of counts or sums"):
        measures.load(project)
