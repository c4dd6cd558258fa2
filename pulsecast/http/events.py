"""The push channel: server-sent events telling clients that a new snapshot is published, so pages refresh
their answers when there is something new instead of polling.

The server's reader (`Metrics(prewarm=True)`) moves to a newer snapshot on its own thread once it has asked
the changed questions on it again; one watcher per process looks a few times a second at which snapshot the
reader answers from and, when it moved, hands the name to every open stream, so a client that refetches gets
the new answers, warm. A stream opens with the snapshot answers come from, then says each new one; comments
keep idle proxies open.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from pulsecast.http.access import caller
from pulsecast.keys import KeyRecord
from pulsecast.metrics.api import Metrics

KEEP_ALIVE_S = 15.0
router = APIRouter(prefix="/api")


class SnapshotWatcher:
    """Watches the reader's snapshot; each subscriber is woken when the reader moved to another."""

    def __init__(self, metrics: Metrics, interval_s: float = 0.2) -> None:
        self._metrics = metrics
        self._interval_s = interval_s
        self._subscribers: set[asyncio.Queue[None]] = set()
        self._announced: str | None = None

    @property
    def current(self) -> str | None:
        """The snapshot the reader answers from now (None before one is published)."""
        return self._metrics.snapshot

    async def run(self) -> None:
        while True:
            name = self.current
            if name is not None and name != self._announced:
                self._announced = name
                for queue in self._subscribers:
                    queue.put_nowait(None)
            await asyncio.sleep(self._interval_s)

    def subscribe(self) -> asyncio.Queue[None]:
        """A queue woken on each move of the reader after now."""
        queue: asyncio.Queue[None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[None]) -> None:
        self._subscribers.discard(queue)


def message(name: str) -> str:
    """One `snapshot` event; its id is the snapshot, so a reconnecting client's Last-Event-ID says what it has."""
    return f"event: snapshot\nid: {name}\ndata: {orjson.dumps({'snapshot': name}).decode()}\n\n"


@router.get("/events", summary="Server-sent events: `snapshot` when a new snapshot is published (first: the current).")
async def events(request: Request, record: KeyRecord = Depends(caller)) -> StreamingResponse:
    watcher: SnapshotWatcher = request.app.state.watcher
    queue = watcher.subscribe()

    async def stream():
        said = None
        try:
            while True:
                name = watcher.current  # the reader moves on its own thread: say where it is, once
                if name is not None and name != said:
                    said = name
                    yield message(name)
                try:
                    await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
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
