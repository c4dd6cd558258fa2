"""How fresh the readers' answers are: the snapshot's age, the newest event it counts, and what has landed
that it does not show yet (files still in the landing folder, events ingested but not yet published).

Read from the snapshot's info table, the landing folder and ingestion's mark, never from the warehouse, so
the read API can say it at any time; `pulsecast status` and the flows' artifacts say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pulsecast.ingest.landing import pending_files
from pulsecast.ingest.mark import Loaded, read_mark
from pulsecast.metrics import snapshot
from pulsecast.metrics.snapshot import SnapshotInfo
from pulsecast.settings import Settings


@dataclass(frozen=True)
class Freshness:
    """Times are naive UTC."""

    checked_at: datetime
    snapshot: SnapshotInfo | None
    """None before the first publish."""
    waiting_files: int
    """Files in the landing folder, not ingested yet."""
    oldest_waiting_since: datetime | None
    """When the oldest of them was written (its modification time)."""
    loaded: Loaded | None
    """The warehouse after the newest ingest run (None before the first)."""

    @property
    def age_s(self) -> float | None:
        """Seconds since the snapshot was published."""
        return (self.checked_at - self.snapshot.published_at).total_seconds() if self.snapshot else None

    @property
    def unpublished_since(self) -> datetime | None:
        """When the oldest ingested load readers cannot see yet was made; None when they see every load."""
        if self.loaded is None or self.loaded.ingested_through is None:
            return None
        seen = self.snapshot.ingested_through if self.snapshot else None
        if seen is not None and self.loaded.ingested_through <= seen:
            return None
        return self.loaded.unpublished_since

    @property
    def newest_event_not_visible(self) -> datetime | None:
        """The newest event time ingested, when readers cannot see it yet."""
        if self.unpublished_since is None or self.loaded is None:
            return None
        visible = self.snapshot.newest_event_ts if self.snapshot else None
        newest = self.loaded.newest_event_ts
        return newest if newest is not None and (visible is None or newest > visible) else None

    @property
    def lag_s(self) -> float:
        """How long the oldest data that landed and is not visible has been waiting (0: readers see it all)."""
        waiting = [t for t in (self.oldest_waiting_since, self.unpublished_since) if t is not None]
        return max(0.0, (self.checked_at - min(waiting)).total_seconds()) if waiting else 0.0

    def figures(self) -> dict[str, object]:
        """The same as plain values, for machines (times naive UTC, durations in seconds)."""
        info = self.snapshot
        return {
            "snapshot": info.name if info else None,
            "published_at": info.published_at if info else None,
            "age_s": self.age_s,
            "events": info.events if info else None,
            "newest_event_ts": info.newest_event_ts if info else None,
            "waiting_files": self.waiting_files,
            "oldest_waiting_since": self.oldest_waiting_since,
            "unpublished_since": self.unpublished_since,
            "newest_event_not_visible": self.newest_event_not_visible,
            "lag_s": self.lag_s,
            "checked_at": self.checked_at,
        }

    def sentences(self) -> list[str]:
        """What a person needs to know, in two or three sentences."""
        if self.snapshot is None:
            said = ["Readers see nothing yet: no snapshot is published (`pulsecast transform` publishes one)."]
        else:
            counted = f"{self.snapshot.events:,} events" if self.snapshot.events is not None else "its marts"
            newest = self.snapshot.newest_event_ts
            said = [
                f"Readers see snapshot {self.snapshot.name}, published {_moment(self.snapshot.published_at)} "
                f"({duration(self.age_s or 0)} ago): {counted}"
                + (f", the newest at {_moment(newest)}." if newest else ".")
            ]
        not_visible = []
        if self.waiting_files:
            not_visible.append(
                f"{self.waiting_files:,} file(s) in landing, the oldest written {_moment(self.oldest_waiting_since)}"
            )
        if self.unpublished_since is not None:
            newest = self.newest_event_not_visible
            not_visible.append(
                f"events ingested since {_moment(self.unpublished_since)}"
                + (f" (the newest at {_moment(newest)})" if newest else "")
                + ", waiting for the next transform"
            )
        if not_visible:
            said.append(f"Not visible yet: {'; '.join(not_visible)}. Lag behind landing: {duration(self.lag_s)}.")
        else:
            said.append("Nothing waits: readers see everything that landed.")
        return said


def freshness(settings: Settings, info: SnapshotInfo | None = None) -> Freshness:
    """The current freshness; `info` when the caller already read the current snapshot's."""
    if info is None:
        try:
            info = snapshot.current_info(settings)
        except snapshot.NoSnapshot:
            info = None
    waiting = pending_files(settings.landing)
    oldest = min((p.stat().st_mtime for p in waiting), default=None)
    return Freshness(
        checked_at=_utc_now(),
        snapshot=info,
        waiting_files=len(waiting),
        oldest_waiting_since=datetime.fromtimestamp(oldest, UTC).replace(tzinfo=None) if oldest else None,
        loaded=read_mark(settings),
    )


def duration(seconds: float) -> str:
    """`45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`: two units at most."""
    whole = round(seconds)
    parts = [(whole // 86_400, "d"), (whole % 86_400 // 3_600, "h"), (whole % 3_600 // 60, "min"), (whole % 60, "s")]
    shown = [(n, unit) for n, unit in parts if n]
    return " ".join(f"{n} {unit}" for n, unit in shown[:2]) or "0 s"


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "unknown"


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
