"""Persistent state of live mode: which world, how far it got, and the copies still waiting for delivery."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from pulsecast.contract import EVENTS
from pulsecast.generator.config import WorldConfig
from pulsecast.generator.files import atomic_write
from pulsecast.generator.tables import EVENT_SCHEMA

WORLD_FIELDS = ("seed", "days", "campaigns", "events_per_day")
"""Fields that define the world; the others (rate, format, delivery) may change between live calls."""
_MONEY = {c.name for c in EVENTS.columns if c.kind == "money"}
_TIMESTAMPS = {c.name for c in EVENTS.columns if c.kind == "timestamp"}


class PendingCopy(BaseModel):
    """An event copy generated earlier but not yet delivered (a late original or a re-send)."""

    due_ms: int
    duplicate: bool
    event: dict[str, Any]


class LiveState(BaseModel):
    version: int = 1
    config: WorldConfig  # `end` is set: it anchors the world's calendar for every later call
    watermark: datetime
    sequence: int = 0
    skipped: list[tuple[datetime, datetime]] = Field(default_factory=list)
    pending: list[PendingCopy] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> LiveState | None:
        return cls.model_validate_json(path.read_text()) if path.exists() else None

    def save(self, path: Path) -> None:
        atomic_write(path, lambda temp: temp.write_text(self.model_dump_json(indent=1)))

    def continue_with(self, config: WorldConfig) -> WorldConfig:
        """The caller's config on the stored world; refuses a config that describes another world."""
        stored = self.config
        differs = [name for name in WORLD_FIELDS if getattr(config, name) != getattr(stored, name)]
        if config.end is not None and config.end != stored.end:
            differs.append("end")
        if differs:
            raise ValueError(f"live state was started for another world ({', '.join(differs)} differ); "
                             "use the same settings or a new state path")
        return config.model_copy(update={"end": stored.end})

    def pending_table(self) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """Pending copies as event rows, with their due times (epoch ms) and duplicate flags."""
        rows = [{name: _from_json(name, value) for name, value in p.event.items()} for p in self.pending]
        due = np.array([p.due_ms for p in self.pending], dtype=np.int64)
        duplicate = np.array([p.duplicate for p in self.pending], dtype=bool)
        return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), due, duplicate

    @staticmethod
    def pending_copies(table: pa.Table, due: np.ndarray, duplicate: np.ndarray) -> list[PendingCopy]:
        return [
            PendingCopy(due_ms=int(d), duplicate=bool(dup),
                        event={k: _to_json(v) for k, v in row.items() if v is not None})
            for row, d, dup in zip(table.to_pylist(), due, duplicate, strict=True)
        ]


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _from_json(name: str, value: Any) -> Any:
    if name in _TIMESTAMPS:
        return datetime.fromisoformat(value)
    return Decimal(value) if name in _MONEY else value
