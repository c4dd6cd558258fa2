"""The one interface every Pulsecast forecaster follows, in the long format statsforecast made common.

    model.fit(df[unique_id, ds, y])     -> model
    model.predict(h, levels=(80, 95))   -> df[unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95]

Input may come in any order, with gaps and duplicated timestamps: `models.prepare.prepare` regularises it
(every forecaster calls it, so callers may pass raw frames). Output is sorted by `unique_id, ds`, one row per
series and step, and the intervals always nest: lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, Self

import numpy as np
import pandas as pd

LEVELS: tuple[int, ...] = (80, 95)
SERIES_COLUMNS = ["unique_id", "ds", "y"]


class Forecaster(Protocol):
    """What the ensemble, the backtests and the CLI rely on.

    `fallbacks` maps each series the model could not use to the reason it was forecast by the seasonal-naive
    baseline instead (too short, constant, all zero, or the model failed on it). `X_df` carries future values
    of exogenous columns for models fitted with regressors; the others ignore it.

    `is_global` says how a fit treats several series. A local forecaster (seasonal naive, AutoETS, Prophet, ...)
    fits each series on its own, so fitting it one series at a time gives the same model: the train flow fans it
    out per series. A global one (the LSTM) learns from every series at once, so it is fitted once on all of them.
    """

    is_global: ClassVar[bool]
    fallbacks: dict[str, str]

    def fit(self, df: pd.DataFrame) -> Self: ...

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame: ...


ModelFactory = Callable[[str], Forecaster]
"""Builds an unfitted forecaster for a frequency alias, e.g. `SeasonalNaive` or `partial(LSTMModel, horizon=30)`:
backtests and the ensemble fit a fresh model per window, all on the frequency inferred once."""


def interval_columns(levels: Sequence[int]) -> list[str]:
    """Interval columns from the widest lower bound to the widest upper bound: the order quantiles must follow."""
    ordered = sorted(levels, reverse=True)
    return [f"yhat_lo_{level}" for level in ordered] + [f"yhat_hi_{level}" for level in reversed(ordered)]


def forecast_columns(levels: Sequence[int]) -> list[str]:
    """`yhat` and its intervals in quantile order (lo_95, lo_80, yhat, hi_80, hi_95)."""
    columns = interval_columns(levels)
    middle = len(columns) // 2
    return [*columns[:middle], "yhat", *columns[middle:]]


def output_columns(levels: Sequence[int]) -> list[str]:
    """The contract's column order: unique_id, ds, yhat, then lo/hi per level."""
    return ["unique_id", "ds", "yhat", *(f"yhat_{side}_{level}" for level in levels for side in ("lo", "hi"))]


def quantile_of(column: str) -> float:
    """The quantile a forecast column stands for: yhat 0.5, yhat_lo_80 0.1, yhat_hi_95 0.975."""
    if column == "yhat":
        return 0.5
    _, side, level = column.split("_")
    tail = (1 - int(level) / 100) / 2
    return tail if side == "lo" else 1 - tail


def check_request(h: int, levels: Sequence[int]) -> None:
    """Refuse a horizon or levels no forecaster can honour, with the value that was wrong."""
    if h < 1:
        raise ValueError(f"the horizon must be at least 1, got {h}")
    if not levels or any(not 0 < level < 100 for level in levels):
        raise ValueError(f"interval levels must lie strictly between 0 and 100, got {list(levels)}")


def finalize(forecast: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Contract order and nesting (`nested`)."""
    return nested(forecast.sort_values(["unique_id", "ds"], ignore_index=True), levels)[output_columns(levels)]


def nested(forecast: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """A copy whose intervals nest: each level's bounds contain `yhat` and every narrower level's. Bounds are
    widened outward from `yhat` (never the other way), so crossing quantiles cannot leak out and the point
    forecast is never moved by its intervals. Other columns are kept."""
    result = forecast.copy()
    low, high = result["yhat"].to_numpy(dtype=float), result["yhat"].to_numpy(dtype=float)
    for level in sorted(levels):
        low = np.minimum(low, result[f"yhat_lo_{level}"].to_numpy(dtype=float))
        high = np.maximum(high, result[f"yhat_hi_{level}"].to_numpy(dtype=float))
        result[f"yhat_lo_{level}"], result[f"yhat_hi_{level}"] = low, high
    return result
