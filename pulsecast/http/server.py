"""Running the app with uvicorn on loopback: in the foreground (`pulsecast api`) or in a background thread on a
free port (the tests and `bench/serve.py`, which need a real server and its address)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from pulsecast.http.app import create_app
from pulsecast.settings import Settings

HOST = "127.0.0.1"


def _config(settings: Settings, port: int) -> uvicorn.Config:
    # No access log: the audit log records every request, and uvicorn's would repeat it on every line.
    return uvicorn.Config(
        create_app(settings), host=HOST, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=2
    )


def serve(settings: Settings, port: int) -> None:
    """Serve until interrupted."""
    uvicorn.Server(_config(settings, port)).run()


@contextmanager
def serving(settings: Settings, startup_timeout_s: float = 30.0) -> Iterator[str]:
    """A real server in a background thread on a free port; yields its base URL and stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio then sets NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(settings, port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
