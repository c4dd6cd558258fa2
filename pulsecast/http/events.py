"""The push channel: server-sent events telling clients that a new snapshot is published, so pages refresh
their answers when there is something new instead of polling.

One watcher per process stats the pointer file `data/snapshots/CURRENT` a few times a second (a publish
replaces it with an atomic rename, so its inode changes) and hands the new snapshot's name to every open
stream. A stream opens with the current snapshot, then says each new one; comments keep idle proxies open.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from pulsecast.http.access import caller
from pulsecast.keys import KeyRecord
from pulsecast.metrics.snapshot import POINTER

KEEP_ALIVE_S = 15.0
router = APIRouter(prefix="/api")


class SnapshotWatcher:
    """Watches the pointer file; each subscriber gets every snapshot name published after it subscribed."""

    def __init__(self, snapshots: Path, interval_s: float = 0.2) -> None:
        self._pointer = snapshots / POINTER
        self._interval_s = interval_s
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._seen: tuple[int, int] | None = None
        self.current: str | None = None

    def _look(self) -> bool:
        """Whether the pointer names a snapshot not seen yet (one stat; the file is read only when it changed)."""
        try:
            stat = self._pointer.stat()
        except FileNotFoundError:
            return False
        if (stat.st_ino, stat.st_mtime_ns) == self._seen:
            return False
        self._seen = (stat.st_ino, stat.st_mtime_ns)
        name = self._pointer.read_text().strip()
        changed = name != self.current
        self.current = name
        return changed

    def refresh(self) -> None:
        """Look now, and tell every subscriber when there is a new snapshot."""
        if self._look():
            for queue in self._subscribers:
                queue.put_nowait(self.current)

    async def run(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(self._interval_s)

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue of the snapshots published from now on; `current` is up to date when it returns."""
        self.refresh()
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self._subscribers.discard(queue)


def message(name: str) -> str:
    """One `snapshot` event; its id is the snapshot, so a reconnecting client's Last-Event-ID says what it has."""
    return f"event: snapshot\nid: {name}\ndata: {orjson.dumps({'snapshot': name}).decode()}\n\n"


@router.get("/events", summary="Server-sent events: `snapshot` when a new snapshot is published (first: the current).")
async def events(request: Request, record: KeyRecord = Depends(caller)) -> StreamingResponse:
    watcher: SnapshotWatcher = request.app.state.watcher
    queue = watcher.subscribe()

    async def stream():
        try:
            if watcher.current:
                yield message(watcher.current)
            while True:
                try:
                    name = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield message(name)
        finally:
            watcher.unsubscribe(queue)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@contextlib.asynccontextmanager
async def watching(watcher: SnapshotWatcher):
    """Run the watcher for the app's lifetime."""
    task = asyncio.create_task(watcher.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
