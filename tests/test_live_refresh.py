"""The micro-batch path: `refresh` after each batch keeps every published table equal to a full rebuild, shares
what did not change, removes what no kept snapshot names, and readers never see a mix of two snapshots.

The small generated world of tests/test_dbt_marts.py is ingested without its last day; `refresh` publishes it
(a full build: nothing was published). Then three micro-batches, each refreshed: a held-back file; another with
late copies, exact re-sends and a session bridge (as in tests/test_dbt_marts.py) and a campaigns file that
renames a campaign; the last held-back files. Finally `build --full-refresh` rebuilds everything and its snapshot
must equal the last refresh's, table by table.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_dbt_marts import HELD_BACK_FILES, WORLD, late_and_resent_events, renamed_campaigns_file
from world_support import generated_holding_back

from pulsecast.build import BuildResult, build, refresh
from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock

pytestmark = pytest.mark.slow  # a dbt build, five refreshes and a full rebuild: ~1-2 min

CONSISTENT = """SELECT (SELECT sum(events) FROM events_daily), (SELECT sum(events) FROM events_hourly),
                       (SELECT sum(events) FROM campaign_daily), (SELECT events FROM snapshot_info)"""
"""Four counts of the same events from four tables (two split in base and recent files, one shared, the info):
equal in any one snapshot, different between two."""


@dataclass
class Series:
    settings: Settings
    refreshes: list[BuildResult]
    manifests: list[snapshot.Manifest]
    """What each refresh published, read at once (only the newest KEEP stay on disk)."""
    full: BuildResult


def land_held_back(settings: Settings, held_back: list[Path], count: int) -> None:
    for path in held_back[:count]:
        shutil.move(path, settings.landing / path.name)
    del held_back[:count]


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Series:
    settings, held_back = generated_holding_back(tmp_path_factory.mktemp("live"), WORLD, HELD_BACK_FILES)
    ingest_run(settings)
    refreshes: list[BuildResult] = []
    manifests: list[snapshot.Manifest] = []

    def refreshed() -> None:
        refreshes.append(refresh(settings))
        manifests.append(snapshot.load(refreshes[-1].published))

    refreshed()  # nothing published yet: the full build
    land_held_back(settings, held_back, 1)
    ingest_run(settings)
    refreshed()
    refreshed()  # nothing new

    land_held_back(settings, held_back, 1)
    (settings.landing / "events_late_and_resent.jsonl").write_text("\n".join(late_and_resent_events(settings)) + "\n")
    (settings.landing / "campaigns.csv").write_text(renamed_campaigns_file(settings))
    assert ingest_run(settings).total("rows_duplicate") >= 50
    refreshed()

    land_held_back(settings, held_back, 2)
    ingest_run(settings)
    refreshed()
    return Series(settings, refreshes, manifests, build(settings, full_refresh=True))


def test_every_published_table_equals_a_full_rebuild(series: Series) -> None:
    last = series.refreshes[-1].published
    assert snapshot.differences(series.settings, last, series.full.published) == {}
    tables = series.manifests[-1].tables
    assert {"sessions", "events_hourly", "campaign_daily", "kpi_overview", "campaigns"} <= set(tables)
    assert tables["events_hourly"].rows > 0 and tables["sessions"].rows > 0


def test_a_refresh_runs_only_models_downstream_of_what_was_loaded_and_no_tests(series: Series) -> None:
    first, batch, idle, with_campaigns, _ = series.refreshes
    assert batch.command == "run --threads 1 --select source:pulsecast.raw.events+"
    assert with_campaigns.command.endswith("--select source:pulsecast.raw.campaigns+ source:pulsecast.raw.events+")
    ran = {n.name for n in batch.nodes}
    assert {n.resource_type for n in batch.nodes} == {"model", "operation"} and "sessions" in ran  # the hook
    assert not ran & {"campaign_risks", "campaign_scenarios", "campaign_insights", "stg_quarantine"}
    assert first.command == "build" and len(ran) < len(first.nodes) / 5
    assert idle.nodes == [] and idle.published == batch.published, "nothing new: nothing runs, nothing is published"


def test_a_refresh_shares_what_did_not_change(series: Series) -> None:
    first, batch = series.manifests[0].tables, series.manifests[1].tables
    for untouched in ("campaign_risks", "campaign_scenarios", "campaigns", "brands"):
        assert batch[untouched] == first[untouched], f"{untouched} was copied again"
    for split in snapshot.SPLIT:
        assert batch[split].files[0] == first[split].files[0], f"{split}: the base did not change, yet was copied"
        assert batch[split].files[1] != first[split].files[1], f"{split}: the recent part changed"
    renamed = series.manifests[3].tables
    assert renamed["campaigns"] != batch["campaigns"], "a renamed campaign publishes the dimension again"


def test_files_no_kept_snapshot_names_are_removed(series: Series) -> None:
    snapshots = series.settings.snapshots
    manifests = list(snapshots.glob("marts-*.json"))
    assert len(manifests) == snapshot.KEEP
    named = set().union(*(snapshot.load(path).files() for path in manifests))
    on_disk = {str(p.relative_to(snapshots)) for p in (snapshots / snapshot.TABLES).iterdir()}
    assert on_disk == named


def test_a_prewarming_reader_answers_the_new_snapshot_before_it_is_asked(series: Series) -> None:
    settings = series.settings
    with Metrics(settings, prewarm=True) as reader, Metrics(settings, cache_size=0) as cold:
        kpis, devices = reader.ask("kpis", window="all_time"), reader.ask("devices")
        with writer_lock(settings, "test publish"):
            published = snapshot.publish(settings, changed={"kpi_overview"})
        assert reader.ask("devices") is devices, "an answer from an unchanged table is kept"
        for _ in range(100):  # the watcher polls every 0.2 s, asks the kpis again, then switches
            if reader.snapshot == published.name:
                break
            threading.Event().wait(0.1)
        assert reader.snapshot == published.name, "the reader moved to the new snapshot"
        assert reader.cached == 2, "the changed table's question was asked again in the background, before"
        warmed = reader.ask("kpis", window="all_time")
        assert warmed is not kpis and warmed.rows == cold.ask("kpis", window="all_time").rows
        assert reader.ask("kpis", window="all_time") is warmed


def test_readers_never_see_a_mix_while_refreshes_publish(series: Series) -> None:
    """Two readers (one pre-warming) ask a cross-table question while micro-batches land, are refreshed,
    published and pruned. Last in the module: it adds events after the comparison with the full rebuild."""
    settings = series.settings
    stop, seen, errors = threading.Event(), [], []

    def read_loop(prewarm: bool) -> None:
        with Metrics(settings, prewarm=prewarm) as reader:
            while not stop.is_set():
                try:
                    row = reader.sql(CONSISTENT).rows[0]
                    seen.append(row)
                    assert len(set(row)) == 1, f"a mix of snapshots: {row}"
                except BaseException as error:  # every failure counts
                    errors.append(error)

    readers = [threading.Thread(target=read_loop, args=(prewarm,)) for prewarm in (False, True)]
    for thread in readers:
        thread.start()
    try:
        for batch in range(2 * snapshot.KEEP):
            events = [
                f'{{"event_id": "live-{batch}-{n}", "event_ts": "2026-03-09T12:{n:02d}:00Z", '
                f'"event_type": "impression", "campaign_id": "cmp-001"}}'
                for n in range(batch + 1)
            ]
            (settings.landing / f"events_live_{batch}.jsonl").write_text("\n".join(events) + "\n")
            ingest_run(settings)
            refresh(settings)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors, errors[:3]
    assert len(seen) > 10 and len({row[0] for row in seen}) > 1, "the readers saw the data change"
