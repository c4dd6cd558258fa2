"""Serve the deployments locally: a Prefect server with its UI on 127.0.0.1, the process work pool, the
deployments from prefect.yaml and a worker, all stopped together on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pulsecast.settings import PROJECT_ROOT

POOL = "pulsecast"


def serve_environment(port: int) -> dict[str, str]:
    api = f"http://127.0.0.1:{port}/api"
    return os.environ | {
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # without it the UI calls port 4200 whatever the server's port
        "PULSECAST_PROJECT_DIR": str(PROJECT_ROOT),  # the deployments' working directory (prefect.yaml pull step)
    }


def prefect_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), *args]


def _interruptible() -> None:
    """Shells start background jobs with SIGINT ignored and children inherit that: undo it so SIGINT stops them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def _running(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, preexec_fn=_interruptible)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # a process worker ignores SIGTERM for a long time
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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


@contextmanager
def local_prefect(port: int) -> Iterator[tuple[dict[str, str], subprocess.Popen]]:
    """A server, the work pool, every deployment of prefect.yaml and a worker; yields (environment, worker)."""
    env = serve_environment(port)
    with _running(prefect_command("server", "start", "--host", "127.0.0.1", "--port", str(port)), env):
        wait_until_healthy(port)
        subprocess.run(
            prefect_command("work-pool", "create", POOL, "--type", "process", "--overwrite"), env=env, check=True
        )
        subprocess.run(prefect_command("--no-prompt", "deploy", "--all"), env=env, cwd=PROJECT_ROOT, check=True)
        with _running(prefect_command("worker", "start", "--pool", POOL), env) as worker:
            yield env, worker


def serve(port: int = 4200) -> None:
    # Ctrl-C, or SIGTERM from a process manager, stops everything, also when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with local_prefect(port) as (_env, worker):
        print(f"\nPrefect UI: http://127.0.0.1:{port}  (deployments under 'Deployments'; Ctrl-C stops everything)\n")
        with suppress(KeyboardInterrupt):
            worker.wait()
