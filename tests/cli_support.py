"""The `pulsecast` command run as a user runs it: a real subprocess with its own data folder and width."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PULSECAST = str(Path(sys.executable).parent / "pulsecast")


def pulsecast(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PULSECAST_DATA_DIR": str(data_dir), "COLUMNS": "200"} | env
    return subprocess.run([PULSECAST, *args], env=environment, capture_output=True, text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ApiProcess:
    url: str
    process: subprocess.Popen[str]


@contextmanager
def api_process(data_dir: Path, startup_timeout_s: float = 60.0, **env: str) -> Iterator[ApiProcess]:
    """`pulsecast api` in its own process, as `make api` starts it (its stdout kept for the test to read);
    yields once it listens, stops it with Ctrl-C."""
    port = free_port()
    server = subprocess.Popen(
        [PULSECAST, "api", "--port", str(port)],
        env=os.environ | {"PULSECAST_DATA_DIR": str(data_dir), "COLUMNS": "200"} | env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "pulsecast api did not start"
                time.sleep(0.2)
        yield ApiProcess(f"http://127.0.0.1:{port}", server)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def admin_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
