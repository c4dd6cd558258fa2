"""Imperfect delivery: some events arrive in a later file than their time window, some are sent twice.

Delivery draws come from their own (seed, day) stream and are made for every event of a day chunk, so an
event is late or duplicated the same way whether backfill or live mode generates it. Where a copy lands
depends on the run's file windows: a copy goes to the first window that ends at or after its due time,
a late original always to a window after the one holding its event time, and a duplicate always to a
window after the one holding its original.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from pulsecast.contract import FileFormat
from pulsecast.generator.config import from_ms, to_ms
from pulsecast.generator.events import HOUR_MS
from pulsecast.generator.files import events_file_name, write_events
from pulsecast.generator.streams import Stream, stream_rng
from pulsecast.generator.tables import concat_events

Part = tuple[pa.Table, np.ndarray, np.ndarray]
"""Rows bound for one file, with their late and duplicate flags."""

MEAN_EXTRA_LATE_HOURS = 3.0
MAX_LATE_HOURS = 12.0


@dataclass(frozen=True)
class DeliveryDraws:
    late: np.ndarray
    late_delay_ms: np.ndarray
    duplicate: np.ndarray
    duplicate_delay_ms: np.ndarray

    def take(self, index: np.ndarray) -> DeliveryDraws:
        return DeliveryDraws(self.late[index], self.late_delay_ms[index], self.duplicate[index],
                             self.duplicate_delay_ms[index])


def draw_delivery(seed: int, day: int, n: int, late_share: float, duplicate_share: float) -> DeliveryDraws:
    """Late events are 1-12 hours late; re-sends follow 30 minutes to 6 hours after the original."""
    rng = stream_rng(seed, Stream.delivery, day)
    late = rng.random(n) < late_share
    extra_hours = np.minimum(rng.exponential(MEAN_EXTRA_LATE_HOURS, size=n), MAX_LATE_HOURS - 1)
    duplicate = rng.random(n) < duplicate_share
    duplicate_delay = rng.integers(HOUR_MS // 2, 6 * HOUR_MS, size=n)
    return DeliveryDraws(late, ((1 + extra_hours) * HOUR_MS).astype(np.int64), duplicate, duplicate_delay)


@dataclass(frozen=True)
class Windows:
    """Consecutive file windows (start, end] covering a run, as epoch milliseconds."""

    start_ms: int
    ends: np.ndarray

    @classmethod
    def cover(cls, start: datetime, end: datetime, hours: int) -> Windows:
        """Windows of `hours` from start; the last one is cut at end."""
        start_ms, end_ms = to_ms(start), to_ms(end)
        ends = np.arange(start_ms + hours * HOUR_MS, end_ms, hours * HOUR_MS, dtype=np.int64)
        return cls(start_ms, np.append(ends, end_ms))

    def __len__(self) -> int:
        return len(self.ends)

    def start(self, index: int) -> int:
        return self.start_ms if index == 0 else int(self.ends[index - 1])

    def of(self, ts: np.ndarray) -> np.ndarray:
        """Index of the window holding each time; earlier times map to the first, later ones to len()."""
        return np.searchsorted(self.ends, ts, side="left")


@dataclass(frozen=True)
class Routes:
    """Window indexes of each event's copies; an index >= the number of windows means 'after this run'."""

    own: np.ndarray  # window holding the event time
    original: np.ndarray
    original_due: np.ndarray
    duplicate: np.ndarray  # meaningful where draws.duplicate
    duplicate_due: np.ndarray


def route(ts: np.ndarray, draws: DeliveryDraws, windows: Windows) -> Routes:
    own = windows.of(ts)
    due = ts + np.where(draws.late, draws.late_delay_ms, 0)
    original = np.where(draws.late, np.maximum(windows.of(due), own + 1), own)
    duplicate_due = due + draws.duplicate_delay_ms
    duplicate = np.maximum(windows.of(duplicate_due), original + 1)
    return Routes(own, original, due, duplicate, duplicate_due)


def assign(parts: dict[int, list[Part]], table: pa.Table, window: np.ndarray, late: np.ndarray,
           duplicate: np.ndarray) -> None:
    """Add each row of `table` to the parts of its window."""
    for w in np.unique(window):
        rows = np.flatnonzero(window == w)
        parts.setdefault(int(w), []).append((table.take(rows), late[rows], duplicate[rows]))


@dataclass
class EventFileWriter:
    """Writes one events file per window and keeps the delivery ground truth and counts for the report."""

    landing_dir: Path
    file_format: FileFormat
    files: list[Path] = field(default_factory=list)
    events_written: int = 0
    duplicates_written: int = 0
    late_events: int = 0
    _truth: list[pa.Table] = field(default_factory=list)

    @property
    def unique_events(self) -> int:
        return self.events_written - self.duplicates_written

    def write(self, start_ms: int, end_ms: int, sequence: int, parts: list[Part]) -> Path:
        """One file of the parts' rows, in order."""
        table = concat_events([p[0] for p in parts])
        late = np.concatenate([p[1] for p in parts])
        duplicate = np.concatenate([p[2] for p in parts])
        name = events_file_name(from_ms(start_ms), from_ms(end_ms), sequence, self.file_format)
        path = write_events(table, self.landing_dir / name, self.file_format)
        self.files.append(path)
        self.events_written += table.num_rows
        self.duplicates_written += int(duplicate.sum())
        self.late_events += int(late.sum())
        flagged = np.flatnonzero(late | duplicate)
        self._truth.append(pa.table({
            "event_id": table.column("event_id").take(flagged),
            "event_ts": table.column("event_ts").take(flagged),
            "delivery": pa.array(np.where(duplicate[flagged], "duplicate", "late")),
            "file": pa.array([name] * len(flagged), type=pa.string()),
        }))
        return path

    def truth(self) -> pa.Table | None:
        return pa.concat_tables(self._truth) if self._truth else None
