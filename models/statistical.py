"""Statistical members from Nixtla's statsforecast, one fit per series: AutoETS, Dynamic Optimized Theta,
AutoARIMA and MSTL.

They are what a forecaster reaches for first on a single series, and they are cheap, so the ensemble can
weigh them beside Prophet and the LSTM on every series: on some data one of them is the best model outright
(AutoARIMA on short noisy series, MSTL where a day and a week both repeat), and where none is, their errors
differ from the learned models' enough to help a combination.

Seasons follow `models.frequency.season_length` (24 hourly, 7 daily, 12 monthly, ...). Exponential smoothing
is given the season only up to `MAX_MODEL_SEASON` steps and ARIMA up to `ARIMA_MAX_SEASON`: beyond that
(weekly data for ARIMA; 15-minute data, 96 steps a day, for both) their seasonal fits are slow and unstable,
and MSTL, which removes each season by STL before modelling the rest, carries the seasonality instead. MSTL
adds the cycle above the season (a week of hours, a year of days) when the series holds at least two of them.

AutoARIMA's order search and AutoETS's model selection are the slow part of these models (30 s and 2 s on
3,000 daily points), and a model chosen and fitted on the last few hundred points forecasts the next weeks as
well (neither carries a season longer than `MAX_MODEL_SEASON`): they are fitted on the last `RECENT_SEASONS`
seasons (at least `RECENT_MIN_POINTS` points). AutoARIMA also searches with the conditional-sum-of-squares
approximation, as R's auto.arima does for series over 150 points or seasons over 12: on 720 hourly points
16 s exact against 0.4 s approximate. Theta and MSTL see the whole series.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pulsecast.models.base import interval_columns
from pulsecast.models.fallback import GuardedForecaster
from pulsecast.models.frequency import future_dates, long_cycle
from pulsecast.models.prepare import PreparedSeries

MAX_MODEL_SEASON = 52
"""Longest season given to AutoETS and Theta; longer ones are left to MSTL."""
ARIMA_MAX_SEASON = 24
"""Longest season given to AutoARIMA: a seasonal ARIMA over 52 weekly steps took 17.5 s per fit on 1,560
points (30 seasons), against 3 s for AutoETS; the others carry such seasons."""
# The order search warns for every candidate model whose optimiser stops early; the chosen model is judged by
# its backtests, so the warnings are noise. A filter, not `catch_warnings`, which is not thread-safe.
warnings.filterwarnings("ignore", "possible convergence problem", UserWarning, r"statsforecast\.arima")

RECENT_ONLY = ("autoets", "autoarima")
"""The methods fitted on the recent history only (see the module docstring)."""
RECENT_SEASONS = 30
RECENT_MIN_POINTS = 200


def autoets(season: int, length: int, cycle: int) -> Any:
    from statsforecast.models import AutoETS

    return AutoETS(season_length=_short(season))


def theta(season: int, length: int, cycle: int) -> Any:
    from statsforecast.models import DynamicOptimizedTheta

    return DynamicOptimizedTheta(season_length=_short(season))


def autoarima(season: int, length: int, cycle: int) -> Any:
    from statsforecast.models import AutoARIMA

    return AutoARIMA(season_length=season if season <= ARIMA_MAX_SEASON else 1, approximation=True)


def mstl(season: int, length: int, cycle: int) -> Any:
    from statsforecast.models import MSTL

    seasons = [s for s in (season, cycle) if s > 1 and 2 * s <= length]
    return MSTL(season_length=seasons or [1])


METHODS: dict[str, Callable[[int, int, int], Any]] = {
    "autoets": autoets,
    "theta": theta,
    "autoarima": autoarima,
    "mstl": mstl,
}
"""Each builds an unfitted statsforecast model from the season, the length of the history it will be fitted
on and the cycle above the season (`models.frequency.long_cycle`, 0 if none)."""


def _short(season: int) -> int:
    return season if season <= MAX_MODEL_SEASON else 1


class StatisticalModel(GuardedForecaster):
    """One statsforecast method (`METHODS`: autoets, theta, autoarima, mstl) fitted on each series alone.

    Intervals are the method's own (analytic for ETS and ARIMA, simulated residual quantiles for Theta and
    MSTL); the ensemble's conformal calibration corrects them. A series the method fails on falls back to
    seasonal naive with the error as the reason, like every member.
    """

    def __init__(self, freq: str | None = None, *, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown statistical method {method!r}: choose one of {', '.join(METHODS)}")
        super().__init__(freq)
        self.method = method

    def _fit(self, series: PreparedSeries) -> dict[str, str]:
        cycle = long_cycle(series.freq, series.season_length)
        self._models: dict[str, tuple[Any, pd.Timestamp]] = {}
        failed = {}
        for uid, frame in series.df.groupby("unique_id", sort=True):
            y = frame["y"].to_numpy(dtype=float)
            if self.method in RECENT_ONLY:
                y = y[-max(RECENT_SEASONS * series.season_length, RECENT_MIN_POINTS) :]
            try:
                model = METHODS[self.method](series.season_length, len(y), cycle).fit(y)
            except Exception as error:  # one series' numerical failure must not cost the others their fit
                failed[str(uid)] = f"{self.method} failed: {error}"
                continue
            self._models[str(uid)] = (model, frame["ds"].iloc[-1])
        return failed

    def _predict(self, h: int, levels: Sequence[int], X_df: pd.DataFrame | None) -> pd.DataFrame:
        """`X_df` is ignored: these methods are univariate here."""
        frames = []
        for uid, (model, last) in self._models.items():
            forecast = model.predict(h, level=list(levels))
            frame = pd.DataFrame({"unique_id": uid, "ds": future_dates(last, h, self.freq_)})
            frame["yhat"] = np.asarray(forecast["mean"], dtype=float)
            for column in interval_columns(levels):
                _, side, level = column.split("_")
                frame[column] = np.asarray(forecast[f"{side}-{level}"], dtype=float)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
