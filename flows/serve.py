"""Serve the deployments locally: a Prefect server with its UI on 127.0.0.1, the process work pool, the
deployments from prefect.yaml and a worker, all stopped together on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pulsecast.settings import PROJECT_ROOT

POOL = "pulsecast"


def serve_environment(port: int) -> dict[str, str]:
    api = f"http://127.0.0.1:{port}/api"
    return os.environ | {
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # without it the UI calls port 4200 whatever the server's port
        "PULSECAST_PROJECT_DIR": str(PROJECT_ROOT),
    }


def wait_until_healthy(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the Prefect server on port {port} did not become healthy in {timeout_s:.0f}s")


def deploy(env: dict[str, str]) -> None:
    prefect = _prefect()
    subprocess.run([prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env=env, check=True)
    subprocess.run([prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=PROJECT_ROOT, check=True)


def serve(port: int = 4200) -> None:
    env = serve_environment(port)
    prefect = _prefect()
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env)
    worker = None
    try:
        wait_until_healthy(port)
        deploy(env)
        worker = subprocess.Popen([prefect, "worker", "start", "--pool", POOL], env=env, cwd=PROJECT_ROOT)
        print(f"\nPrefect UI: http://127.0.0.1:{port}  (deployments under 'Deployments'; Ctrl-C stops everything)\n")
        worker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in (worker, server):
            if process and process.poll() is None:
                process.send_signal(signal.SIGINT)  # a process worker ignores SIGTERM for a long time
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _prefect() -> str:
    return str(Path(sys.executable).parent / "prefect")
