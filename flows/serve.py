"""Serve the deployments locally: a Prefect server with its UI on 127.0.0.1, the process work pool, the
deployments from prefect.yaml and a supervised worker, all stopped together on Ctrl-C or SIGTERM.

Every start recovers what the last stop left (see `housekeeping`), keeps paused deployments paused, and while it
serves it restarts a worker that died and keeps late runs from piling up. The server's own log goes to a file in
the Prefect home, so the terminal shows the deployments' runs and what serve did, in sentences.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL, temporary_settings

from pulsecast.flows.housekeeping import pause_again, paused_names, tidy
from pulsecast.settings import PROJECT_ROOT

POOL = "pulsecast"
TIDY_SECONDS = 5.0
"""How often serve looks for late runs and runs of paused deployments (a worker polls every 10 s)."""
FAST_DEATHS = 3
"""A worker that dies this many times in a row within a minute of its start is a fault, not bad luck."""
QUEUES = {"interactive": (1, 2), "batch": (2, 1)}
"""Work queue -> (priority, concurrency limit): what-if requests a person waits for go before batch ones (the
pool's `default` queue follows them); the limits keep simulations from crowding the pipeline off the 2 cores."""


def serve_environment(port: int) -> dict[str, str]:
    api = f"http://127.0.0.1:{port}/api"
    return os.environ | {
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # without it the UI calls port 4200 whatever the server's port
        "PULSECAST_PROJECT_DIR": str(PROJECT_ROOT),  # the deployments' working directory (prefect.yaml pull step)
        # Leases in the Prefect home instead of the server's memory: a restarted server still knows who holds
        # each deployment's slot, and revokes a lease its holder stopped renewing.
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
        # Ten minutes of every-minute runs ahead instead of Prefect's hour: a sixth of the rows the scheduler
        # writes to SQLite while runs change state beside it, and a pause has fewer runs to delete.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME": "PT10M",
    }


def prefect_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), *args]


def _interruptible() -> None:
    """Shells start background jobs with SIGINT ignored and children inherit that: undo it so SIGINT stops them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def _running(args: list[str], env: dict[str, str], output: IO[str] | None = None) -> Iterator[subprocess.Popen]:
    """A child in its own session, so a terminal's Ctrl-C reaches serve alone and serve stops children in order."""
    process = subprocess.Popen(
        args,
        env=env,
        cwd=PROJECT_ROOT,
        preexec_fn=_interruptible,
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGINT (a process worker ignores SIGTERM for a long time), then kill what is left of its session."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # flow-run processes the worker did not stop in time


def wait_until_healthy(port: int, server: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server stopped while starting (exit {server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the Prefect server on port {port} did not become healthy in {timeout_s:.0f}s; see {log}")


def _quietly(args: list[str], env: dict[str, str]) -> None:
    """Run a Prefect CLI command; its banner is shown only when it fails."""
    done = subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"`{' '.join(args[1:])}` failed:\n{done.stdout}{done.stderr}")


@dataclass
class LocalPrefect:
    """A running server with the pool and the deployments applied: its environment and an API client."""

    env: dict[str, str]
    client: SyncPrefectClient
    server_log: Path

    def tidy(self, *, worker_alive: bool) -> None:
        """One housekeeping pass, said in sentences on the terminal."""
        for sentence in tidy(self.client, POOL, worker_alive=worker_alive).sentences():
            print(sentence)

    def worker(self) -> AbstractContextManager[subprocess.Popen]:
        """A worker on the pool, stopped (with the flow runs it started) when the block ends."""
        return _running(prefect_command("worker", "start", "--pool", POOL), self.env)


@contextmanager
def local_prefect(port: int) -> Iterator[LocalPrefect]:
    """A server (logging to the Prefect home), the work pool and every deployment of prefect.yaml, paused ones
    kept paused; the previous session's leftovers are tidied before any worker starts."""
    env = serve_environment(port)
    home = Path(env.get("PREFECT_HOME", Path.home() / ".prefect"))
    home.mkdir(parents=True, exist_ok=True)
    server_log = home / "server.log"
    with (
        server_log.open("a") as log,
        _running(prefect_command("server", "start", "--host", "127.0.0.1", "--port", str(port)), env, log) as server,
    ):
        wait_until_healthy(port, server, server_log)
        with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
            paused = paused_names(client, POOL)  # before the deploy resumes them
            _quietly(prefect_command("work-pool", "create", POOL, "--type", "process", "--overwrite"), env)
            ensure_queues(client)
            _quietly(prefect_command("--no-prompt", "deploy", "--all"), env)
            pause_again(client, POOL, paused)
            local = LocalPrefect(env, client, server_log)
            local.tidy(worker_alive=False)
            yield local


def ensure_queues(client: SyncPrefectClient) -> None:
    """The pool's priority queues, created or brought back to their priority and limit."""
    for name, (priority, limit) in QUEUES.items():
        try:
            client.create_work_queue(name, work_pool_name=POOL, priority=priority, concurrency_limit=limit)
        except ObjectAlreadyExists:
            queue = client.read_work_queue_by_name(name, work_pool_name=POOL)
            client.update_work_queue(queue.id, priority=priority, concurrency_limit=limit)


def supervise(local: LocalPrefect) -> None:
    """Run a worker until interrupted; tidy every few seconds; recover and restart a worker that dies."""
    fast_deaths = 0
    while True:
        started = time.monotonic()
        with local.worker() as worker:
            while worker.poll() is None:
                time.sleep(TIDY_SECONDS)
                local.tidy(worker_alive=True)
        fast_deaths = fast_deaths + 1 if time.monotonic() - started < 60 else 0
        if fast_deaths >= FAST_DEATHS:
            raise RuntimeError(
                f"the worker stopped {fast_deaths} times within a minute of its start (exit {worker.returncode})"
            )
        print(f"The worker stopped unexpectedly (exit {worker.returncode}); recovering its runs and starting another.")
        local.tidy(worker_alive=False)


def serve(port: int = 4200) -> None:
    # Ctrl-C, or SIGTERM from a process manager, stops everything, also when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with suppress(KeyboardInterrupt), local_prefect(port) as local:
        paused = sorted(paused_names(local.client, POOL))
        print(
            f"Prefect UI: http://127.0.0.1:{port}  (deployments under 'Deployments'; Ctrl-C stops everything)\n"
            f"Paused: {', '.join(paused) or 'none'}. Server log: {local.server_log}"
        )
        supervise(local)
    print("Stopped the worker and the Prefect server.")
