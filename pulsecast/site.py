"""A generated static site (dbt docs, Great Expectations Data Docs) served on loopback."""

from __future__ import annotations

from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files without an access-log line on the terminal for every page and asset the browser asks for."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_static(directory: Path, port: int) -> None:
    """The files under `directory` on 127.0.0.1 until interrupted: no warehouse, no lock, and no generator's own
    server (`dbt docs serve` ends a Ctrl-C in a logged stack trace)."""
    handler = partial(_QuietHandler, directory=str(directory))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()
