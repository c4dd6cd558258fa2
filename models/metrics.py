"""Backtest scores per series and model, computed by utilsforecast's losses.

- `mase`: mean absolute error over the in-sample seasonal-naive MAE up to each window's cutoff (1 = as good
  as repeating last season in-sample); averaged over windows.
- `smape`: utilsforecast's definition, mean of |y - yhat| / (|y| + |yhat|), so it lies in [0, 1].
- `coverage_<level>`: share of actuals inside the interval (should be about level / 100).
- `winkler_<level>`: interval width plus 2/alpha times any miss (lower is better; in units of y).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from utilsforecast import losses

from pulsecast.models.base import LEVELS

KEYS = ["unique_id", "cutoff"]


def score(
    cv: pd.DataFrame,
    history: pd.DataFrame,
    season_length: int,
    levels: Sequence[int] = LEVELS,
    per_window: bool = False,
) -> pd.DataFrame:
    """One row per series and model (and `window` if `per_window`): mase, smape, coverage_<l>, winkler_<l>, n.

    `cv` is `models.backtest.cross_validation`'s long frame, `history` the prepared series it was cut from.
    """
    by = ["unique_id", "model", "window"] if per_window else ["unique_id", "model"]
    scored = [_scores(cv[cv["model"] == model], history, season_length, levels, by) for model in cv["model"].unique()]
    counts = cv.groupby(by).size().rename("n")
    return pd.concat([pd.concat(scored), counts], axis=1).reset_index()


def _scores(
    cv: pd.DataFrame, history: pd.DataFrame, season_length: int, levels: Sequence[int], by: list[str]
) -> pd.DataFrame:
    """Every metric of one model's backtest rows (a member left out of some windows is scored on the rest)."""
    wide, models = _wide(cv, levels)
    train = history[["unique_id", "ds", "y"]]
    parts = {
        "mase": losses.mase(wide, models, season_length, train, cutoff_col="cutoff"),
        "smape": losses.smape(wide, models, cutoff_col="cutoff"),
    }
    for level in levels:
        parts[f"coverage_{level}"] = losses.coverage(wide, models, level, cutoff_col="cutoff")
        parts[f"winkler_{level}"] = losses.winkler_score(wide, models, level, cutoff_col="cutoff")
    windows = cv[[*KEYS, "window"]].drop_duplicates()
    long = [
        frame.melt(id_vars=KEYS, value_vars=models, var_name="model", value_name=metric)
        .merge(windows, on=KEYS)
        .groupby(by)[metric]
        .mean()
        for metric, frame in parts.items()
    ]
    return pd.concat(long, axis=1)


def mase_scales(cutoffs: pd.DataFrame, history: pd.DataFrame, season_length: int) -> pd.Series:
    """MASE's denominator for each `unique_id, cutoff` row of `cutoffs` (index kept): the mean absolute
    seasonal difference of the series' history up to and including the cutoff, as utilsforecast's `mase`
    computes it (NaN when the history is shorter than a season)."""
    ordered = history[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
    by_series = ordered.groupby("unique_id")["y"]
    difference = (ordered["y"] - by_series.shift(season_length)).abs()
    total = difference.fillna(0).groupby(ordered["unique_id"]).cumsum()
    count = difference.notna().groupby(ordered["unique_id"]).cumsum()
    running = ordered[["unique_id", "ds"]].assign(scale=(total / count).where(count > 0))
    keyed = cutoffs[["unique_id", "cutoff"]].merge(
        running.rename(columns={"ds": "cutoff"}), on=["unique_id", "cutoff"], how="left"
    )
    return pd.Series(keyed["scale"].to_numpy(), index=cutoffs.index, name="scale")


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model, the mean over series of every metric (coverage therefore weighs each series equally); no rows
    when nothing was backtested (every series too short).

    A series whose training days never changed (a campaign without conversions yet) has no MASE scale: its
    MASE is infinite for every model and is left out of the mean rather than making it infinite."""
    if scores.empty:
        return pd.DataFrame({"model": []})
    metrics = [c for c in scores.columns if c not in ("unique_id", "model", "n")]
    summary = scores.replace([np.inf, -np.inf], np.nan).groupby("model")[metrics].mean()
    summary["series"] = scores.groupby("model")["unique_id"].nunique()
    return summary.reset_index()


def _wide(cv: pd.DataFrame, levels: Sequence[int]) -> tuple[pd.DataFrame, list[str]]:
    """The long backtest frame in utilsforecast's layout: one column per model and `model-lo-80` bounds."""
    values = {"yhat": ""} | {f"yhat_{s}_{level}": f"-{s}-{level}" for level in levels for s in ("lo", "hi")}
    wide = cv.pivot_table(index=[*KEYS, "ds", "y"], columns="model", values=list(values), aggfunc="first")
    models = sorted(cv["model"].unique())
    wide.columns = [f"{model}{values[column]}" for column, model in wide.columns]
    return wide.reset_index().dropna(), models
