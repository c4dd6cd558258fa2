"""A flow run from the command line is recorded in full before Prefect's temporary server stops.

The server records task runs from events, one write each, so it lags a busy flow: measured here, 24 of a
flow's 300 task runs were recorded when the flow returned, and the server's stop at exit printed
`Error flushing 1 events` with tracebacks. A real process with its own temporary server, as the CLI has; its
process-pool workers report to that one server (they used to start one each).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.task_runners import ProcessPoolTaskRunner

from pulsecast.flows.recorded import run_recorded, task_run_counts


@task
def echo(i: int) -> int:
    return i


@flow
def many(n: int) -> int:
    return sum(echo(i) for i in range(n))


@flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
def spread(n: int) -> int:
    return sum(future.result() for future in echo.map(range(n)))


if __name__ == "__main__":  # the pool's workers import this module too
    total = run_recorded(many, 300)
    spread_total = run_recorded(spread, 20)
    with get_client(sync_client=True) as client:
        runs = {run.name: run for run in client.read_flow_runs()}
        (first, second) = sorted(runs.values(), key=lambda run: run.start_time)
        print(total, *task_run_counts(client, [first.id]), spread_total, *task_run_counts(client, [second.id]))
"""


def test_every_task_run_is_recorded_before_the_process_exits(tmp_path: Path) -> None:
    script = tmp_path / "many_tasks.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # each flow's sum, its task runs recorded, and of them final: the process pool's on the same one server
    assert result.stdout.split() == [str(sum(range(300))), "300", "300", str(sum(range(20))), "20", "20"]
    assert (result.stdout + result.stderr).count("Starting temporary server") == 1, result.stderr
    assert "ERROR" not in result.stderr and "Traceback" not in result.stderr, result.stderr
