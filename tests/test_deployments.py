"""`make serve` for real: server, work pool, deployments from prefect.yaml, a worker that runs a deployment."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cli_support import free_port

from pulsecast.flows.serve import local_prefect, prefect_command
from pulsecast.metrics import snapshot
from pulsecast.settings import Settings, get_settings
from pulsecast.warehouse import reader

pytestmark = pytest.mark.slow

DEPLOYMENTS = (
    "live/live",
    "generate-events/live-simulation",
    "pipeline/daily",
    "transform/transform-on-demand",
    "train/train-daily",
    "decide/decide-daily",
)


def test_worker_picks_up_a_deployment_run_and_completes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PULSECAST_DATA_DIR", str(tmp_path / "data"))
    settings = get_settings()
    settings.ensure_dirs()
    (settings.landing / "events_manual.jsonl").write_text(
        '{"event_id": "d1", "event_ts": "2026-01-01T00:00:00Z", "event_type": "click", "campaign_id": "c"}\n'
        '{"event_id": "d2", "event_ts": "2026-01-01T00:00:01Z", "event_type": "view", "campaign_id": "c"}\n'
    )
    with local_prefect(free_port()) as local, local.worker():
        env = local.env
        # This test follows the deployments' chain on the file above: the simulated world stays out of it.
        local.client.pause_deployment(local.client.read_deployment_by_name("generate-events/live-simulation").id)
        # `prefect deployment inspect --output json` fails on a deployment with triggers (a set in its JSON)
        schemas = {
            name: api(env, f"deployments/name/{name}")["parameter_openapi_schema"]["properties"] for name in DEPLOYMENTS
        }
        assert "world" in schemas["pipeline/daily"], "typed parameters give the UI a form"
        assert "mode" in schemas["generate-events/live-simulation"]
        assert "config" in schemas["train/train-daily"]
        assert "config" in schemas["decide/decide-daily"]

        # serve started the live loop (an always-on deployment): the landed file becomes visible to readers
        deadline = time.monotonic() + 180
        while not visible_events(settings) and time.monotonic() < deadline:
            time.sleep(1)
        assert visible_events(settings) == 2, "the live loop published the landed events"
        (live_run,) = deployment_runs(env, "live")
        assert live_run["state_type"] == "RUNNING", "the loop goes on, waiting for the next file"
        with reader(settings) as con:
            assert con.execute("SELECT count(*) FROM raw.events").fetchone()[0] == 2

        assert not deployment_runs(env, "train-daily"), "training runs only when the daily build completes"
        run_and_watch(env, "pipeline/daily")
        deadline = time.monotonic() + 60
        while not deployment_runs(env, "train-daily") and time.monotonic() < deadline:
            time.sleep(1)
        assert deployment_runs(env, "train-daily"), "the daily build's completion starts the training"
        deadline = time.monotonic() + 120
        while not deployment_runs(env, "decide-daily") and time.monotonic() < deadline:
            time.sleep(1)
        assert deployment_runs(env, "decide-daily"), "the training's completion starts the outlook"


def visible_events(settings: Settings) -> int | None:
    """Events the published snapshot counts (None before the first publish)."""
    try:
        return snapshot.current_info(settings).events
    except snapshot.NoSnapshot:
        return None


def run_and_watch(env: dict[str, str], deployment: str) -> None:
    """`prefect deployment run --watch`: the worker picks the run up and it completes."""
    run = subprocess.run(
        prefect_command("deployment", "run", deployment, "--watch", "--watch-timeout", "300"),
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Completed" in run.stdout


def deployment_runs(env: dict[str, str], deployment: str) -> list[dict]:
    """Flow runs of a deployment, in any state."""
    return api(env, "flow_runs/filter", {"deployments": {"name": {"any_": [deployment]}}})


def api(env: dict[str, str], path: str, body: dict | None = None) -> Any:
    """The server's REST API: GET, or POST with a JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{env['PREFECT_API_URL']}/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
