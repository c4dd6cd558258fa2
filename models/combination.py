"""How the ensemble combines members: backtest-based weights (pooled over the series by a linear program, and
per series by inverse MASE), quantile averaging and conformal calibration.

All functions are pure and work on long frames (a `model` column), so the same code weighs the backtest
forecasts and the final ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from pulsecast.models.base import forecast_columns

MIN_TAIL_POINTS = 10
"""A series gets its own conformal correction for a level only if its backtest covers enough distinct days for
this many expected beyond the interval (50 for 80 %, 200 for 95 %; overlapping windows score a day more than
once, which adds no evidence); otherwise the correction pooled over all series."""
MIN_WIDTH = 1e-9


def pooled_weights(backtest: pd.DataFrame, scales: pd.Series, members: Sequence[str], baseline: str) -> pd.Series:
    """The one set of member weights (on the simplex) whose combined point forecast has the lowest backtest MASE
    over all the series together, averaged as `models.metrics` averages it (per window, then per series).

    MASE of a weighted average is piecewise linear in the weights, so this is a linear program, least absolute
    deviations on the simplex: minimise sum_i c_i |y_i - X_i w| subject to sum(w) = 1, w >= 0, with
    c_i = 1 / (scale * points in the window * windows of the series * series). scipy's HiGHS solves its dual,
    maximise y.l + m subject to X'l + m <= 0 and |l_i| <= c_i, whose k rows (one per member) carry the optimal
    weights as their multipliers: the primal has a row per backtest point, the dual one per member, so the dual
    is far faster on a metric's backtest (docs/forecasting.md). `backtest` is the long member backtest
    (unique_id, window, ds, model, y, yhat), `scales` the MASE denominators indexed by (unique_id, window).
    Points whose scale is zero or unknown are left out; with none left, the baseline takes everything.
    """
    wide = (
        backtest.pivot_table(index=["unique_id", "window", "ds", "y"], columns="model", values="yhat", aggfunc="first")
        .reindex(columns=list(members))
        .dropna()
        .reset_index()
        .join(scales.rename("scale"), on=["unique_id", "window"])
    )
    wide = wide[np.isfinite(wide["scale"]) & (wide["scale"] > 0)]
    if wide.empty:
        return pd.Series([float(name == baseline) for name in members], index=list(members))
    points = wide.groupby(["unique_id", "window"])["ds"].transform("size")
    windows = wide.groupby("unique_id")["window"].transform("nunique")
    cost = (1 / (wide["scale"] * points * windows * wide["unique_id"].nunique())).to_numpy()
    forecasts = wide[list(members)].to_numpy()
    dual = linprog(
        -np.append(wide["y"].to_numpy(), 1.0),
        A_ub=np.hstack([forecasts.T, np.ones((len(members), 1))]),
        b_ub=np.zeros(len(members)),
        bounds=np.vstack([np.column_stack([-cost, cost]), [-np.inf, np.inf]]),
        method="highs-ipm",
    )
    if dual.status != 0:
        raise RuntimeError(f"the pooled member weights could not be optimised: {dual.message}")
    weights = np.clip(-dual.ineqlin.marginals, 0, None)
    return pd.Series(weights / weights.sum(), index=list(members))


def qualifying(mase: pd.DataFrame, baseline: str, trim: float) -> pd.DataFrame:
    """Which members may get weight, per row of `mase` (see `member_weights`): the baseline, and any member that
    beats it, unless more than `trim` worse than the best; only the baseline when nothing was scored."""
    mase = mase.where(np.isfinite(mase))
    eligible = mase.lt(mase[baseline], axis=0)
    eligible[baseline] = True
    eligible &= mase.le(mase.min(axis=1) * (1 + trim), axis=0)
    eligible.loc[~eligible.any(axis=1), baseline] = True  # nothing scored (e.g. a zero MASE scale): the baseline
    return eligible


def member_weights(
    mase: pd.DataFrame, baseline: str, shrinkage: float, trim: float, toward: pd.Series | None = None
) -> pd.DataFrame:
    """Per-series weights from backtest MASE (index unique_id, one column per member).

    Who qualifies: a member whose MASE is not below the baseline's gets 0 (so a model only counts where it
    beats seasonal naive), and so does any member, the baseline included, whose MASE is more than `trim`
    above the best member's (a trimmed combination: averaging in a clearly worse forecast costs more than
    its diversity brings). Among those that qualify: inverse-MASE shares, shrunk by `shrinkage` toward
    `toward` (weights shared by every series, e.g. `pooled_weights`) or, without it, toward equal shares of
    the qualifying members (backtests are a few windows: a noisy winner should not take everything). Rows
    sum to 1.
    """
    if not 0 <= shrinkage <= 1 or trim < 0:
        raise ValueError(f"need 0 <= shrinkage <= 1 and trim >= 0, got shrinkage={shrinkage}, trim={trim}")
    mase = mase.where(np.isfinite(mase))
    eligible = qualifying(mase, baseline, trim)
    inverse = (1 / mase.clip(lower=MIN_WIDTH)).where(eligible, 0.0).fillna(1.0)
    inverse_share = inverse.div(inverse.sum(axis=1), axis=0)
    if toward is None:
        target = eligible.astype(float).div(eligible.sum(axis=1), axis=0)
    else:
        target = pd.DataFrame([toward.reindex(mase.columns).to_numpy()] * len(mase), mase.index, mase.columns)
    return (1 - shrinkage) * inverse_share + shrinkage * target


def combine(forecasts: pd.DataFrame, weights: pd.DataFrame, levels: Sequence[int], keys: Sequence[str]) -> pd.DataFrame:
    """Weighted average of every quantile column across members (`forecasts` long, with `model`); rows of series
    without weights are dropped. `keys` identify one forecast row, e.g. unique_id, ds (and cutoff, window, y)."""
    columns = forecast_columns(levels)
    long_weights = weights.rename_axis(index="unique_id", columns="model").stack().rename("weight").reset_index()
    weighted = forecasts.merge(long_weights, on=["unique_id", "model"], how="inner")
    weighted[columns] = weighted[columns].mul(weighted["weight"], axis=0)
    return weighted.groupby(list(keys), as_index=False)[columns].sum()


def conformal_corrections(backtest: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Per series and level, how far to widen (or narrow) the interval, in units of its own width.

    Scores are normalised conformalised-quantile-regression scores, max(lo - y, y - hi) / (hi - lo): scale-free,
    so they pool across series, and proportional to the width, so steps further ahead (wider intervals) get
    proportionally more. The correction is the finite-sample conformal quantile of the scores, per series where
    its backtest is long enough for a stable tail (MIN_TAIL_POINTS), pooled over all series otherwise.
    """
    rows = []
    days = backtest.groupby("unique_id")["ds"].nunique()
    for level in levels:
        low, high = backtest[f"yhat_lo_{level}"], backtest[f"yhat_hi_{level}"]
        scores = np.maximum(low - backtest["y"], backtest["y"] - high) / (high - low).clip(lower=MIN_WIDTH)
        pooled = _conformal_quantile(scores.to_numpy(), level)
        enough = MIN_TAIL_POINTS / (1 - level / 100)
        for uid, series_scores in scores.groupby(backtest["unique_id"]):
            own = days[uid] >= enough
            correction = _conformal_quantile(series_scores.to_numpy(), level) if own else pooled
            rows.append((uid, level, correction))
    return pd.DataFrame(rows, columns=["unique_id", "level", "correction"])


def calibrate(forecast: pd.DataFrame, corrections: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Each interval widened by its correction times its width (a negative correction narrows it, at most to 0)."""
    result = forecast.copy()
    for level in levels:
        correction = corrections[corrections["level"] == level].set_index("unique_id")["correction"]
        factor = result["unique_id"].map(correction).astype(float).fillna(0.0).clip(lower=-0.5)
        low, high = f"yhat_lo_{level}", f"yhat_hi_{level}"
        width = result[high] - result[low]
        result[low], result[high] = result[low] - factor * width, result[high] + factor * width
    return result


def _conformal_quantile(scores: np.ndarray, level: int) -> float:
    """The ceil((n + 1) * level) / n empirical quantile: covers at least `level` of new points if exchangeable."""
    n = len(scores)
    rank = min(1.0, np.ceil((n + 1) * level / 100) / n)
    return float(np.quantile(scores, rank, method="higher"))
