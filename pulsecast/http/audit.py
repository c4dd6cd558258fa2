"""The audit log: one JSON line per request (time, key id, principal, endpoint, parameters, status, rows,
latency), in daily files under data/audit/ that an analyst reads with DuckDB:

    SELECT principal, status, count(*) FROM read_json_auto('data/audit/*.jsonl') GROUP BY ALL

A file rather than the warehouse: the warehouse has one writer (the pipeline), and the server must never
wait for it. Headers are not logged, so neither is a key.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AuditLog:
    """Appends entries to the day's file, one write and flush per line (a crash loses at most the last one)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._day = ""
        self._file: IO[bytes] | None = None

    def write(self, entry: dict) -> None:
        line = orjson.dumps(entry) + b"\n"
        day = entry["time"][:10]
        with self._lock:
            if day != self._day or self._file is None:
                self.close()
                self._folder.mkdir(parents=True, exist_ok=True)
                self._file = (self._folder / f"requests-{day}.jsonl").open("ab")
                self._day = day
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Audited:
    """ASGI middleware writing an entry when a response starts (a stream's when it opens) or fails."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        written = False

        def record(status: int) -> None:
            nonlocal written
            written = True
            state = scope.get("state", {})
            route = scope.get("route")
            self.log.write(
                {
                    "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "key_id": state.get("key_id"),
                    "principal": state.get("principal"),
                    "method": scope["method"],
                    "endpoint": getattr(route, "path", scope["path"]),
                    "path": scope["path"],
                    "params": _params(scope["query_string"]),
                    "status": status,
                    "rows": state.get("rows"),
                    "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not written:
                record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not written:
                record(500)


def _params(query: bytes) -> dict[str, str | list[str]]:
    """The query's parameters, a repeated one as a list."""
    return {name: values if len(values) > 1 else values[0] for name, values in parse_qs(query.decode()).items()}
