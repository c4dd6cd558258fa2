"""Freshness: readers, `pulsecast status` and the flows' reports say how old the snapshot is, the newest event it
counts, and what landed that it does not show yet (files in landing, events ingested but not published)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_support import pulsecast
from ingest_support import event, jsonl_bytes

from pulsecast.ingest import ingest_run
from pulsecast.metrics import snapshot
from pulsecast.metrics.api import Metrics
from pulsecast.metrics.freshness import duration, freshness
from pulsecast.report import ingest_report
from pulsecast.settings import Settings
from pulsecast.warehouse import writer_lock


def land(settings: Settings, name: str, *times: str, age_s: float = 0) -> Path:
    path = settings.landing / name
    path.write_bytes(jsonl_bytes([event(f"{name}-{i}", event_ts=ts) for i, ts in enumerate(times)]))
    written = time.time() - age_s
    os.utime(path, (written, written))
    return path


def publish(settings: Settings) -> None:
    with writer_lock(settings, "test publish"):
        snapshot.publish(settings)


def test_before_anything_is_published(settings: Settings) -> None:
    land(settings, "events_1.jsonl", "2026-11-01T10:00:00Z", age_s=90)
    fresh = freshness(settings)
    assert fresh.snapshot is None and fresh.loaded is None
    assert fresh.waiting_files == 1 and fresh.lag_s == pytest.approx(90, abs=5)
    assert "no snapshot is published" in fresh.sentences()[0]


def test_what_landed_is_visible_only_once_published(settings: Settings) -> None:
    land(settings, "events_1.jsonl", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z")
    ingest_run(settings)
    publish(settings)
    with Metrics(settings) as metrics:
        fresh = metrics.freshness()
        assert fresh.snapshot is not None
        assert (fresh.snapshot.events, fresh.snapshot.newest_event_ts) == (2, datetime(2026, 11, 1, 11))
        assert fresh.age_s is not None and 0 <= fresh.age_s < 60
        assert (fresh.waiting_files, fresh.unpublished_since, fresh.lag_s) == (0, None, 0.0)
        assert fresh.sentences()[-1] == "Nothing waits: readers see everything that landed."

        land(settings, "events_2.jsonl", "2026-11-01T12:00:00Z", age_s=120)
        waiting = metrics.freshness()
        assert waiting.waiting_files == 1 and waiting.lag_s == pytest.approx(120, abs=5)
        assert "1 file(s) in landing" in waiting.sentences()[-1]

        summary = ingest_run(settings)  # loaded, not yet published: still not visible
        loaded = metrics.freshness()
        assert loaded.waiting_files == 0
        assert loaded.unpublished_since is not None
        assert loaded.newest_event_not_visible == datetime(2026, 11, 1, 12)
        assert loaded.lag_s >= 0
        said = " ".join(loaded.sentences())
        assert "events ingested since" in said and "the newest at 2026-11-01 12:00:00 UTC" in said
        assert "waiting for the next transform" in ingest_report(summary, loaded).text()

        publish(settings)
        caught_up = metrics.freshness()
        assert caught_up.snapshot is not None and caught_up.snapshot.events == 3
        assert (caught_up.unpublished_since, caught_up.newest_event_not_visible, caught_up.lag_s) == (None, None, 0.0)


def test_an_ingest_run_without_new_events_keeps_the_snapshot_current(settings: Settings) -> None:
    land(settings, "events_1.jsonl", "2026-11-01T10:00:00Z")
    ingest_run(settings)
    publish(settings)
    ingest_run(settings)  # nothing new
    assert freshness(settings).unpublished_since is None


def test_status_says_the_same(settings: Settings) -> None:
    land(settings, "events_1.jsonl", "2026-11-01T10:00:00Z")
    ingest_run(settings)
    publish(settings)
    land(settings, "events_2.jsonl", "2026-11-01T12:00:00Z", age_s=600)
    status = pulsecast("status", data_dir=settings.data_dir)
    assert status.returncode == 0, status.stderr
    text = " ".join(status.stdout.split())
    assert "Readers see snapshot marts-" in text and "1 events, the newest at 2026-11-01 10:00:00 UTC" in text
    assert "Not visible yet: 1 file(s) in landing" in text and "Lag behind landing: 10 min" in text


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0, 45, 65, 3_600, 7_325, 2 * 86_400 + 300)] == [
        "0 s",
        "45 s",
        "1 min 5 s",
        "1 h",
        "2 h 2 min",
        "2 d 5 min",
    ]
    assert duration(timedelta(minutes=3).total_seconds()) == "3 min"


def test_metrics_freshness_on_the_command_line(settings: Settings) -> None:
    land(settings, "events_1.jsonl", "2026-11-01T10:00:00Z")
    ingest_run(settings)
    publish(settings)
    said = pulsecast("metrics", "freshness", data_dir=settings.data_dir)
    assert said.returncode == 0, said.stderr
    assert "Nothing waits: readers see everything that landed." in said.stdout
    figures = json.loads(pulsecast("metrics", "freshness", "--format", "json", data_dir=settings.data_dir).stdout)
    assert (figures["events"], figures["newest_event_ts"], figures["lag_s"]) == (1, "2026-11-01T10:00:00", 0.0)
