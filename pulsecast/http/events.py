"""The push channel: server-sent events telling clients that a new snapshot is published, so pages refresh
their answers when there is something new instead of polling.

One watcher per process stats the pointer file `data/snapshots/CURRENT` a few times a second (a publish
replaces it with an atomic rename, so its inode changes), has the readers renewed (`readers.py`: the new
snapshot's answers warmed before it is used) and then hands the snapshot's name to every open stream, so a
client that refetches gets the new answers. A stream opens with the snapshot answers come from, then says each
new one; comments keep idle proxies open.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from pulsecast.http.access import caller
from pulsecast.http.readers import Readers
from pulsecast.keys import KeyRecord
from pulsecast.metrics.snapshot import POINTER

KEEP_ALIVE_S = 15.0
router = APIRouter(prefix="/api")


class SnapshotWatcher:
    """Watches the pointer file; each subscriber gets every snapshot answered from after it subscribed."""

    def __init__(self, snapshots: Path, readers: Readers, interval_s: float = 0.2) -> None:
        self._pointer = snapshots / POINTER
        self._readers = readers
        self._interval_s = interval_s
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._seen: tuple[int, int] | None = None
        self.current: str | None = None
        """The snapshot the readers answer from, once one is published."""

    def _changed(self) -> bool:
        """Whether the pointer file was replaced since the last look (one stat)."""
        try:
            stat = self._pointer.stat()
        except FileNotFoundError:
            return False
        seen, self._seen = self._seen, (stat.st_ino, stat.st_mtime_ns)
        return self._seen != seen

    async def run(self) -> None:
        while True:
            if self._changed():
                await self._readers.renew()
                name = self._readers.active.snapshot
                if name is not None and name != self.current:
                    self.current = name
                    for queue in self._subscribers:
                        queue.put_nowait(name)
            await asyncio.sleep(self._interval_s)

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue of the snapshots answered from after now."""
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
