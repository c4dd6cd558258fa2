"""Frequencies as pandas offset aliases: inferred from timestamps with gaps, snapped onto a grid, given a season.

Every forecaster works on a regular grid. Real files have gaps, jitter and duplicates, so `pd.infer_freq`
(which needs a perfect grid) is not enough: the step is the most common spacing between consecutive
timestamps, pooled over all series, and calendar steps (weeks, months, quarters, years) keep their anchor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

_DAY = pd.Timedelta(days=1)
_EPOCH = pd.Timestamp("1970-01-01")
_SEASONS = {"h": 24, "D": 7, "W": 52, "M": 12, "Q": 4, "Y": 1}
"""Season length per unit of a one-step frequency: hours in a day, days in a week, weeks/months/quarters in a year."""
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def parse_frequency(freq: str) -> pd.DateOffset:
    """A pandas offset alias (`h`, `D`, `W-SUN`, `MS`, `15min`, ...) or a ValueError that says what is accepted."""
    try:
        return to_offset(freq)
    except ValueError as error:
        raise ValueError(
            f"unknown frequency {freq!r}: use a pandas alias such as h, D, W-SUN, MS, ME, 15min"
        ) from error


def infer_frequency(ds: pd.Series, unique_id: pd.Series | None = None) -> str:
    """The most common step between consecutive distinct timestamps of each series, as an offset alias."""
    frame = pd.DataFrame({"unique_id": 0 if unique_id is None else unique_id.to_numpy(), "ds": ds.to_numpy()})
    frame = frame.drop_duplicates().sort_values(["unique_id", "ds"])
    steps = frame.groupby("unique_id")["ds"].diff().dropna()
    if steps.empty:
        raise ValueError("cannot infer a frequency from fewer than two distinct timestamps; pass one explicitly")
    step = steps.mode().min()
    days = step / _DAY
    stamps = pd.DatetimeIndex(frame["ds"])
    if 28 <= days <= 31:
        return _calendar("M", stamps)
    if 89 <= days <= 92:
        return _calendar("Q", stamps)
    if 365 <= days <= 366:
        return _calendar("Y", stamps)
    if days == 7:
        return f"W-{_WEEKDAYS[int(pd.Series(stamps.weekday).mode().min())]}"
    if step % _DAY == pd.Timedelta(0):
        return "D" if days == 1 else f"{int(days)}D"
    return to_offset(step).freqstr


def _calendar(unit: str, stamps: pd.DatetimeIndex) -> str:
    """Month/quarter/year steps are labelled by their period's end only when every timestamp is one."""
    period_end = {"M": stamps.is_month_end, "Q": stamps.is_quarter_end, "Y": stamps.is_year_end}[unit]
    return f"{unit}E" if period_end.all() and not (stamps.day == 1).all() else f"{unit}S"


def season_length(freq: str) -> int:
    """Steps per natural cycle: 24 hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly; sub-daily: steps per day."""
    offset = parse_frequency(freq)
    if offset.n == 1:
        for prefix, length in _SEASONS.items():
            if offset.rule_code.startswith(prefix):
                return length
    step = _fixed_step(offset)
    if step is not None and step < _DAY and _DAY % step == pd.Timedelta(0):
        return int(_DAY / step)
    return 1


def long_cycle(freq: str, season_length: int) -> int:
    """The cycle above the season, in steps: a year (52 weeks) of days, a week of sub-daily steps; 0 if none."""
    if not daily_or_finer(freq):
        return 0
    return 52 * season_length if season_length == 7 else 7 * season_length


def snap(ds: pd.Series, freq: str) -> pd.Series:
    """Each timestamp moved onto the frequency's grid: the start of its step (the end for end-anchored steps)."""
    offset = parse_frequency(freq)
    if _fixed_step(offset) is not None:
        return ds.dt.floor(offset)
    days = ds.dt.normalize()
    unique = pd.Series(days.unique())
    move = offset.rollforward if offset.rule_code.split("-")[0].endswith("E") else offset.rollback
    return days.map(dict(zip(unique, unique.map(move), strict=True)))


def future_dates(last: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The `h` grid timestamps after `last`."""
    return pd.date_range(last, periods=h + 1, freq=parse_frequency(freq))[1:]


def _fixed_step(offset: pd.DateOffset) -> pd.Timedelta | None:
    """The duration of a step that never varies (minutes, hours, days); None for calendar steps."""
    try:
        return pd.Timedelta(offset)
    except (TypeError, ValueError):
        return None


def step_index(ds: pd.Series, freq: str) -> np.ndarray:
    """Whole steps since 1970-01-01, so `step_index % season_length` is the same calendar phase (hour of day,
    weekday, month, ...) in every series whatever its start."""
    offset = parse_frequency(freq)
    step = _fixed_step(offset)
    if step is not None:
        return ((ds - _EPOCH) // step).to_numpy(dtype=np.int64)
    unit = offset.rule_code[0]
    if unit == "W":
        return ((ds - _EPOCH) // pd.Timedelta(weeks=1)).to_numpy(dtype=np.int64)
    months = (ds.dt.year * 12 + ds.dt.month - 1).to_numpy(dtype=np.int64)
    return {"M": months, "Q": months // 3}.get(unit, months // 12)


def daily_or_finer(freq: str) -> bool:
    """Whether a step is at most a day: only then can a single date, such as a holiday, matter."""
    step = _fixed_step(parse_frequency(freq))
    return step is not None and step <= _DAY


def holiday_flags(ds: pd.Series | pd.DatetimeIndex, country: str) -> np.ndarray:
    """1.0 where the timestamp falls on a public holiday of `country` (offline `holidays` calendars), else 0.0."""
    import holidays

    dates = pd.DatetimeIndex(ds).normalize()
    calendar = holidays.country_holidays(country, years=range(dates.year.min(), dates.year.max() + 1))
    return dates.isin(pd.DatetimeIndex(list(calendar))).astype(float)
