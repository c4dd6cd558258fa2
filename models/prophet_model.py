"""Prophet, one model per series, with holidays, optional regressors and quiet logs.

Defaults differ from Prophet's in two settings, `changepoint_prior_scale` 0.1 (Prophet: 0.05) and
`changepoint_range` 0.95 (0.8): the trend may bend more, and also in the last 20 % of the history, so a recent
level shift is followed instead of averaged away. Tuning changepoint_prior_scale per series on an internal
holdout is not done: a holdout of one or two windows mostly picks noise, and it costs several fits per series.
The measurements behind both are in docs/forecasting.md.

Intervals come from Prophet's own predictive samples (trend changes plus observation noise), taken once per
forecast for every level, with a fixed seed so the same fit gives the same intervals. Prophet is known to
under-cover; the ensemble's conformal calibration corrects for that, this model reports what Prophet says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from pulsecast.models.base import interval_columns, quantile_of
from pulsecast.models.fallback import GuardedForecaster
from pulsecast.models.frequency import daily_or_finer, future_dates
from pulsecast.models.prepare import PreparedSeries


@cache
def prophet_class() -> type:
    """Import Prophet on first use (it takes a second) with its and cmdstanpy's chatter turned down to errors."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed": plots are not used
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.ERROR)
    logging.getLogger("prophet").setLevel(logging.ERROR)
    return Prophet


DEFAULTS = {"changepoint_prior_scale": 0.1, "changepoint_range": 0.95}
"""Pulsecast's settings where they differ from Prophet's own (see the module docstring)."""
PROPHET_DEFAULTS = {"changepoint_prior_scale": 0.05, "changepoint_range": 0.8}
"""Prophet's own values of the same settings, for comparisons with plain Prophet."""


class ProphetModel(GuardedForecaster):
    """Prophet per series.

    `country_holidays` adds that country's public holidays (the `holidays` package, offline) to series with a
    daily or finer step; at coarser steps a holiday would only alias the yearly season. `regressors` names
    extra numeric columns of the fit frame (e.g. market signals); `predict` then needs their future values
    in `X_df[unique_id, ds, *regressors]`. Other keyword arguments go to `Prophet(...)`, over `DEFAULTS`.
    """

    def __init__(
        self,
        freq: str | None = None,
        *,
        country_holidays: str | None = "US",
        regressors: Sequence[str] = (),
        uncertainty_samples: int = 500,
        seed: int = 0,
        **prophet_kwargs: Any,
    ) -> None:
        super().__init__(freq)
        self.country_holidays = country_holidays
        self.regressors = list(regressors)
        self.uncertainty_samples = uncertainty_samples
        self.seed = seed
        self.prophet_kwargs = DEFAULTS | prophet_kwargs

    def _fit(self, series: PreparedSeries) -> dict[str, str]:
        missing = set(self.regressors) - set(series.regressors)
        if missing:
            raise ValueError(f"regressor column(s) {sorted(missing)} are not in the frame")
        self._models: dict[str, Any] = {}
        self._last: dict[str, pd.Timestamp] = {}
        failures = {}
        for uid, frame in series.df.groupby("unique_id", sort=True):
            try:
                self._models[str(uid)] = self._new_prophet().fit(frame[["ds", "y", *self.regressors]])
                self._last[str(uid)] = frame["ds"].iloc[-1]
            except Exception as error:  # one series Stan cannot fit must not fail the others
                failures[str(uid)] = f"prophet failed: {error}"
        return failures

    def _new_prophet(self) -> Any:
        model = prophet_class()(uncertainty_samples=self.uncertainty_samples, **self.prophet_kwargs)
        if self.country_holidays and daily_or_finer(self.freq_):
            model.add_country_holidays(country_name=self.country_holidays)
        for name in self.regressors:
            model.add_regressor(name)
        return model

    def _predict(self, h: int, levels: Sequence[int], X_df: pd.DataFrame | None) -> pd.DataFrame:
        columns = interval_columns(levels)
        quantiles = [quantile_of(c) for c in columns]
        frames = []
        for uid, model in self._models.items():
            future = self._future(uid, h, X_df)
            frame = pd.DataFrame(self._sample_quantiles(model, future, quantiles), columns=columns)
            frame.insert(0, "yhat", self._point(model, future))
            frame.insert(0, "ds", future["ds"].to_numpy())
            frame.insert(0, "unique_id", uid)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def _future(self, uid: str, h: int, X_df: pd.DataFrame | None) -> pd.DataFrame:
        future = pd.DataFrame({"ds": future_dates(self._last[uid], h, self.freq_)})
        if not self.regressors:
            return future
        if X_df is None:
            raise ValueError(f"this ProphetModel uses regressors {self.regressors}: pass their future values in X_df")
        known = X_df.assign(unique_id=X_df["unique_id"].astype(str), ds=pd.to_datetime(X_df["ds"]))
        known = known.loc[known["unique_id"] == uid, ["ds", *self.regressors]]
        future = future.merge(known, on="ds", how="left")
        if future[self.regressors].isna().any().any():
            raise ValueError(f"X_df lacks regressor values for series {uid} over the {h} forecast steps")
        return future

    @staticmethod
    def _point(model: Any, future: pd.DataFrame) -> np.ndarray:
        """Prophet's deterministic yhat, computed without its single-level interval simulation."""
        samples, model.uncertainty_samples = model.uncertainty_samples, 0
        try:
            return model.predict(future)["yhat"].to_numpy()
        finally:
            model.uncertainty_samples = samples

    def _sample_quantiles(self, model: Any, future: pd.DataFrame, quantiles: list[float]) -> np.ndarray:
        """All levels from one set of predictive samples; Prophet draws from NumPy's global generator, so it is
        seeded for the call and restored afterwards."""
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            samples = model.predictive_samples(future)["yhat"]
        finally:
            np.random.set_state(state)
        return np.quantile(samples, quantiles, axis=1).T
