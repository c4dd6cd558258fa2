"""One reader per process, renewed without a stall when a snapshot is published.

A reader that follows the pointer empties its answer cache on the first question after a publish, and every
question asked since is cold again: some 70 DuckDB queries of a few ms for the overview's mix, one after
another on the event loop, which every request then queues behind. So the server's reader stays on its
snapshot; on a publish a new reader opens the new one and answers the recently asked questions on a worker
thread (its own connection, used by no one else yet), and only then becomes the one the handlers use, after
which the push channel announces it. Until then requests are answered, warm, from the previous snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

import duckdb

from pulsecast.metrics.api import ANSWER_CACHE_SIZE, Answer, Metrics, UnknownName
from pulsecast.metrics.scope import Scope
from pulsecast.settings import Settings

log = logging.getLogger(__name__)


class Readers:
    def __init__(self, settings: Settings, remembered: int = ANSWER_CACHE_SIZE) -> None:
        self._settings = settings
        self._remembered = remembered
        self._asked: OrderedDict[Hashable, Callable[[Metrics], Answer]] = OrderedDict()
        self.active = Metrics(settings, follow=False)

    def ask(self, question: str, scope: Scope, **options: object) -> Answer:
        return self._answer(
            ("ask", question, scope, _frozen(options)), lambda m: m.ask(question, scope=scope, **options)
        )

    def trend(self, scope: Scope, **options: object) -> Answer:
        return self._answer(("trend", scope, _frozen(options)), lambda m: m.trend(scope=scope, **options))

    def _answer(self, key: Hashable, call: Callable[[Metrics], Answer]) -> Answer:
        """Answer from the active reader; remember the question (once it answered) for the next renewal."""
        answer = call(self.active)
        self._asked[key] = call
        self._asked.move_to_end(key)
        if len(self._asked) > self._remembered:
            self._asked.popitem(last=False)
        return answer

    async def renew(self) -> None:
        """Open the snapshot the pointer names now in a new reader, warm it on a worker thread, then use it."""
        fresh = Metrics(self._settings, follow=False)
        try:
            await asyncio.to_thread(_warm, fresh, list(self._asked.values()))
        except (duckdb.Error, OSError) as error:  # e.g. pruned by two quicker publishes: the next one renews
            fresh.close()
            log.warning("could not open the new snapshot: %s", error)
            return
        old, self.active = self.active, fresh
        old.close()

    def close(self) -> None:
        self.active.close()


def _warm(reader: Metrics, calls: list[Callable[[Metrics], Answer]]) -> None:
    reader.freshness()  # opens the snapshot and reads its info
    for call in calls:
        try:
            call(reader)
        except UnknownName:  # a name gone from the new snapshot: asked again, it says so then
            continue


def _frozen(options: dict[str, object]) -> Hashable:
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in options.items()))
