"""Cumulative scenarios: where a campaign's conversions, clicks, spend and revenue land over the forecast horizon
and by its end date, as three bands whose probabilities are measured on rolling-origin backtests.

Daily quantiles do not add (the sum of daily P10s is far below the P10 of the sum when errors partly cancel,
and above it when they persist), so the totals are calibrated on backtests of totals:

1. `cumulative_backtests`: the ensemble's cross-fitted backtest paths (`ml.backtest_forecasts`) as running
   totals, for each series, window and k days ahead: the actual A_k and the forecast F_k (daily medians, floored
   at 0, summed).
2. `score`: s_k = log((A_k + c_k) / (F_k + c_k)), with c_k = a tenth of F_k plus k x a hundredth of the
   family's mean daily actual: an offset in proportion to the forecast keeps the score free of the series' scale
   (a family mixes campaigns ten times apart), and it keeps zero totals (small counts) finite; the floor covers a
   forecast of zero.
3. `calibrate`: a family is a metric x level (campaign, brand, total); its scores at each k, pooled over its
   series and windows, are the calibration: their empirical distribution is the distribution of the k-day
   total's log ratio to its forecast for any series of the family (a young series without backtests of its own
   gets the pool too).
4. `CumulativeDistribution`: a campaign's k-day total is (F_k + c_k) exp(s) - c_k, s drawn from its family's
   k-day distribution, F_k from the newest forecast.
5. Beyond the backtested horizon H (a far end date): the forecast goes on at its last week's average, and the
   score's spread about its H-day median grows as (k / H) ** gamma, gamma fitted on the backtested k (log-log
   least squares on the P20-P80 spread), floored at 0 so the relative spread never narrows past what was
   measured. Such rows are flagged `extrapolated`.
6. Bands (`BANDS`): pessimistic below P20, realistic P20-P80, optimistic above P80, stated 0.2 / 0.6 / 0.2.
   Why P20/P80 rather than P10/P90: a family holds a few dozen backtest outcomes per k, a fifth of them lie in
   each tail (a tenth would be three or four), and a one-in-five downside is what a plan is stress-tested on.
   `measured_bands`: each backtest outcome is placed in bands learned without its own series (leave one series
   out; a one-series family leaves out the windows overlapping its own), and the shares are the measured
   probabilities stored beside the stated ones.

The alternatives measured against this (bench/outlook_scenarios.py): the summed daily 80 % intervals, and a score
normalised by the summed daily interval widths instead of the log ratio.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

METRICS = ("conversions", "clicks", "spend", "revenue")
OFFSET_SHARE = 0.1
"""c_k's part in proportion to the forecast total F_k (see the module docstring, step 2)."""
FLOOR_SHARE = 0.01
"""c_k's part per day, as a share of the family's mean daily actual."""
TAIL_DAYS = 7
"""Beyond the horizon the forecast continues at the mean of its last `TAIL_DAYS` days (a whole week)."""
MODEL = "ensemble"


@dataclass(frozen=True)
class Band:
    """A scenario: the outcomes between two quantiles of the cumulative distribution; `central` is the quantile
    quoted as its value (the band's middle probability)."""

    name: str
    lower: float
    upper: float

    @property
    def stated(self) -> float:
        return self.upper - self.lower

    @property
    def central(self) -> float:
        return (self.lower + self.upper) / 2


BANDS = (Band("pessimistic", 0.0, 0.2), Band("realistic", 0.2, 0.8), Band("optimistic", 0.8, 1.0))
EDGES = np.array([band.upper for band in BANDS[:-1]])

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "forecast_run_id": ("VARCHAR", "The training run (ml.forecasts.run_id) whose forecast the scenario extends."),
    "campaign_id": ("VARCHAR", "Campaign."),
    "metric": ("VARCHAR", "conversions, clicks, spend or revenue."),
    "span": ("VARCHAR", "horizon: the forecast's days (cut at the end date); to_end: through the campaign's end date."),
    "from_date": ("DATE", "First day of the span: the day after the forecast's cutoff (the last complete day)."),
    "through_date": ("DATE", "Last day of the span."),
    "days": ("INTEGER", "Days in the span."),
    "to_date": (
        "DOUBLE",
        "Actual total through the cutoff; the campaign's total at through_date is to_date + the span's outcome.",
    ),
    "scenario": ("VARCHAR", "pessimistic (below P20), realistic (P20 to P80) or optimistic (above P80)."),
    "lower_quantile": ("DOUBLE", "Probability level of the band's lower edge (0, 0.2, 0.8)."),
    "upper_quantile": ("DOUBLE", "Probability level of the band's upper edge (0.2, 0.8, 1)."),
    "lower": (
        "DOUBLE",
        "The span's outcome at lower_quantile (0 for the pessimistic band: outcomes are never negative).",
    ),
    "upper": ("DOUBLE", "The span's outcome at upper_quantile (null for the optimistic band: unbounded)."),
    "value": ("DOUBLE", "The span's outcome at the band's middle quantile: P10, P50 (the median) or P90."),
    "stated_probability": ("DOUBLE", "The band's probability by construction: 0.2, 0.6 or 0.2."),
    "measured_probability": (
        "DOUBLE",
        "Share of backtest outcomes of the same family (metric x level) landing in the band, the band learned "
        "without the outcome's own series; at min(days, backtested horizon) days ahead.",
    ),
    "calibration_n": ("INTEGER", "Backtest outcomes (series x windows) behind measured_probability."),
    "calibration_series": ("INTEGER", "Series of the family in the calibration."),
    "calibration_family": ("VARCHAR", "The family calibrated on: metric/level, e.g. conversions/campaign."),
    "extrapolated": (
        "BOOLEAN",
        "The span runs past the backtested horizon: the forecast continues at its last week's mean and the spread "
        "grows by the fitted law; measured_probability is the horizon's.",
    ),
    "market_factor": ("DOUBLE", "Multiplier applied to the span's outcome by the market adjustment (1: none)."),
    "market_evidence": ("VARCHAR", "Why the market factor holds (from the market part), null without one."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}


def level(unique_id: str) -> str:
    """The series' level: the part of `unique_id` before '/' ('campaign', 'brand'), else the id itself."""
    return unique_id.split("/", 1)[0]


def forecast_totals(yhat: np.ndarray) -> np.ndarray:
    """Running totals of daily medians, floored at 0 day by day (the metrics are never negative)."""
    return np.cumsum(np.clip(yhat, 0.0, None), axis=-1)


def score(actual: np.ndarray, forecast: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The log ratio of actual to forecast totals with an offset (module docstring, step 2)."""
    return np.log((np.clip(actual, 0.0, None) + offset) / (forecast + offset))


def outcome(scores: np.ndarray, forecast: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The total whose score is `scores`: the inverse of `score`."""
    return np.clip((forecast + offset) * np.exp(scores) - offset, 0.0, None)


def cumulative_backtests(backtest: pd.DataFrame) -> pd.DataFrame:
    """Backtest paths (metric, unique_id, window, cutoff, ds, y, yhat) as running totals: metric, family,
    unique_id, window, cutoff, k, actual, forecast. Windows missing a day are dropped (their totals would be
    short)."""
    frame = backtest.assign(cutoff=pd.to_datetime(backtest["cutoff"]), ds=pd.to_datetime(backtest["ds"])).sort_values(
        ["metric", "unique_id", "window", "ds"]
    )
    frame["k"] = (frame["ds"] - frame["cutoff"]).dt.days
    keys = ["metric", "unique_id", "window"]
    grouped = frame.groupby(keys)
    complete = grouped["k"].transform("max") == grouped["k"].transform("size")
    frame = frame[complete & (frame["k"] >= 1)].copy()
    grouped = frame.groupby(keys)
    frame["actual"] = grouped["y"].cumsum()
    frame["forecast"] = grouped["yhat"].transform(lambda values: forecast_totals(values.to_numpy()))
    frame["family"] = frame["unique_id"].map(level)
    return frame[["metric", "family", "unique_id", "window", "cutoff", "k", "actual", "forecast"]].reset_index(
        drop=True
    )


@dataclass(frozen=True)
class Calibration:
    """One family's backtest scores: `scores[i, k-1]` the k-day score of case i (a series' window), NaN where
    the window is shorter; `series` and `cutoffs` name each case. c_k = `share` x F_k + k x `floor`."""

    metric: str
    family: str
    share: float
    floor: float
    scores: np.ndarray
    series: np.ndarray
    cutoffs: np.ndarray
    gamma: float = field(default=0.0)

    def offset(self, k: int | np.ndarray, forecast: np.ndarray | float) -> np.ndarray:
        """c_k for the forecast total `forecast` k days ahead."""
        return self.share * np.asarray(forecast) + np.asarray(k) * self.floor

    @property
    def horizon(self) -> int:
        return self.scores.shape[1]

    @property
    def name(self) -> str:
        return f"{self.metric}/{self.family}"

    def subset(self, mask: np.ndarray) -> Calibration:
        return replace(self, scores=self.scores[mask], series=self.series[mask], cutoffs=self.cutoffs[mask])

    def _column(self, k: int) -> np.ndarray:
        column = self.scores[:, min(k, self.horizon) - 1]
        return np.sort(column[np.isfinite(column)])

    def _stretch(self, k: int) -> tuple[float, float]:
        """(median at the horizon, spread factor) for k days ahead: factor 1 within the backtested horizon."""
        if k <= self.horizon:
            return 0.0, 1.0
        return float(np.median(self._column(self.horizon))), (k / self.horizon) ** self.gamma

    def quantile(self, k: int, p: np.ndarray | float) -> np.ndarray:
        """Score quantiles at probability levels `p`, k days ahead: the i-th of n sorted cases sits at level
        i / (n + 1) (Weibull plotting positions), so a band learned from a few dozen cases covers, out of sample,
        what it states (interpolating at (i - 1) / (n - 1) made the P20-P80 band hold 0.54-0.57 of held-out
        outcomes, not 0.6)."""
        centre, factor = self._stretch(k)
        return centre + (np.quantile(self._column(k), p, method="weibull") - centre) * factor

    def cdf(self, k: int, scores: np.ndarray | float) -> np.ndarray:
        """P(score <= s), k days ahead: the inverse of `quantile` between the smallest and the largest case; 0
        below them, 1 above (an outcome beyond every backtest case is taken as certain)."""
        centre, factor = self._stretch(k)
        column = self._column(k)
        levels = np.arange(1, len(column) + 1) / (len(column) + 1)
        return np.interp(centre + (np.asarray(scores) - centre) / factor, column, levels, left=0.0, right=1.0)

    def folds(self) -> Iterator[tuple[np.ndarray, Calibration]]:
        """(held-out cases, the calibration without them): one series at a time, or, in a one-series family,
        one window at a time against the windows that share none of its days."""
        names = np.unique(self.series)
        if len(names) > 1:
            for name in names:
                held = self.series == name
                yield held, self.subset(~held)
            return
        days = (self.cutoffs[:, None] - self.cutoffs[None, :]) / np.timedelta64(1, "D")
        for case in range(len(self.series)):
            held = np.arange(len(self.series)) == case
            yield held, self.subset(np.abs(days[case]) >= self.horizon)


def spread_growth(scores: np.ndarray) -> float:
    """gamma of spread(k) ~ k ** gamma for the P20-P80 spread of the scores over the backtested k, floored at 0."""
    spread = np.nanquantile(scores, 0.8, axis=0) - np.nanquantile(scores, 0.2, axis=0)
    k = np.arange(1, len(spread) + 1)
    usable = (spread > 0) & (k >= 2)
    if usable.sum() < 3:
        return 0.0
    slope = np.polyfit(np.log(k[usable]), np.log(spread[usable]), 1)[0]
    return max(float(slope), 0.0)


def calibrate(
    cumulative: pd.DataFrame, share: float = OFFSET_SHARE, floor_share: float = FLOOR_SHARE
) -> dict[tuple[str, str], Calibration]:
    """One `Calibration` per (metric, family) of `cumulative_backtests` output."""
    calibrations = {}
    for (metric, family), rows in cumulative.groupby(["metric", "family"]):
        horizon = int(rows["k"].max())
        wide_actual = rows.pivot_table(index=["unique_id", "window", "cutoff"], columns="k", values="actual")
        wide_forecast = rows.pivot_table(index=["unique_id", "window", "cutoff"], columns="k", values="forecast")
        wide_actual = wide_actual.reindex(columns=range(1, horizon + 1))
        wide_forecast = wide_forecast.reindex(columns=range(1, horizon + 1))
        daily = rows.loc[rows["k"] == rows["k"].max(), "actual"].mean() / horizon
        floor = max(floor_share * float(daily), 1e-9)
        forecast = wide_forecast.to_numpy()
        scores = score(wide_actual.to_numpy(), forecast, share * forecast + np.arange(1, horizon + 1) * floor)
        index = wide_actual.index
        calibrations[(metric, family)] = Calibration(
            metric,
            family,
            share,
            floor,
            scores,
            index.get_level_values("unique_id").to_numpy(),
            index.get_level_values("cutoff").to_numpy(),
            spread_growth(scores),
        )
    return calibrations


def held_out_levels(calibration: Calibration) -> np.ndarray:
    """Each case's score placed in the distribution learned without it (`Calibration.folds`): u[i, k-1] in 0..1,
    NaN where the case has no k-day total or its fold has no training case."""
    levels = np.full(calibration.scores.shape, np.nan)
    for held, training in calibration.folds():
        for k in range(1, calibration.horizon + 1):
            if len(training._column(k)) == 0:
                continue
            levels[held, k - 1] = training.cdf(k, calibration.scores[held, k - 1])
    return np.where(np.isfinite(calibration.scores), levels, np.nan)


def measured_bands(calibration: Calibration) -> pd.DataFrame:
    """Per k and band, the held-out share of outcomes in the band: k, scenario, stated, measured, n."""
    levels = held_out_levels(calibration)
    rows = []
    for k in range(1, calibration.horizon + 1):
        column = levels[:, k - 1]
        column = column[np.isfinite(column)]
        bands = np.digitize(column, EDGES, right=True)
        for number, band in enumerate(BANDS):
            measured = float(np.mean(bands == number)) if len(column) else np.nan
            rows.append((k, band.name, band.stated, measured, len(column)))
    return pd.DataFrame(rows, columns=["k", "scenario", "stated", "measured", "n"]).assign(
        family=calibration.name, series=len(np.unique(calibration.series))
    )


@dataclass(frozen=True)
class CumulativeDistribution:
    """The distribution of one campaign metric's total over the next k days (k = 1, 2, ...), from the newest
    forecast's daily medians `yhat` and the family's calibration, times the market `factor`."""

    campaign_id: str
    metric: str
    cutoff: date
    yhat: np.ndarray
    calibration: Calibration
    to_date: float = 0.0
    factor: float = 1.0
    evidence: str | None = None
    forecast_run_id: str | None = None

    def forecast(self, k: int) -> float:
        """F_k: the summed medians, continued past the horizon at the last week's mean."""
        totals = forecast_totals(self.yhat)
        if k <= len(totals):
            return float(totals[k - 1])
        tail = float(np.clip(self.yhat[-TAIL_DAYS:], 0.0, None).mean())
        return float(totals[-1]) + (k - len(totals)) * tail

    def quantile(self, k: int, p: np.ndarray | float) -> np.ndarray:
        """The k-day total at probability levels `p`."""
        forecast = self.forecast(k)
        return self.factor * outcome(self.calibration.quantile(k, p), forecast, self.calibration.offset(k, forecast))

    def prob_at_least(self, k: int, amount: np.ndarray | float) -> np.ndarray:
        """P(k-day total >= amount); 1 for amounts at or below 0."""
        amount = np.asarray(amount, dtype=float)
        forecast = self.forecast(k)
        positive = np.clip(amount / self.factor, 0.0, None)
        probability = 1.0 - self.calibration.cdf(k, score(positive, forecast, self.calibration.offset(k, forecast)))
        return np.where(amount <= 0, 1.0, probability)

    @property
    def extrapolates_after(self) -> int:
        """The last backtested k: totals further out are extrapolated."""
        return min(self.calibration.horizon, len(self.yhat))


@dataclass(frozen=True)
class Inputs:
    """What the outlook reads: the newest run's backtest paths and ensemble forecasts, each campaign's actual
    totals through the cutoff, and the pacing mart (dates, goal, budget)."""

    backtest: pd.DataFrame
    forecasts: pd.DataFrame
    to_date: pd.DataFrame
    pacing: pd.DataFrame


_NEWEST = """
WITH newest AS (
    SELECT metric, arg_max(run_id, trained_at) AS run_id FROM ml.forecasts
    WHERE list_contains($metrics, metric) GROUP BY metric
)
"""


def read_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    """The outlook's inputs from the warehouse (the newest training run per metric)."""
    metrics = list(METRICS)
    forecasts = con.execute(
        _NEWEST
        + """SELECT f.run_id, f.metric, substr(f.unique_id, 10) AS campaign_id, f.cutoff, f.ds, f.yhat
             FROM ml.forecasts f JOIN newest USING (metric, run_id)
             WHERE f.model = $model AND f.unique_id LIKE 'campaign/%' ORDER BY 1, 2, 3, 5""",
        {"metrics": metrics, "model": MODEL},
    ).df()
    backtest = con.execute(
        _NEWEST
        + """SELECT b.metric, b.unique_id, b."window", b.cutoff, b.ds, b.y, b.yhat
             FROM ml.backtest_forecasts b JOIN newest USING (metric, run_id)""",
        {"metrics": metrics},
    ).df()
    to_date = con.execute(
        f"""WITH cutoffs AS (SELECT DISTINCT metric, cutoff FROM ({_NEWEST}
                SELECT f.metric, f.cutoff FROM ml.forecasts f JOIN newest USING (metric, run_id)))
            SELECT d.campaign_id, c.metric,
                   sum(CASE c.metric WHEN 'conversions' THEN d.conversions WHEN 'clicks' THEN d.clicks
                       WHEN 'spend' THEN d.spend ELSE d.revenue END)::DOUBLE AS to_date
            FROM marts.campaign_daily d JOIN cutoffs c ON d.day <= c.cutoff GROUP BY ALL""",
        {"metrics": metrics},
    ).df()
    pacing = con.execute("SELECT * FROM marts.campaign_pacing").df()
    return Inputs(backtest, forecasts, to_date, pacing)


@dataclass(frozen=True)
class Outlook:
    """Every active campaign metric's `CumulativeDistribution`, the calibrations and their measured bands."""

    distributions: dict[tuple[str, str], CumulativeDistribution]
    calibrations: dict[tuple[str, str], Calibration]
    measured: pd.DataFrame
    pacing: pd.DataFrame


_NO_BANDS = pd.DataFrame(columns=["family", "k", "scenario", "stated", "measured", "n", "series"])
"""The measured bands when nothing was backtested (too little history): no calibration, no scenario."""


def build_outlook(inputs: Inputs, adjustments: pd.DataFrame | None = None) -> Outlook:
    """Calibrate on the backtests and set up each active campaign's distributions (market factors applied).

    Active: forecast by the newest run and not past its end date on the first forecast day."""
    calibrations = calibrate(cumulative_backtests(inputs.backtest))
    measured = pd.concat([measured_bands(c) for c in calibrations.values()] or [_NO_BANDS], ignore_index=True)
    factors = _factors(adjustments)
    ends = inputs.pacing.set_index("campaign_id")["end_date"]
    to_date = inputs.to_date.set_index(["campaign_id", "metric"])["to_date"]
    distributions = {}
    for (metric, campaign_id), rows in inputs.forecasts.groupby(["metric", "campaign_id"]):
        calibration = calibrations.get((metric, "campaign"))
        cutoff = pd.Timestamp(rows["cutoff"].iloc[0]).date()
        end = ends.get(campaign_id)
        if calibration is None or (pd.notna(end) and pd.Timestamp(end).date() <= cutoff):
            continue
        factor, evidence = factors.get((campaign_id, metric), (1.0, None))
        distributions[(campaign_id, metric)] = CumulativeDistribution(
            campaign_id,
            metric,
            cutoff,
            rows.sort_values("ds")["yhat"].to_numpy(dtype=float),
            calibration,
            float(to_date.get((campaign_id, metric), 0.0)),
            factor,
            evidence,
            rows["run_id"].iloc[0],
        )
    return Outlook(distributions, calibrations, measured, inputs.pacing)


def _factors(adjustments: pd.DataFrame | None) -> dict[tuple[str, str], tuple[float, str | None]]:
    if adjustments is None or adjustments.empty:
        return {}
    return {
        (row.campaign_id, row.metric): (float(row.factor), None if pd.isna(row.evidence) else str(row.evidence))
        for row in adjustments.itertuples()
    }


def spans(distribution: CumulativeDistribution, end: date | None, horizon: int | None = None) -> dict[str, int]:
    """Days ahead of each span: the horizon (the forecast's unless given; cut at the end date) and, with an end
    date, to the end."""
    horizon = horizon or len(distribution.yhat)
    if end is None:
        return {"horizon": horizon}
    to_end = (end - distribution.cutoff).days
    return {"horizon": min(horizon, to_end), "to_end": to_end}


def scenario_rows(outlook: Outlook, run_id: str, horizon: int | None = None) -> pd.DataFrame:
    """`ml.scenarios` rows: three bands per active campaign, metric and span (`horizon` days ahead, by default the
    forecast's)."""
    ends = outlook.pacing.set_index("campaign_id")["end_date"]
    measured = outlook.measured.set_index(["family", "k", "scenario"])
    created = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for (campaign_id, metric), distribution in sorted(outlook.distributions.items()):
        end = ends.get(campaign_id)
        end = pd.Timestamp(end).date() if pd.notna(end) else None
        calibration = distribution.calibration
        for span, days in spans(distribution, end, horizon).items():
            levels = [p for band in BANDS for p in (band.lower, band.central, band.upper)]
            values = distribution.quantile(days, np.clip(levels, 0.0, 1.0))
            k = min(days, calibration.horizon)
            for number, band in enumerate(BANDS):
                lower, central, upper = values[3 * number : 3 * number + 3]
                check = measured.loc[(calibration.name, k, band.name)]
                rows.append(
                    {
                        "run_id": run_id,
                        "forecast_run_id": distribution.forecast_run_id,
                        "campaign_id": campaign_id,
                        "metric": metric,
                        "span": span,
                        "from_date": distribution.cutoff + timedelta(days=1),
                        "through_date": distribution.cutoff + timedelta(days=days),
                        "days": days,
                        "to_date": distribution.to_date,
                        "scenario": band.name,
                        "lower_quantile": band.lower,
                        "upper_quantile": band.upper,
                        "lower": 0.0 if band.lower == 0 else float(lower),
                        "upper": np.nan if band.upper == 1 else float(upper),
                        "value": float(central),
                        "stated_probability": band.stated,
                        "measured_probability": float(check["measured"]),
                        "calibration_n": int(check["n"]),
                        "calibration_series": int(check["series"]),
                        "calibration_family": calibration.name,
                        "extrapolated": days > distribution.extrapolates_after,
                        "market_factor": distribution.factor,
                        "market_evidence": distribution.evidence,
                        "created_at": created,
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def scenarios(
    con: duckdb.DuckDBPyConnection, adjustments: pd.DataFrame | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """The `ml.scenarios` rows of the warehouse behind `con` (read-only is enough); `adjustments` (campaign_id,
    metric, factor, evidence) multiplies the matching outcomes by `factor` and is stored beside them."""
    outlook = build_outlook(read_inputs(con), adjustments)
    return scenario_rows(outlook, run_id or uuid.uuid4().hex)
