"""What a caller chooses about the simulated world, and what a generation run reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pulsecast.contract import FileFormat

DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class GenerationMode(StrEnum):
    """How the generator writes: N days of history, or one micro-batch up to now."""

    backfill = "backfill"
    live = "live"


class WorldConfig(BaseModel):
    """Typed knobs of the generator (a pydantic model so the Prefect UI renders it as a form).

    `seed`, `days`, `campaigns`, `events_per_day` and the date of `end` define the world; the other fields
    only change how much of it happens (`high_growth`) and how it is delivered.
    """

    model_config = ConfigDict(frozen=True)

    seed: int = Field(default=7, ge=0, description="Same seed, same world, byte for byte.")
    days: int = Field(default=90, ge=1, le=3650, description="Backfill history length in days.")
    campaigns: int = Field(default=30, ge=1, le=999, description="Number of campaigns in the world.")
    events_per_day: int = Field(
        default=12_000, ge=100, description="Average events per day over the backfill, all event types."
    )
    high_growth: float = Field(default=1.0, gt=0, le=100, description="Multiplies the event rate (e.g. 5).")
    file_format: FileFormat = Field(default=FileFormat.jsonl, description="Format of event files.")
    hours_per_file: int = Field(default=24, ge=1, le=24 * 31, description="Hours of events per file.")
    late_share: float = Field(default=0.02, ge=0, le=0.5, description="Share of events delivered late.")
    duplicate_share: float = Field(default=0.01, ge=0, le=0.5, description="Share of events re-sent.")
    end: datetime | None = Field(default=None, description="UTC end of the backfill (default: this hour).")

    @field_validator("end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Naive datetimes are read as UTC; everything downstream compares UTC instants."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def resolved_end(self, now: datetime | None = None) -> datetime:
        return self.end or floor_hour(now or datetime.now(UTC))

    def anchor_day(self, now: datetime | None = None) -> int:
        """The epoch day the world's calendar hangs on: campaigns are scheduled around it."""
        return epoch_day(self.resolved_end(now).date())

    @property
    def id_prefix(self) -> str:
        """Event-id prefix. A faster world is a different stream of events, so its ids must not collide."""
        growth = "" if self.high_growth == 1 else f"g{self.high_growth:g}".replace(".", "p")
        return f"ev-{self.seed}{growth}"


@dataclass
class GenerationReport:
    """What one generation run put where.

    `events_written` counts file rows; `duplicates_written` the re-sent copies among them, so
    `unique_events` is the rest; `late_events` counts events delivered in a later file than their time.
    `skipped` is the stretch a live call did not generate after a pause longer than `max_catch_up`.
    """

    start: datetime
    end: datetime
    files: list[Path] = field(default_factory=list)
    truth_files: list[Path] = field(default_factory=list)
    events_written: int = 0
    unique_events: int = 0
    duplicates_written: int = 0
    late_events: int = 0
    skipped: tuple[datetime, datetime] | None = None

    @property
    def event_files(self) -> list[Path]:
        return [p for p in self.files if p.name.startswith("events_")]

    def describe(self) -> str:
        return (
            f"{self.events_written:,} events ({self.duplicates_written:,} re-sent, {self.late_events:,} late) "
            f"in {len(self.files)} file(s)"
        )


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def epoch_day(day: date) -> int:
    return (day - EPOCH.date()).days


def day_date(day: int) -> date:
    return EPOCH.date() + timedelta(days=int(day))


def to_ms(moment: datetime) -> int:
    """UTC instant as integer epoch milliseconds (sub-millisecond parts are dropped)."""
    delta = moment.astimezone(UTC) - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))
