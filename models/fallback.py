"""Screening and fallback shared by the learned models and the ensemble: one unusable or failing series never
fails the others.

A series that is all zero, constant, or shorter than the model needs is not handed to the model at all
(`screen`, the one place that decides it); a series the model fails on is caught. Both are forecast by
`SeasonalNaive` and listed in `fallbacks` with the reason, so callers can report exactly which forecasts are
baseline forecasts and why.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from pulsecast.models.base import LEVELS, check_request, finalize
from pulsecast.models.prepare import PreparedSeries, prepare
from pulsecast.models.seasonal_naive import SeasonalNaive


def unusable_reason(y: np.ndarray, min_length: int) -> str | None:
    """Why a series cannot be modelled, or None. Checked in this order so the reason names the real problem."""
    if not np.any(y):
        return "all zero"
    if np.ptp(y) == 0:
        return f"constant at {y[0]:g}"
    if len(y) < min_length:
        return f"too short: {len(y)} points, needs {min_length}"
    return None


@dataclass(frozen=True)
class Screened:
    """Prepared series split by `screen`: what a model may be fitted on, and why the rest may not."""

    series: PreparedSeries
    """Every series, prepared."""
    usable: PreparedSeries
    """The series long and varied enough for the model."""
    fallbacks: dict[str, str]
    """{unique_id: reason} for the others, which the seasonal-naive baseline forecasts."""


def screen(df: pd.DataFrame, freq: str | None, min_length: Callable[[int], int]) -> Screened:
    """Prepare `df` and set aside every series `unusable_reason` rejects; `min_length` maps the season length
    to the fewest points a series needs (each model and the ensemble need a different number)."""
    series = prepare(df, freq)
    needed = min_length(series.season_length)
    fallbacks = {
        str(uid): reason
        for uid, y in series.df.groupby("unique_id")["y"]
        if (reason := unusable_reason(y.to_numpy(), needed)) is not None
    }
    usable = series.df[~series.df["unique_id"].isin(fallbacks)]
    return Screened(series, PreparedSeries(usable, series.freq, series.season_length), fallbacks)


class GuardedForecaster(ABC):
    """Prepares input, screens series, fits the model on the usable ones and the baseline on the rest.

    Subclasses implement `_fit` (returning the series they failed on, with reasons) and `_predict` (the
    forecast columns for the series they fitted, in any row order); `finalize` enforces the contract.
    Local by default (`is_global`): a global subclass says so.
    """

    is_global: ClassVar[bool] = False

    def __init__(self, freq: str | None = None) -> None:
        self.freq = freq
        self.fallbacks: dict[str, str] = {}

    def min_length(self, season_length: int) -> int:
        """Fewest points a series needs; two full seasons by default, so seasonality can be told from noise."""
        return max(2 * season_length, 8)

    def fit(self, df: pd.DataFrame) -> Self:
        screened = screen(df, self.freq, self.min_length)
        series, usable, reasons = screened.series, screened.usable.df, screened.fallbacks
        self.freq_, self.season_length_ = series.freq, series.season_length
        if not usable.empty:
            try:
                reasons |= self._fit(screened.usable)
            except Exception as error:  # a failing model must not take the other series down with it
                reasons |= {str(uid): f"{type(self).__name__} failed: {error}" for uid in usable["unique_id"].unique()}
        self._fitted = bool(set(usable["unique_id"]) - set(reasons))
        self.fallbacks = reasons
        rest = series.df[series.df["unique_id"].isin(reasons)]
        self._baseline = SeasonalNaive(series.freq).fit(rest) if not rest.empty else None
        return self

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        check_request(h, levels)
        parts = [self._predict(h, levels, X_df)] if self._fitted else []
        if self._baseline is not None:
            parts.append(self._baseline.predict(h, levels))
        return finalize(pd.concat(parts, ignore_index=True), levels)

    @abstractmethod
    def _fit(self, series: PreparedSeries) -> dict[str, str]:
        """Fit on screened series; return {unique_id: reason} for any the model could not fit."""

    @abstractmethod
    def _predict(self, h: int, levels: Sequence[int], X_df: pd.DataFrame | None) -> pd.DataFrame:
        """unique_id, ds, yhat and the interval columns for every series `_fit` kept."""
