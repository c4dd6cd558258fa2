"""The ensemble: members weighed by rolling-origin backtests pooled over the series, intervals calibrated by
conformal scores.

fit(df):
1. prepare the series; those that are all zero, constant or too short for `n_windows` backtest windows are
   forecast by the seasonal-naive baseline (reason in `fallbacks`);
2. rolling-origin backtests of every member (`models.backtest.cross_validation`), by default six windows half a
   horizon apart, scored with `models.metrics.score`; a member far behind the best on the first two windows
   that share no actuals sits the remaining windows and the final fit out (`prune`);
3. weights (`models.combination`): first the members that qualify metric-wide, i.e. on their MASE averaged
   over all the series: the baseline, and any member that beats it unless more than `trim` (20 %) worse than
   the best; then `pooled_weights`, the one set of weights for those members whose combined point forecast
   has the lowest backtest MASE over all the series together (a small linear program). Each series' own
   inverse-MASE weights (`member_weights`) are shrunk toward those pooled weights by `shrinkage`; the
   default 1 gives every series the pooled weights;
4. conformal corrections per series and level from held-out combinations: each backtest window's member
   quantiles combined with weights learned only on the windows that do not overlap it;
5. every member refitted on all the data.
predict(h) averages the members' quantiles with those weights and applies the corrections.

Why pooled weights, not each series' own: a series has a few backtest windows of h points, so its own member
ranking is mostly noise (its windows rarely agree), and equal shares would pull in a member that is clearly
worse everywhere. Minimising the combination's error directly, rather than weighing each member by its own
error, also lets a weaker member in where its errors offset the others'.

Why six windows half a horizon apart: weights learned from a few windows swing from origin to origin, and
the ensemble then loses to its best member. Six overlapping windows cover little more history than three but
average out a bad window; the price is twice the backtest fits. The measurements behind both choices are in
docs/forecasting.md.

Why held-out combinations for calibration: weights fitted on the same windows make those windows' errors
look smaller than a forecast's will be, and intervals calibrated on them came out too narrow (80 % intervals
covered 0.73 of the 15-minute series' next steps, 0.78 with held-out scores; docs/forecasting.md).

`backtest_` also holds the ensemble's own backtest rows, cross-fitted: each window is combined with weights
learned only on the windows that do not overlap it, and calibrated on those windows' held-out combinations,
so its scores are not graded on the data that chose them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from pulsecast.models.backtest import continued, cross_validation
from pulsecast.models.base import LEVELS, Forecaster, ModelFactory, check_request, finalize, nested
from pulsecast.models.combination import (
    calibrate,
    combine,
    conformal_corrections,
    member_weights,
    pooled_weights,
    qualifying,
)
from pulsecast.models.fallback import screen
from pulsecast.models.metrics import mase_scales, score
from pulsecast.models.prepare import PreparedSeries
from pulsecast.models.prophet_model import ProphetModel
from pulsecast.models.seasonal_naive import SeasonalNaive
from pulsecast.models.statistical import METHODS, StatisticalModel

BASELINE = "seasonal_naive"
ENSEMBLE = "ensemble"
DEFAULT_WINDOWS = 6
PRUNE_MARGIN = 0.4
"""How far behind the best member (in MASE over the series, on two windows apart) a member may fall before its
remaining backtests are skipped: twice the default `trim`."""
_BACKTEST_KEYS = ["unique_id", "ds", "cutoff", "window", "y"]


def default_members(
    horizon: int, levels: Sequence[int] = LEVELS, seed: int = 0, **lstm: Any
) -> dict[str, ModelFactory]:
    """The ensemble's members, the one list of them: seasonal_naive, the statsforecast methods (autoets, theta,
    autoarima, mstl), prophet and lstm, as the CLI, the train flow and the benchmark use them. `lstm` holds
    further `LSTMModel` settings (the train flow sets its step budget and networks); unset, the model's own
    defaults apply.

    Building a member imports its model, not building the list: Prophet loads on its first fit
    (`prophet_model.prophet_class`) and torch with the first LSTM (`lstm_model`), so reading the list, or this
    module's constants, stays cheap.
    """
    return {
        BASELINE: SeasonalNaive,
        **{method: partial(StatisticalModel, method=method) for method in METHODS},
        "prophet": partial(ProphetModel, seed=seed),
        "lstm": partial(lstm_model, horizon=horizon, levels=levels, seed=seed, **lstm),
    }


def lstm_model(freq: str | None = None, **settings: Any) -> Forecaster:
    """`LSTMModel(freq, **settings)`, imported here because importing it loads torch (seconds)."""
    from pulsecast.models.lstm import LSTMModel

    return LSTMModel(freq, **settings)


def default_step(horizon: int, n_windows: int) -> int:
    """Half a horizon between backtest origins, when every window still has one it does not overlap to be
    cross-fitted on; a whole horizon otherwise (e.g. 3 windows)."""
    half = -(-horizon // 2)
    return half if _crossfittable(horizon, n_windows, half) else horizon


def _crossfittable(horizon: int, n_windows: int, step: int) -> bool:
    """Whether every window has another whose forecast steps do not overlap its own (the middle one is the
    nearest to all others)."""
    return -(-(n_windows - 1) // 2) * step >= horizon


class Ensemble:
    """A `Forecaster` over member forecasters; see the module docstring for what `fit` does.

    `shrinkage` pulls each series' own inverse-MASE weights toward the pooled weights (1, the default: the
    pooled weights for every series; 0: per-series weights only), `trim` is how much worse than the best
    member a member may be and still get weight.

    `workers=2` backtests and fits the global members (the LSTM, the costliest) in a second process beside
    the local ones: on two cores the fit then takes about as long as the slower half.
    `prune` stops backtesting a member once it cannot earn weight (`_may_earn_weight`); it is then left out
    of the weights, `members_` and the forecasts, and listed in `pruned_`.

    Fitted attributes: `members_` (name -> fitted member), `pruned_` (members left out), `weights_` (index
    unique_id, one column per member), `corrections_` (unique_id, level, correction), `backtest_` (long
    backtest of members and ensemble), `scores_` (`models.metrics.score` of `backtest_`), `fallbacks`,
    `freq_`, `season_length_`.
    Global: its weights are pooled over all the series it is fitted on.
    """

    is_global: ClassVar[bool] = True

    def __init__(
        self,
        freq: str | None = None,
        *,
        horizon: int,
        members: Mapping[str, ModelFactory] | None = None,
        n_windows: int = DEFAULT_WINDOWS,
        step: int | None = None,
        levels: Sequence[int] = LEVELS,
        shrinkage: float = 1.0,
        trim: float = 0.2,
        prune: bool = True,
        workers: int = 1,
        seed: int = 0,
    ) -> None:
        check_request(horizon, levels)
        self.members = dict(members or default_members(horizon, levels, seed))
        if BASELINE not in self.members:
            raise ValueError(f"the members must include the baseline {BASELINE!r}")
        if n_windows < 2:
            raise ValueError(
                "the ensemble needs at least 2 backtest windows (weights and calibration are cross-fitted)"
            )
        self.step = step or default_step(horizon, n_windows)
        if not _crossfittable(horizon, n_windows, self.step):
            raise ValueError(
                f"{n_windows} backtest windows {self.step} steps apart leave a window that overlaps every other one "
                f"at horizon {horizon}; its weights could not be learned out of sample (use more windows or a "
                "larger step)"
            )
        self.freq = freq
        self.horizon = horizon
        self.n_windows = n_windows
        self.levels = tuple(levels)
        self.shrinkage = shrinkage
        self.trim = trim
        self.prune = prune
        self.workers = workers
        self.fallbacks: dict[str, str] = {}

    def min_length(self, season_length: int) -> int:
        """Enough for every backtest window to keep more than a season of training data."""
        return season_length + 1 + (self.n_windows - 1) * self.step + self.horizon

    def fit(self, df: pd.DataFrame) -> Self:
        series, usable = self.screen(df)
        apart = {name: f for name, f in self.members.items() if self.workers > 1 and f(self.freq_).is_global}
        here = {name: f for name, f in self.members.items() if name not in apart}
        if not apart:
            return self.assemble(usable, *self.backtest_and_fit(series, usable, here))
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            side = pool.submit(self.backtest_and_fit, series, usable, apart)
            parts = [self.backtest_and_fit(series, usable, here), side.result()]
        backtests = [cv for cv, _ in parts if cv is not None]
        cv = pd.concat(backtests, ignore_index=True) if backtests else None
        return self.assemble(usable, cv, {name: model for _, fitted in parts for name, model in fitted.items()})

    def backtest_and_fit(
        self, series: PreparedSeries, usable: PreparedSeries, members: Mapping[str, ModelFactory]
    ) -> tuple[pd.DataFrame | None, dict[str, Forecaster]]:
        """`members`' backtests (pruned if `prune`) and their final fits on every series, minus the pruned; a
        member that can continue from an earlier fit continues from its newest backtest window's."""
        windows: dict[str, dict[int, Forecaster]] = {}
        cv = self.backtest(usable, members, self.prune, windows) if not usable.df.empty else None
        pruned = set() if cv is None else self._pruned(cv)
        return cv, {
            name: continued(factory(self.freq_), windows.get(name, {})).fit(series.df)
            for name, factory in members.items()
            if name not in pruned
        }

    def screen(self, df: pd.DataFrame) -> tuple[PreparedSeries, PreparedSeries]:
        """Prepare the series and set `fallbacks`; returns (every series, the ones long enough to backtest).

        `screen`, `backtest` and `assemble` are `fit` in parts, for callers that fit members elsewhere (the
        train flow backtests each local member per series in its own task and the global LSTM once).
        """
        screened = screen(df, self.freq, self.min_length)
        self.freq_, self.season_length_ = screened.series.freq, screened.series.season_length
        self.fallbacks = screened.fallbacks
        return screened.series, screened.usable

    def backtest(
        self,
        usable: PreparedSeries,
        members: Mapping[str, ModelFactory],
        prune: bool = False,
        fitted: dict[str, dict[int, Forecaster]] | None = None,
    ) -> pd.DataFrame:
        """Rolling-origin backtests of `members` (a subset of `self.members`) on screened series; with `prune`,
        a member stops being backtested once it cannot earn weight (`_may_earn_weight`). `fitted` as in
        `cross_validation`."""
        keep = partial(self._may_earn_weight, usable) if prune else None
        return cross_validation(members, usable, self.horizon, self.n_windows, self.step, self.levels, keep, fitted)

    def _may_earn_weight(self, usable: PreparedSeries, cv: pd.DataFrame) -> set[str]:
        """The members still worth backtesting, judged once two windows that share no actuals are scored: the
        baseline, and each member whose MASE over the series is within `PRUNE_MARGIN` of the best member's.

        Weight goes only to members within `trim` of the best over all windows (`qualifying`); one that is more
        than twice as far behind on two independent windows has not been seen to catch up on the rest, and
        its remaining backtests (and final fit) are the ensemble's largest avoidable cost."""
        windows = cv["window"]
        if (windows.max() - windows.min()) * self.step < self.horizon:  # no two windows apart yet
            return set(cv["model"])
        mase = score(cv, usable.df, usable.season_length, self.levels).pivot_table(
            index="unique_id", columns="model", values="mase", aggfunc="mean"
        )
        metric_wide = mase.where(np.isfinite(mase)).mean()
        if metric_wide.isna().all():
            return set(cv["model"])
        within = metric_wide[metric_wide <= metric_wide.min() * (1 + PRUNE_MARGIN)]
        return {BASELINE, *within.index}

    def _pruned(self, cv: pd.DataFrame) -> set[str]:
        """Members whose backtests stopped early (see `backtest`): they get no weight and need no final fit."""
        windows = cv.groupby("model")["window"].nunique()
        return set(windows[windows < windows.max()].index)

    def assemble(self, usable: PreparedSeries, cv: pd.DataFrame | None, fitted: Mapping[str, Forecaster]) -> Self:
        """Weights and calibration from every member's backtest `cv` (None when no series was usable), with
        `fitted` holding each member fitted on all the series."""
        self.pruned_ = set() if cv is None else self._pruned(cv)
        if missing := set(self.members) - self.pruned_ - set(fitted):
            raise ValueError(f"fitted members missing: {sorted(missing)}")
        if cv is None or usable.df.empty:
            self._no_backtest()
        else:
            if missing := set(self.members) - set(cv["model"]):
                raise ValueError(f"backtests missing for members: {sorted(missing)}")
            self._learn_from_backtests(usable, cv)
        self.members_ = {name: fitted[name] for name in self.members if name not in self.pruned_}
        return self

    def _no_backtest(self) -> None:
        self.weights_ = pd.DataFrame(columns=list(self.members), dtype=float)
        self.corrections_ = pd.DataFrame(columns=["unique_id", "level", "correction"])
        self.backtest_ = pd.DataFrame()
        self.scores_ = pd.DataFrame()

    def _learn_from_backtests(self, usable: PreparedSeries, cv: pd.DataFrame) -> None:
        per_window = score(cv, usable.df, usable.season_length, self.levels, per_window=True)
        cutoffs = cv[["unique_id", "window", "cutoff"]].drop_duplicates()
        scales = mase_scales(cutoffs, usable.df, usable.season_length).set_axis(
            pd.MultiIndex.from_frame(cutoffs[["unique_id", "window"]])
        )
        windows = sorted(cv["window"].unique())
        self.weights_ = self._weights(cv, per_window, scales)
        held_out = {window: self._held_out(cv, per_window, scales, window) for window in windows}
        self.corrections_ = conformal_corrections(pd.concat(held_out.values(), ignore_index=True), self.levels)
        crossfitted = [self._crossfitted_window(held_out, window).assign(model=ENSEMBLE) for window in windows]
        self.backtest_ = pd.concat([cv, *crossfitted], ignore_index=True)
        self.scores_ = score(self.backtest_, usable.df, usable.season_length, self.levels)

    def _apart(self, windows: pd.Series | int, window: int) -> pd.Series | bool:
        """Whether `windows` (a column of window numbers, or one) share no forecast steps with `window`: their
        actuals are not its actuals."""
        return abs(windows - window) * self.step >= self.horizon

    def _weights(self, cv: pd.DataFrame, per_window: pd.DataFrame, scales: pd.Series) -> pd.DataFrame:
        """Per-series weights (see the module docstring, step 3) learned from the backtest rows `cv`."""
        mase = per_window.pivot_table(index="unique_id", columns="model", values="mase", aggfunc="mean")
        mase = mase.reindex(columns=list(self.members))
        mase[list(self.pruned_)] = np.nan  # backtested on the first windows only: no weight
        metric_wide = mase.where(np.isfinite(mase)).mean().to_frame().T  # each member's MASE over all series
        eligible = qualifying(metric_wide, BASELINE, self.trim).iloc[0]
        candidates = [name for name in self.members if eligible[name]]
        pooled = pooled_weights(cv, scales, candidates, BASELINE).reindex(list(self.members), fill_value=0.0)
        return member_weights(mase, BASELINE, self.shrinkage, self.trim, pooled)

    def _held_out(self, cv: pd.DataFrame, per_window: pd.DataFrame, scales: pd.Series, window: int) -> pd.DataFrame:
        """One window's combined (uncalibrated) backtest forecast, with weights learned only on the windows
        that do not overlap it: what a forecast after the data looks like to the weights, for calibration."""
        weights = self._weights(
            cv[self._apart(cv["window"], window)], per_window[self._apart(per_window["window"], window)], scales
        )
        return combine(cv[cv["window"] == window], weights, self.levels, _BACKTEST_KEYS)

    def _crossfitted_window(self, held_out: Mapping[int, pd.DataFrame], window: int) -> pd.DataFrame:
        """The ensemble's backtest forecasts of one window: its held-out combination, calibrated on the held-out
        combinations of the windows that do not overlap it (so neither weights nor corrections saw its actuals)."""
        others = [frame for other, frame in held_out.items() if self._apart(other, window)]
        corrections = conformal_corrections(pd.concat(others, ignore_index=True), self.levels)
        return nested(calibrate(held_out[window], corrections, self.levels), self.levels)

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        forecasts = self.predict_members(h, levels, X_df)
        return forecasts[forecasts["model"] == ENSEMBLE].drop(columns="model").reset_index(drop=True)

    def predict_members(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Every member's forecast and the ensemble's, long with a `model` column (what forecast-csv writes)."""
        check_request(h, levels)
        if h > self.horizon:
            raise ValueError(f"the ensemble was backtested for a horizon of {self.horizon}; refit it for h={h}")
        if not set(levels) <= set(self.levels):
            raise ValueError(f"the ensemble was calibrated for levels {list(self.levels)}, not {list(levels)}")
        members = pd.concat(
            [model.predict(h, levels, X_df).assign(model=name) for name, model in self.members_.items()],
            ignore_index=True,
        )
        combined = calibrate(combine(members, self.weights_, levels, ["unique_id", "ds"]), self.corrections_, levels)
        baseline = members[(members["model"] == BASELINE) & members["unique_id"].isin(self.fallbacks)]
        ensemble = finalize(pd.concat([combined, baseline.drop(columns="model")], ignore_index=True), levels)
        columns = ["unique_id", "ds", "model", *ensemble.columns[2:]]
        return pd.concat([members, ensemble.assign(model=ENSEMBLE)], ignore_index=True)[columns]
