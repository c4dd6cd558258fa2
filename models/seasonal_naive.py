"""The baseline every other model must beat, and the forecast of last resort for series nothing else can use.

Each step repeats the value one season earlier; intervals come from the empirical quantiles of the
series' own seasonal differences, so they widen with every further season ahead as the data says they
should. It accepts any series with at least one value, which is why it is the fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from pulsecast.models.base import LEVELS, check_request, finalize, interval_columns, quantile_of
from pulsecast.models.frequency import future_dates
from pulsecast.models.prepare import prepare

MIN_DIFFERENCES = 20
"""Below this many differences at a lag, that lag's quantiles are extrapolated from the one-season lag."""


class SeasonalNaive:
    """y(T+k) = y(T+k-m*ceil(k/m)), with m from the frequency; naive (m=1) when a series has under two seasons."""

    is_global: ClassVar[bool] = False

    def __init__(self, freq: str | None = None, *, season_length: int | None = None) -> None:
        self.freq = freq
        self.season_length = season_length
        self.fallbacks: dict[str, str] = {}

    def fit(self, df: pd.DataFrame) -> Self:
        series = prepare(df, self.freq)
        self.freq_ = series.freq
        self.season_length_ = self.season_length or series.season_length
        groups = series.df.groupby("unique_id", sort=True)
        self._series = {str(uid): group["y"].to_numpy(dtype=float) for uid, group in groups}
        self._last = {str(uid): group["ds"].iloc[-1] for uid, group in groups}
        return self

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Exogenous columns (`X_df`) are ignored: the baseline is univariate by design."""
        check_request(h, levels)
        columns = interval_columns(levels)
        frames = []
        for uid, y in self._series.items():
            yhat, bounds = self._forecast(y, h, [quantile_of(c) for c in columns])
            frame = pd.DataFrame(bounds, columns=columns)
            frame.insert(0, "yhat", yhat)
            frame.insert(0, "ds", future_dates(self._last[uid], h, self.freq_))
            frame.insert(0, "unique_id", uid)
            frames.append(frame)
        return finalize(pd.concat(frames, ignore_index=True), levels)

    def _forecast(self, y: np.ndarray, h: int, quantiles: list[float]) -> tuple[np.ndarray, np.ndarray]:
        m = self.season_length_ if len(y) >= 2 * self.season_length_ else 1
        steps = np.arange(h)
        yhat = y[len(y) - m + steps % m]
        seasons_ahead = steps // m + 1
        offsets = np.vstack([self._difference_quantiles(y, m, j, quantiles) for j in range(1, seasons_ahead[-1] + 1)])
        return yhat, yhat[:, None] + offsets[seasons_ahead - 1]

    @staticmethod
    def _difference_quantiles(y: np.ndarray, m: int, seasons: int, quantiles: list[float]) -> np.ndarray:
        """Quantiles of y(t) - y(t - seasons*m); from the one-season differences scaled by sqrt(seasons) when the
        series is too short for this lag (independent seasonal shocks add up like a random walk)."""
        lag = seasons * m
        if len(y) - lag >= MIN_DIFFERENCES:
            return np.quantile(y[lag:] - y[:-lag], quantiles)
        one_season = y[m:] - y[:-m]
        if one_season.size == 0:
            return np.zeros(len(quantiles))
        return np.sqrt(seasons) * np.quantile(one_season, quantiles)
