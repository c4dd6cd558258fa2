"""`pulsecast serve` as an operator meets it: stopped mid-run with Ctrl-C, its worker killed, started again.

One real process per start (server, deployments, supervised worker) on a free port and a fresh data folder;
the simulation runs on its own schedule and serve keeps the live loop going, so this takes a few minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_deployments import free_port

pytestmark = pytest.mark.slow

PULSECAST = str(Path(sys.executable).parent / "pulsecast")
RUNNING = ("PENDING", "RUNNING")
RETRIES = 5


class Serve:
    """One `pulsecast serve` process: its log, and the server's REST API."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.port, self.log = port, log
        env = os.environ | {"PULSECAST_DATA_DIR": str(data_dir), "PREFECT_HOME": str(data_dir / "prefect")}
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [PULSECAST, "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        try:
            wait_for(lambda: "Prefect UI:" in self.text(), 240, "serve to start")
        except AssertionError:
            self.process.kill()
            raise AssertionError(f"serve did not start:\n{self.text()}") from None

    def text(self) -> str:
        return self.log.read_text()

    def api(self, path: str, body: dict | None = None, method: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        attempts = 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    payload = response.read()
                return json.loads(payload) if payload else None
            except urllib.error.HTTPError as error:  # 503: SQLite busy; Prefect's own clients retry it too
                attempts += 1
                if error.code != 503 or attempts == RETRIES:
                    raise
                time.sleep(attempts)

    def deployment(self, name: str) -> dict:
        return next(d for d in self.api("deployments/filter", {}) if d["name"] == name)

    def runs(self, deployment: str) -> list[dict]:
        return self.api("flow_runs/filter", {"deployments": {"name": {"any_": [deployment]}}, "limit": 200})

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        for pid in children:
            if "worker" in Path(f"/proc/{pid}/cmdline").read_bytes().decode():
                return int(pid)
        raise AssertionError("no worker among serve's children")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=90) == 0, self.text()


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def started_after(run: dict, moment: datetime) -> bool:
    return datetime.fromisoformat(run["expected_start_time"]) >= moment


@contextmanager
def serving(data_dir: Path, port: int, log: Path) -> Iterator[Serve]:
    serve = Serve(data_dir, port, log)
    try:
        yield serve
    finally:
        if serve.process.poll() is None:
            serve.stop()


def assert_live(serve: Serve, data_dir: Path, since: datetime) -> None:
    """A live run started after `since` is running, a file that lands is ingested within two minutes, and
    nothing waits for a slot."""
    wait_for(
        lambda: [r for r in serve.runs("live") if r["state_type"] == "RUNNING" and started_after(r, since)],
        120,
        "a new live run",
    )
    landed = data_dir / "landing" / f"events_{since:%H%M%S%f}.jsonl"
    event = {"event_id": landed.stem, "event_ts": "2026-01-01T00:00:00Z", "event_type": "click", "campaign_id": "c"}
    landed.parent.mkdir(parents=True, exist_ok=True)
    hidden = landed.with_name(f".{landed.name}")  # written under a dot-name, then renamed: as producers must
    hidden.write_text(json.dumps(event) + "\n")
    os.replace(hidden, landed)
    wait_for(lambda: not landed.exists(), 120, f"the live loop to ingest {landed.name}")
    waiting = [r["name"] for r in serve.api("flow_runs/filter", {}) if r["state_name"] == "AwaitingConcurrencySlot"]
    assert not waiting, f"runs waiting for a slot: {waiting}"


def test_serve_survives_ctrl_c_mid_run_and_a_killed_worker_and_keeps_a_pause(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()

    with serving(data_dir, port, tmp_path / "first.log") as first:
        wait_for(
            lambda: any(r["state_type"] in RUNNING for r in first.runs("live")),
            150,
            "the live loop to begin",
        )
        first.api(f"deployments/{first.deployment('live-simulation')['id']}", {"paused": True}, "PATCH")
        paused_at = datetime.now(UTC)
        # runs the worker had already taken (it fetches up to 10 s ahead) go on; nothing else may start
        taken = {r["id"] for r in first.runs("live-simulation") if r["state_type"] != "SCHEDULED"}
        first.stop()  # Ctrl-C while the live loop runs
    clean_log = first.text()
    assert "Traceback" not in clean_log, clean_log
    assert "Stopped the worker and the Prefect server." in clean_log

    with serving(data_dir, port, tmp_path / "second.log") as second:
        assert second.deployment("live-simulation")["paused"], "a re-deploy must not resume a paused deployment"
        assert_live(second, data_dir, paused_at)

        os.kill(second.worker_pid(), signal.SIGKILL)
        killed_at = datetime.now(UTC)
        wait_for(lambda: "The worker stopped unexpectedly" in second.text(), 30, "serve to notice the dead worker")
        assert_live(second, data_dir, killed_at)
        second.stop()

    restarted_at = datetime.now(UTC)  # serve starts the live run before it says it is up
    with serving(data_dir, port, tmp_path / "third.log") as third:
        assert_live(third, data_dir, restarted_at)
        assert third.deployment("live-simulation")["paused"]
        ran_while_paused = [
            r["name"]
            for r in third.runs("live-simulation")
            if r["state_type"] != "SCHEDULED" and r["id"] not in taken
        ]
        assert not ran_while_paused, f"a paused deployment ran: {ran_while_paused}"
        stuck = [r["name"] for r in third.runs("live") if r["state_type"] in RUNNING]
        assert len(stuck) == 1, f"one live run, and only one, holds the slot: {stuck}"
    assert "Traceback" not in third.text(), third.text()
