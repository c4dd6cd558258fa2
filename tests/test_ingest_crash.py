"""Crash safety: a run killed at any point leaves each file all-or-nothing, and the next run finishes the job.

The kill is a real SIGKILL of a real ingest process, aimed by what the process logs, at several points of a
run over two large-ish files. Whatever the kill interrupted, one more run must leave exactly the counts a
clean run gives.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from ingest_support import (
    IngestProcess,
    assert_accounting,
    event,
    generate_events,
    isolated_settings,
    jsonl_bytes,
    query,
    valid_ids,
)

from pulsecast.ingest import ingest_run, landing
from pulsecast.settings import Settings

ROWS = 200_000
FILES = {"events_a.jsonl": (0, ROWS), "events_b.parquet": (ROWS * 3 // 4, ROWS)}
"""Name -> (first id, count). The Parquet file repeats the JSONL file's last quarter of ids."""


@dataclass(frozen=True)
class KillPoint:
    id: str
    after_log: str
    """Kill once the process has logged this."""
    delay: float = 0.0


KILL_POINTS = (
    KillPoint("right-after-taking-the-lock", "Holding the warehouse writer lock"),
    KillPoint("inside-the-first-file", "Holding the warehouse writer lock", delay=0.4),
    KillPoint("at-the-first-commit", "events_a.jsonl: read"),
    KillPoint("at-the-second-commit", "events_b.parquet: read"),
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    for name, (first, count) in FILES.items():
        generate_events(folder / name, first, count)
    return folder


def kill_at(point: KillPoint, settings: Settings, log: Path) -> list[str]:
    """Start an ingest process, SIGKILL it at `point`; return the files it left in landing."""
    process = IngestProcess.start(settings.data_dir, log)
    process.wait_for_log(point.after_log)
    time.sleep(point.delay)
    assert process.kill(), f"the ingest process had already finished:\n{log.read_text()}"
    return sorted(p.name for p in settings.landing.iterdir())


def assert_exact_state(settings: Settings) -> None:
    """What one clean run over the two files leaves, to the row."""
    assert list(settings.landing.iterdir()) == []
    manifest = query(
        settings,
        """SELECT file_name, status, deliveries, rows_read, rows_loaded, rows_quarantined, rows_duplicate
           FROM raw.ingested_files ORDER BY file_name""",
    )
    overlap = valid_ids([(FILES["events_b.parquet"][0], ROWS - FILES["events_b.parquet"][0])])
    assert [tuple(row.values()) for row in manifest] == [
        ("events_a.jsonl", "loaded", 1, ROWS, ROWS - 200, 200, 0),
        ("events_b.parquet", "loaded", 1, ROWS, ROWS - 200 - overlap, 200, overlap),
    ]
    (counts,) = query(
        settings,
        """SELECT count(*) AS events, count(DISTINCT event_id) AS ids,
                  (SELECT count(*) FROM raw.quarantine) AS quarantined
           FROM raw.events""",
    )
    expected = valid_ids(FILES.values())
    assert counts == {"events": expected, "ids": expected, "quarantined": 400}
    assert_accounting(settings)
    archived = sorted(p.name.split("_", 1)[1] for p in settings.archive.iterdir())
    assert archived == sorted(FILES)


def test_a_killed_run_is_finished_exactly_by_the_next(sources: Path, tmp_path: Path) -> None:
    """SIGKILL at each point, rerun in-process, and compare with the state of a clean run."""
    interrupted = []
    for point in KILL_POINTS:
        settings = isolated_settings(tmp_path / point.id)
        shutil.copytree(sources, settings.landing)
        left = kill_at(point, settings, tmp_path / f"{point.id}.log")
        if left:
            interrupted.append((point.id, left))

        summary = ingest_run(settings)

        assert sorted(f.file_name for f in summary.files) == left
        assert all(f.status in ("loaded", "redelivered") for f in summary.files)
        assert_exact_state(settings)
    assert interrupted, "no kill landed while files were still being loaded"
    assert interrupted[0] == ("right-after-taking-the-lock", sorted(FILES))


def test_a_run_dying_between_commit_and_move_is_not_a_new_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window: the file's transaction committed, the process died before moving the file."""
    settings = isolated_settings(tmp_path)
    settings.ensure_dirs()
    (settings.landing / "events_window.jsonl").write_bytes(jsonl_bytes([event("w-1"), event("w-2", cost="-3")]))

    def die(*_: object) -> None:
        raise KeyboardInterrupt("killed after the commit")

    with monkeypatch.context() as patch:
        patch.setattr(landing, "move_out", die)
        with pytest.raises(KeyboardInterrupt):
            ingest_run(settings)
    assert [p.name for p in settings.landing.iterdir()] == ["events_window.jsonl"]

    (result,) = ingest_run(settings).files
    assert (result.status, result.reason) == ("redelivered", "left in landing by an interrupted run")
    (manifest,) = query(settings, "SELECT deliveries, rows_read, rows_loaded, rows_quarantined FROM raw.ingested_files")
    assert manifest == {"deliveries": 1, "rows_read": 2, "rows_loaded": 1, "rows_quarantined": 1}
    assert query(settings, "SELECT event_id FROM raw.events") == [{"event_id": "w-1"}]
    assert list(settings.landing.iterdir()) == []
    assert len(list(settings.archive.iterdir())) == 1

    # The same bytes arriving again later are a real re-delivery.
    (settings.landing / "events_window.jsonl").write_bytes(jsonl_bytes([event("w-1"), event("w-2", cost="-3")]))
    (again,) = ingest_run(settings).files
    assert again.reason == "same content already processed"
    assert query(settings, "SELECT deliveries FROM raw.ingested_files") == [{"deliveries": 2}]
