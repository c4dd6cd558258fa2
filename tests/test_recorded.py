"""A flow run from the command line is recorded in full before Prefect's temporary server stops.

The server records task runs from events, one write each, so it lags a busy flow: measured here, 24 of a
flow's 300 task runs were recorded when the flow returned, and the server's stop at exit printed
`Error flushing 1 events` with tracebacks. A real process with its own temporary server, as the CLI has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
from prefect import flow, task
from prefect.client.orchestration import get_client

from pulsecast.flows.recorded import run_recorded, task_run_counts


@task
def echo(i: int) -> int:
    return i


@flow
def many(n: int) -> int:
    return sum(echo(i) for i in range(n))


total = run_recorded(many, 300)
with get_client(sync_client=True) as client:
    (run,) = client.read_flow_runs()
    print(total, *task_run_counts(client, [run.id]))
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
    assert result.stdout.split() == [str(sum(range(300))), "300", "300"]  # the sum; task runs recorded, final
    assert "ERROR" not in result.stderr and "Traceback" not in result.stderr, result.stderr
