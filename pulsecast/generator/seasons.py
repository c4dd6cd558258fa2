"""Calendar effects: hour of day, day of week, yearly season, growth trend and US holidays.

All functions take epoch-day numbers (days since 1970-01-01, UTC) so they vectorise over any date range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import holidays
import numpy as np

from pulsecast.generator.catalog import CHANNELS, DEVICES
from pulsecast.generator.config import day_date, epoch_day

US_EASTERN_OFFSET_H = 5
"""The audience lives in the US: local prime time 20:00 ET is 01:00 UTC (daylight saving is ignored)."""

YEARLY_UPLIFT = 0.20
"""Seasonal uplift over the summer low, peaking just before Christmas (day of year 355)."""
YEARLY_PEAK_DAY_OF_YEAR = 355
GROWTH_PER_YEAR = 0.25

# Relative activity per local hour 0..23; each device has its own rhythm.
_LOCAL_HOURS: dict[str, tuple[float, ...]] = {
    "desktop": (1, 1, 1, 1, 1, 2, 4, 6, 9, 11, 12, 12, 11, 12, 12, 11, 10, 8, 6, 5, 5, 4, 3, 2),
    "mobile": (3, 2, 1, 1, 1, 2, 4, 7, 8, 7, 7, 8, 10, 9, 8, 8, 9, 10, 12, 13, 14, 13, 10, 6),
    "tablet": (2, 1, 1, 1, 1, 1, 2, 4, 5, 5, 5, 6, 6, 6, 6, 7, 8, 10, 12, 14, 14, 12, 8, 4),
    "ctv": (4, 2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 4, 4, 4, 5, 6, 8, 12, 16, 18, 17, 12, 7),
}


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


def hour_cdf() -> np.ndarray:
    """Cumulative share of daily activity per UTC hour, one row per device (same order as DEVICES)."""
    rows = []
    for device in DEVICES:
        local = np.asarray(_LOCAL_HOURS[device], dtype=float)
        utc = np.roll(local, US_EASTERN_OFFSET_H)
        rows.append(np.cumsum(utc) / utc.sum())
    return np.vstack(rows)


def weekday_factors(days: np.ndarray) -> np.ndarray:
    """[day, channel] multiplier of delivery volume for the day of week."""
    table = np.asarray([c.weekday_factors for c in CHANNELS])  # channel x weekday
    return table[:, weekday(days)].T


def yearly_seasonality(days: np.ndarray) -> np.ndarray:
    day_of_year = np.array([day_date(d).timetuple().tm_yday for d in days])
    phase = np.cos(2 * np.pi * (day_of_year - YEARLY_PEAK_DAY_OF_YEAR) / 365.25)
    return 1.0 + YEARLY_UPLIFT * (1 + phase) / 2


def growth_trend(days: np.ndarray, origin_day: int) -> np.ndarray:
    """Market growth, 1.0 on the first day of the backfill and compounding from there."""
    return np.exp(GROWTH_PER_YEAR * (np.asarray(days) - origin_day) / 365.25)


@dataclass(frozen=True)
class Holiday:
    day: int
    name: str
    traffic: float  # multiplier of ad volume
    conversion: float  # multiplier of conversion propensity


_SPECIAL = {"Thanksgiving Day": (1.15, 1.05), "Christmas Day": (0.75, 0.70), "New Year's Day": (0.85, 0.85)}
_OTHER_HOLIDAY = (1.08, 1.03)
_BLACK_FRIDAY = (1.70, 1.50)
_CYBER_WEEKEND = (1.30, 1.20)
_CYBER_MONDAY = (1.60, 1.40)


def holiday_calendar(first_day: int, last_day: int) -> list[Holiday]:
    """US federal holidays plus the Black Friday to Cyber Monday stretch, with their effects."""
    first, last = day_date(first_day), day_date(last_day)
    found: list[Holiday] = []
    for moment, name in sorted(holidays.US(years=range(first.year, last.year + 1)).items()):
        traffic, conversion = _SPECIAL.get(name, _OTHER_HOLIDAY)
        found.append(Holiday(epoch_day(moment), name, traffic, conversion))
        if name == "Thanksgiving Day":
            friday = moment + timedelta(days=1)
            found.append(Holiday(epoch_day(friday), "Black Friday", *_BLACK_FRIDAY))
            for offset in (1, 2):
                found.append(Holiday(epoch_day(friday + timedelta(days=offset)), "Cyber Weekend", *_CYBER_WEEKEND))
            found.append(Holiday(epoch_day(friday + timedelta(days=3)), "Cyber Monday", *_CYBER_MONDAY))
    return [h for h in found if first_day <= h.day <= last_day]


def holiday_effects(days: np.ndarray, calendar: list[Holiday]) -> tuple[np.ndarray, np.ndarray]:
    """Traffic and conversion multipliers per day (1.0 on ordinary days)."""
    days = np.asarray(days)
    traffic, conversion = np.ones(len(days)), np.ones(len(days))
    for holiday in calendar:
        hit = days == holiday.day
        traffic[hit] *= holiday.traffic
        conversion[hit] *= holiday.conversion
    return traffic, conversion
