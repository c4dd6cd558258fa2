"""`make serve` for real: server, work pool, deployments from prefect.yaml, a worker that runs a deployment."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from pulsecast.flows.serve import local_prefect, prefect_command
from pulsecast.settings import get_settings
from pulsecast.warehouse import reader

pytestmark = pytest.mark.slow

DEPLOYMENTS = (
    "ingest/ingest-every-minute",
    "generate-events/live-simulation",
    "pipeline/daily",
    "transform/transform-on-demand",
    "train/train-daily",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_worker_picks_up_a_deployment_run_and_completes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PULSECAST_DATA_DIR", str(tmp_path / "data"))
    settings = get_settings()
    settings.ensure_dirs()
    (settings.landing / "events_manual.jsonl").write_text(
        '{"event_id": "d1", "event_ts": "2026-01-01T00:00:00Z", "event_type": "click", "campaign_id": "c"}\n'
        '{"event_id": "d2", "event_ts": "2026-01-01T00:00:01Z", "event_type": "view", "campaign_id": "c"}\n'
    )
    with local_prefect(free_port()) as (env, _worker):
        schemas = {}
        for name in DEPLOYMENTS:
            inspected = subprocess.run(
                prefect_command("deployment", "inspect", name, "--output", "json"),
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            schemas[name] = json.loads(inspected.stdout)["parameter_openapi_schema"]["properties"]
        assert "world" in schemas["pipeline/daily"], "typed parameters give the UI a form"
        assert "mode" in schemas["generate-events/live-simulation"]
        assert "config" in schemas["train/train-daily"]

        run = subprocess.run(
            prefect_command("deployment", "run", "ingest/ingest-every-minute", "--watch", "--watch-timeout", "300"),
            env=env,
            capture_output=True,
            text=True,
            timeout=360,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Completed" in run.stdout
    with reader(settings) as con:
        assert con.execute("SELECT count(*) FROM raw.events").fetchone()[0] == 2
