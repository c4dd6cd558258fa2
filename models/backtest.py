"""Rolling-origin backtests: refit on everything before each origin, forecast the next h steps, keep the actuals.

Windows are placed per series from its own end: with `n_windows` windows `step` apart (default `h`, so they
do not overlap), the last window ends on the series' last point. A series whose training part would have
fewer than `min_train` points in a window sits that window out. Actuals that were gap-filled during
preparation are never scored: their rows are dropped from the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from pulsecast.models.base import LEVELS, ModelFactory, output_columns
from pulsecast.models.prepare import PreparedSeries


@dataclass(frozen=True)
class Window:
    """One origin: `train` is every series up to its cutoff, `test` the h steps after it (with `imputed` and
    `cutoff`, the series' last training timestamp)."""

    number: int
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def future_regressors(self) -> pd.DataFrame | None:
        """What a model with regressors is told about the test period: the regressors, never y."""
        extra = [c for c in self.test.columns if c not in ("unique_id", "ds", "y", "imputed", "cutoff")]
        return self.test[["unique_id", "ds", *extra]] if extra else None


def rolling_windows(
    series: PreparedSeries, h: int, n_windows: int, step: int | None = None, min_train: int = 1
) -> Iterator[Window]:
    """The windows oldest first; each test frame carries a `cutoff` column (the series' last training step)."""
    if h < 1 or n_windows < 1:
        raise ValueError(f"backtests need h >= 1 and n_windows >= 1, got h={h}, n_windows={n_windows}")
    step = step or h
    frame = series.df
    position = frame.groupby("unique_id").cumcount()
    length = frame.groupby("unique_id")["y"].transform("size")
    for number in range(n_windows):
        test_start = length - h - (n_windows - 1 - number) * step
        eligible = test_start >= min_train
        train = frame[eligible & (position < test_start)]
        test = frame[eligible & (position >= test_start) & (position < test_start + h)]
        if test.empty:
            continue
        cutoffs = train.groupby("unique_id")["ds"].max().rename("cutoff")
        yield Window(
            number,
            train.drop(columns="imputed").reset_index(drop=True),  # models re-prepare; filled values just fit
            test.join(cutoffs, on="unique_id").reset_index(drop=True),
        )


def cross_validation(
    factories: Mapping[str, ModelFactory],
    series: PreparedSeries,
    h: int,
    n_windows: int = 3,
    step: int | None = None,
    levels: Sequence[int] = LEVELS,
) -> pd.DataFrame:
    """Every model refitted per window; long result `unique_id, ds, cutoff, window, model, y, yhat, lo/hi...`.

    A series needs more than one season of training data in a window to take part in it, so even the
    seasonal-naive baseline has a full season to repeat.
    """
    frames = []
    for window in rolling_windows(series, h, n_windows, step, min_train=series.season_length + 1):
        actuals = window.test.loc[~window.test["imputed"], ["unique_id", "ds", "cutoff", "y"]]
        for name, factory in factories.items():
            forecast = factory(series.freq).fit(window.train).predict(h, levels, window.future_regressors)
            scored = actuals.merge(forecast, on=["unique_id", "ds"], how="inner")
            frames.append(scored.assign(window=window.number, model=name))
    if not frames:
        raise ValueError(f"no series is long enough for a backtest window of {h} steps")
    columns = ["unique_id", "ds", "cutoff", "window", "model", "y", *output_columns(levels)[2:]]
    return pd.concat(frames, ignore_index=True)[columns]
