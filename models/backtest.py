"""Rolling-origin backtests: refit on everything before each origin, forecast the next h steps, keep the actuals.

Windows are placed per series from its own end: with `n_windows` windows `step` apart (default `h`, so they
do not overlap), the last window ends on the series' last point. A series whose training part would have
fewer than `min_train` points in a window sits that window out. Actuals that were gap-filled during
preparation are never scored: their rows are dropped from the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from pulsecast.models.base import LEVELS, Forecaster, ModelFactory, output_columns
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


def continued(model: Forecaster, earlier: Mapping[int, Forecaster], before: int | None = None) -> Forecaster:
    """`model`, set to continue from the newest of its `earlier` fits (by window number) before window
    `before` (None: the newest of all), if it can (`start_from`) and there is one."""
    numbers = [number for number in earlier if before is None or number < before]
    if numbers and hasattr(model, "start_from"):
        model.start_from(earlier[max(numbers)])
    return model


def cross_validation(
    factories: Mapping[str, ModelFactory],
    series: PreparedSeries,
    h: int,
    n_windows: int = 3,
    step: int | None = None,
    levels: Sequence[int] = LEVELS,
    keep: Callable[[pd.DataFrame], set[str]] | None = None,
    fitted: dict[str, dict[int, Forecaster]] | None = None,
) -> pd.DataFrame:
    """Every model refitted per window; long result `unique_id, ds, cutoff, window, model, y, yhat, lo/hi...`.

    A series needs more than one season of training data in a window to take part in it, so even the
    seasonal-naive baseline has a full season to repeat.

    `keep`, given the rows so far after each window, names the models worth backtesting further (the others
    sit the remaining windows out). Windows then run in an order that scores windows far apart first (with
    windows half a horizon apart: 0, 2, 4, then 1, 3, 5), so the first judgement rests on windows that share
    no actuals.

    A model that can continue from an earlier fit (`start_from`, the LSTM) starts from its own fit of the
    nearest earlier window. `fitted`, if given, is filled with every model fitted, per name and window
    number, so a caller can continue the final fit from the newest one.
    """
    windows = list(rolling_windows(series, h, n_windows, step, min_train=series.season_length + 1))
    if keep is not None:
        stride = -(-h // (step or h))
        windows.sort(key=lambda window: (window.number % stride, window.number))
    frames, models = [], dict(factories)
    fitted = {} if fitted is None else fitted
    for window in windows:
        actuals = window.test.loc[~window.test["imputed"], ["unique_id", "ds", "cutoff", "y"]]
        for name, factory in models.items():
            model = continued(factory(series.freq), fitted.setdefault(name, {}), window.number)
            forecast = model.fit(window.train).predict(h, levels, window.future_regressors)
            fitted[name][window.number] = model
            scored = actuals.merge(forecast, on=["unique_id", "ds"], how="inner")
            frames.append(scored.assign(window=window.number, model=name))
        if keep is not None:
            kept = keep(pd.concat(frames, ignore_index=True))
            models = {name: factory for name, factory in models.items() if name in kept}
    if not frames:
        raise ValueError(f"no series is long enough for a backtest window of {h} steps")
    columns = ["unique_id", "ds", "cutoff", "window", "model", "y", *output_columns(levels)[2:]]
    result = pd.concat(frames, ignore_index=True)[columns]
    return result if keep is None else result.sort_values("window", kind="stable", ignore_index=True)
