"""The live loop: files dropped in landing become visible in `pulsecast metrics` with no manual step, a killed
refresh leaves the published snapshot intact, a pause stops the loop, and after a series of micro-batches with
late, re-sent and renamed data every mart equals a full rebuild.

The loop runs as a worker runs it: a flow run of a `live` deployment on the Prefect test harness, executed by
`python -m prefect.engine` in a process of its own, so the crash is a real SIGKILL of the process refreshing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL
from prefect.states import Crashed
from test_dbt_marts import (
    WORLD,
    built_tables,
    differences_from_kept,
    keep_as_built,
    late_and_resent_events,
    renamed_campaigns_file,
)

from pulsecast.build import build
from pulsecast.flows.housekeeping import ALWAYS_ON, Tidied, keep_going
from pulsecast.flows.live import live
from pulsecast.generator import generate_backfill
from pulsecast.live import due
from pulsecast.metrics import snapshot
from pulsecast.metrics.freshness import freshness
from pulsecast.settings import PROJECT_ROOT, Settings
from pulsecast.warehouse import connect, reader

pytestmark = pytest.mark.slow  # a dozen micro-batches and a full rebuild: about two minutes

PULSECAST = str(Path(sys.executable).parent / "pulsecast")
HELD_BACK_FILES = 4
REFRESHING = ("build", "refresh")
"""How the writer lock names its holder while dbt refreshes the marts (ingestion's runs say `ingest`)."""
"""The world's last day of 6-hour event files lands one file at a time, after the rest."""


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def land(source: Path, settings: Settings) -> None:
    """Deliver a file as producers must: written under a dot-name, then renamed into place."""
    hidden = settings.landing / f".{source.name}"
    shutil.copy(source, hidden)
    os.replace(hidden, settings.landing / source.name)


class LiveRun:
    """A flow run of the deployment, executed as the process worker executes one: `python -m prefect.engine`."""

    def __init__(self, client: SyncPrefectClient, flow_run_id: UUID, settings: Settings, log: IO[str]) -> None:
        self.client, self.id = client, flow_run_id
        env = os.environ | {
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "PREFECT__FLOW_RUN_ID": str(flow_run_id),
            "PULSECAST_DATA_DIR": str(settings.data_dir),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect.engine"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL, and the run marked crashed as the worker marks a run whose process died."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.client.set_flow_run_state(self.id, Crashed(message="killed by the test"), force=True)

    def state(self) -> StateType | None:
        return self.client.read_flow_run(self.id).state_type


def visible(settings: Settings) -> bool:
    """Readers see everything that landed: nothing in landing, nothing ingested and not published, and the
    snapshot counts every event (ingestion writes its mark at the end of a run, after moving the files out)."""
    fresh = freshness(settings)
    return fresh.snapshot is not None and not due(fresh) and fresh.snapshot.events == raw_events(settings)


def all_time_events_in_metrics(settings: Settings) -> int:
    """What `pulsecast metrics kpis` says of all time, asked as a user asks it."""
    done = subprocess.run(
        [PULSECAST, "metrics", "kpis", "--format", "json"],
        env=os.environ | {"PULSECAST_DATA_DIR": str(settings.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    return next(row["events"] for row in json.loads(done.stdout) if row["window_name"] == "all_time")


def raw_events(settings: Settings) -> int:
    with reader(settings) as con:
        return con.execute("SELECT count(*) FROM raw.events").fetchone()[0]


@dataclass
class Observed:
    settings: Settings
    visible_after_first_drop: tuple[int, int]
    """(all-time events in `pulsecast metrics`, events in raw.events) once the first files were visible."""
    pointer_before_kill: str
    pointer_after_kill: str
    events_readable_after_kill: int
    events_before_kill: int
    waiting_after_kill: bool
    paused_run: tuple[int | None, StateType | None]
    """(exit code, flow-run state) of the run whose deployment was paused."""
    started_while_paused: list[str]
    landed_while_paused_stayed: bool
    started_on_resume: list[str]
    caught_up: tuple[int, int]
    tables: list[str]


@pytest.fixture(scope="module")
def observed(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    root = tmp_path_factory.mktemp("live")
    sources = root / "sources"
    generated = generate_backfill(WORLD, sources, root / "truth")
    held_back = sorted(generated.event_files)[-HELD_BACK_FILES:]
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    deployment_id = live.to_deployment(name="live", tags=["live", ALWAYS_ON]).apply()

    with get_client(sync_client=True) as client, (root / "live.log").open("w") as log:
        first = LiveRun(client, client.create_flow_run_from_deployment(deployment_id).id, settings, log)
        try:
            for path in sorted(sources.iterdir()):
                if path not in held_back:
                    land(path, settings)
            wait_for(lambda: visible(settings), 240, "the first files to become visible")
            visible_after_first_drop = (all_time_events_in_metrics(settings), raw_events(settings))

            for path in held_back[:2]:  # one micro-batch each
                land(path, settings)
                wait_for(lambda: visible(settings), 120, f"{path.name} to become visible")

            pointer_before_kill = (settings.snapshots / snapshot.POINTER).read_text()
            events_before_kill = snapshot.current_info(settings).events
            land(held_back[2], settings)
            wait_for(lambda: settings.writer_lock.read_text().startswith(REFRESHING), 120, "the refresh's dbt run")
        finally:
            first.kill()
        pointer_after_kill = (settings.snapshots / snapshot.POINTER).read_text()
        events_readable_after_kill = all_time_events_in_metrics(settings)
        waiting_after_kill = due(freshness(settings))

        second = LiveRun(client, client.create_flow_run_from_deployment(deployment_id).id, settings, log)
        try:
            wait_for(lambda: visible(settings), 120, "the next run to catch up after the kill")
            (settings.landing / "events_late_and_resent.jsonl").write_text("\n".join(late_and_resent_events(settings)))
            (settings.landing / "campaigns.csv").write_text(renamed_campaigns_file(settings))
            land(held_back[3], settings)
            wait_for(lambda: visible(settings), 120, "late, re-sent and renamed data to become visible")
            client.pause_deployment(deployment_id)
            paused_code = second.process.wait(timeout=60)
        finally:
            if second.process.poll() is None:
                second.kill()
        paused_run = (paused_code, second.state())

        tidied = Tidied()
        keep_going(client, [client.read_deployment(deployment_id)], tidied)
        started_while_paused = tidied.started
        (settings.landing / "events_while_paused.jsonl").write_text(
            '{"event_id": "paused-1", "event_ts": "2026-03-09T12:00:00Z", "event_type": "click", '
            '"campaign_id": "cmp-001"}\n'
        )
        time.sleep(3)
        landed_while_paused_stayed = (settings.landing / "events_while_paused.jsonl").exists()

        client.resume_deployment(deployment_id)
        tidied = Tidied()
        keep_going(client, [client.read_deployment(deployment_id)], tidied)
        (scheduled,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            )
        )
        third = LiveRun(client, scheduled.id, settings, log)
        try:
            wait_for(lambda: visible(settings), 120, "the resumed loop to catch up")
            caught_up = (all_time_events_in_metrics(settings), raw_events(settings))
            client.pause_deployment(deployment_id)
            third.process.wait(timeout=60)
        finally:
            if third.process.poll() is None:
                third.kill()

    with connect(settings.warehouse) as con:
        tables = keep_as_built(con)
    build(settings, full_refresh=True, target=root / "target_full")
    yield Observed(
        settings,
        visible_after_first_drop,
        pointer_before_kill,
        pointer_after_kill,
        events_readable_after_kill,
        events_before_kill,
        waiting_after_kill,
        paused_run,
        started_while_paused,
        landed_while_paused_stayed,
        tidied.started,
        caught_up,
        tables,
    )


def test_files_dropped_in_landing_become_visible_in_metrics(observed: Observed) -> None:
    in_metrics, in_raw = observed.visible_after_first_drop
    assert in_metrics == in_raw > 0


def test_a_killed_refresh_leaves_the_published_snapshot_intact(observed: Observed) -> None:
    assert observed.pointer_after_kill == observed.pointer_before_kill
    assert observed.events_readable_after_kill == observed.events_before_kill, "readers still get answers"
    assert observed.waiting_after_kill, "what the killed refresh did not publish is due for the next run"


def test_a_pause_ends_the_run_and_nothing_refreshes_until_resumed(observed: Observed) -> None:
    assert observed.paused_run == (0, StateType.COMPLETED)
    assert observed.started_while_paused == []
    assert observed.landed_while_paused_stayed
    assert observed.started_on_resume == ["live"]


def test_the_resumed_loop_caught_up_with_everything(observed: Observed) -> None:
    in_metrics, in_raw = observed.caught_up
    assert in_metrics == in_raw
    with reader(observed.settings) as con:
        assert con.execute("SELECT count(*) FROM raw.events WHERE event_id = 'paused-1'").fetchone()[0] == 1


def test_every_mart_equals_a_full_rebuild_after_the_micro_batches(observed: Observed) -> None:
    with connect(observed.settings.warehouse, read_only=True) as con:
        assert built_tables(con) == observed.tables
        differences = differences_from_kept(con, observed.tables)
        duplicates = con.execute("SELECT sum(rows_duplicate) FROM raw.ingested_files").fetchone()[0]
    assert duplicates >= 50, "re-sent events were part of the micro-batches"
    assert not differences, f"live micro-batches != full rebuild (rows only live, only full, total): {differences}"
