"""Raw long frames onto a regular grid, with every repair made explicit and counted.

Rules, in order (each forecaster applies them, so they are the same everywhere):
1. `unique_id` becomes text (a frame without it is one series named `series`); `ds` becomes a naive UTC
   timestamp (offsets are converted to UTC); `y` becomes float, and non-finite values count as missing.
2. The frequency is inferred from the data unless given (`models.frequency.infer_frequency`).
3. Timestamps are snapped to the frequency's grid (the start of their step), so jittered or sub-step stamps
   land in one bucket.
4. Duplicated timestamps (after snapping) are aggregated with `duplicates` ("mean" by default: a re-sent
   reading is not twice the reading; pass "sum" for counts split across rows, or "last").
5. Each series is laid on the complete grid from its first to its last timestamp; missing steps and missing
   values are filled with `gaps` ("interpolate": linear in time, the default, since a gap is unknown, not
   zero; "zero": for event counts where no row means nothing happened). Filled rows are flagged `imputed`
   so backtests never score a forecast against an invented actual.
Series without a single numeric value are dropped and listed in `dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from pulsecast.models.frequency import infer_frequency, parse_frequency, season_length, snap

Aggregation = Literal["mean", "sum", "last"]
GapFill = Literal["interpolate", "zero"]
DEFAULT_ID = "series"


@dataclass(frozen=True)
class PreparedSeries:
    """A regular long frame `unique_id, ds, y, imputed[, regressors...]` sorted by series and time."""

    df: pd.DataFrame
    freq: str
    season_length: int
    duplicates: int = 0
    """Rows merged into another row of the same series and grid step."""
    filled: int = 0
    """Grid steps that had no value and were filled."""
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def regressors(self) -> list[str]:
        return [c for c in self.df.columns if c not in ("unique_id", "ds", "y", "imputed")]


def prepare(
    df: pd.DataFrame,
    freq: str | None = None,
    duplicates: Aggregation = "mean",
    gaps: GapFill = "interpolate",
) -> PreparedSeries:
    """Apply the module's rules; raise ValueError naming the first problem that cannot be repaired."""
    frame = _typed(df)
    freq = freq or infer_frequency(frame["ds"], frame["unique_id"])
    parse_frequency(freq)
    frame["ds"] = snap(frame["ds"], freq)
    valued = frame.groupby("unique_id", sort=False)["y"].transform("count") > 0
    dropped = {str(uid): "no numeric value" for uid in frame.loc[~valued, "unique_id"].unique()}
    frame = frame[valued]
    if frame.empty:
        raise ValueError("no series has a numeric value of y")
    before = len(frame)
    frame = frame.groupby(["unique_id", "ds"], sort=True).agg(duplicates).reset_index()
    merged = before - len(frame)
    frame = _on_grid(frame, freq)
    frame["imputed"] = frame["y"].isna()
    values = [c for c in frame.columns if c not in ("unique_id", "ds", "imputed")]
    if gaps == "zero":
        frame[values] = frame[values].fillna(0.0)
    else:
        frame[values] = frame.groupby("unique_id")[values].transform(
            lambda column: column.interpolate(limit_direction="both")
        )
    return PreparedSeries(
        df=frame,
        freq=freq,
        season_length=season_length(freq),
        duplicates=merged,
        filled=int(frame["imputed"].sum()),
        dropped=dropped,
    )


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    missing = {"ds", "y"} - set(df.columns)
    if missing:
        raise ValueError(
            f"the series frame needs columns ds and y (and optionally unique_id); missing {sorted(missing)}"
        )
    frame = df.copy()
    frame["unique_id"] = frame["unique_id"].astype(str) if "unique_id" in frame else DEFAULT_ID
    frame["ds"] = _timestamps(frame["ds"])
    for column in frame.columns.difference(["unique_id", "ds"]):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise ValueError(f"column {column} must be numeric")
        frame[column] = frame[column].astype(float).replace([np.inf, -np.inf], np.nan)
    return frame


def _timestamps(ds: pd.Series) -> pd.Series:
    stamps = (
        ds
        if pd.api.types.is_datetime64_any_dtype(ds)
        else pd.to_datetime(ds, format="mixed", utc=True, errors="coerce")
    )
    if stamps.isna().any():
        bad = ds[stamps.isna()].iloc[0]
        raise ValueError(f"ds has {int(stamps.isna().sum())} missing or unparseable timestamp(s), e.g. {bad!r}")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def _on_grid(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Every series on its complete grid from first to last step; absent steps get NaN values."""
    offset = parse_frequency(freq)
    bounds = frame.groupby("unique_id")["ds"].agg(["min", "max"])
    grids = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(first, last, freq=offset)})
        for uid, first, last in bounds.itertuples()
    ]
    grid = pd.concat(grids, ignore_index=True)
    grid["ds"] = grid["ds"].astype(frame["ds"].dtype)
    return grid.merge(frame, on=["unique_id", "ds"], how="left")
