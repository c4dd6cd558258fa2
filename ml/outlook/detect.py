"""A causal anomaly detector for any univariate series: a point's score uses data up to that point only.

How a point is scored, every step computed on the past alone:
1. Baselines: the rolling median of the previous `baseline_window` points, and, where the frequency has a
   natural cycle (a day for sub-daily data, a week for daily data), the median of the same moment in the
   previous `seasons` cycles (matched on timestamps, so gaps and irregular steps are fine). Each point uses
   whichever baseline has had the smaller recent error.
2. Evidence at several scales (`scales`): the median of the last k residuals in units of the residuals' robust
   scale (MAD; for counts at least the Poisson noise of the baseline), so a spike shows at k = 1 and a level
   shift or a dip at the longer scales, where single spikes do not move a median.
3. Calibration: each scale's statistic becomes a tail probability against that statistic's own past (an
   exponential tail through its 90th and 99th percentiles over `tail_window` points); points that were
   already improbable stay out of that past, so one anomaly does not hide the next. The scales are combined
   with a Bonferroni correction.
4. Flags: `is_anomaly` where the tail probability is below `alpha`, then quiet for `refractory` points (one
   alert per event, as the Numenta Anomaly Benchmark rewards). `anomaly_score` is -log10(p) scaled so that
   p = alpha scores 0.5 (and p <= alpha^2 scores 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from pulsecast.ml.forecast_csv import _parsed, _timestamps, read_text_csv
from pulsecast.models.frequency import infer_frequency, parse_frequency, season_length

Direction = Literal["both", "down", "up"]
OUTPUT_COLUMNS = ["timestamp", "value", "anomaly_score", "is_anomaly"]
ACCEPTED = {("timestamp", "value"), ("ds", "y")}


@dataclass(frozen=True)
class DetectorConfig:
    """The method's settings: chosen once for every series, never per series."""

    scales: tuple[int, ...] = (1, 6, 24)
    baseline_window: int = 300
    seasons: int = 7
    tail_window: int = 1000
    min_history: int = 100
    alpha: float = 3e-4
    refractory: int = 30
    direction: Direction = "both"


def score_series(df: pd.DataFrame, freq: str | None = None, config: DetectorConfig | None = None) -> pd.DataFrame:
    """`timestamp, value, anomaly_score, is_anomaly, expected` (the baseline) for a frame with `timestamp` and
    `value`, in its row order.

    Rows may repeat a timestamp and be unsorted; they are scored in time order (stable, so repeats keep their
    order) and returned in the input's order. Missing values score 0 and carry the last value forward.
    """
    config = config or DetectorConfig()
    stamps = pd.to_datetime(df["timestamp"]).reset_index(drop=True)
    values = pd.to_numeric(df["value"], errors="coerce").astype(float).reset_index(drop=True)
    order = np.argsort(stamps.to_numpy(), kind="stable")
    ts, x = stamps.iloc[order].reset_index(drop=True), values.iloc[order].reset_index(drop=True)
    filled = x.ffill().bfill()
    expected = filled - _residual(ts, filled, _season(ts, freq), config)
    log_p = _log_tail_probability(filled, expected, config)
    log_p[x.isna().to_numpy()] = 0.0
    scored = pd.DataFrame(
        {
            "expected": expected.to_numpy(),
            "anomaly_score": np.clip(log_p / (2 * np.log10(config.alpha)), 0.0, 1.0) + 0.0,  # + 0.0: never -0.0
            "is_anomaly": _flags(log_p, np.log10(config.alpha), config.refractory),
        },
        index=order,
    ).sort_index()
    return pd.DataFrame(
        {
            "timestamp": df["timestamp"].to_numpy(),
            "value": values.to_numpy(),
            **{c: scored[c].to_numpy() for c in scored},
        }
    )[[*OUTPUT_COLUMNS, "expected"]]


def read_detect_csv(path: Path) -> pd.DataFrame:
    """The file as `timestamp` (its text, to write back unchanged), `ts` (parsed) and `value`, in file order;
    a ValueError naming the problem (missing file, columns, an unreadable cell and its row, no values)."""
    raw = read_text_csv(path)
    names = next((pair for pair in sorted(ACCEPTED) if set(pair) <= set(raw.columns)), None)
    if names is None:
        raise ValueError(f"{path} must have columns timestamp,value or ds,y; found {','.join(raw.columns) or 'none'}")
    if raw.empty:
        raise ValueError(f"{path} has a header but no rows")
    stamp, value = (raw[name].str.strip() for name in names)
    frame = pd.DataFrame({"timestamp": stamp})
    frame["ts"] = _parsed(stamp, names[0], _timestamps, blank_allowed=False).dt.tz_localize(None)
    frame["value"] = _parsed(value, names[1], partial(pd.to_numeric, errors="coerce"), blank_allowed=True)
    if frame["value"].isna().all():
        raise ValueError(f"{path} has no numeric {names[1]} values")
    return frame


def detect_csv(input_path: Path, output: Path, freq: str | None = None) -> pd.DataFrame:
    """Score a CSV file and write `timestamp, value, anomaly_score, is_anomaly` in its row order."""
    frame = read_detect_csv(input_path)
    if freq is not None:
        parse_frequency(freq)
    scored = score_series(frame.assign(timestamp=frame["ts"]), freq)
    scored["timestamp"] = frame["timestamp"].to_numpy()  # the input's own text: readers match rows on it
    output.parent.mkdir(parents=True, exist_ok=True)
    scored[OUTPUT_COLUMNS].to_csv(output, index=False)
    return scored


def _season(ts: pd.Series, freq: str | None) -> pd.Timedelta | None:
    """The natural cycle as a duration (a day for hourly or finer steps, a week for daily), if it has one."""
    if ts.nunique() < 2:
        return None
    freq = freq or infer_frequency(ts)
    offset = parse_frequency(freq)
    try:
        step = pd.Timedelta(to_offset(offset))
    except ValueError:  # calendar steps (months, weeks anchored on a weekday) have no fixed length
        return None
    length = season_length(freq)
    return step * length if length > 1 else None


def _log_tail_probability(x: pd.Series, expected: pd.Series, c: DetectorConfig) -> np.ndarray:
    """log10 of each point's combined tail probability (0 where there is not enough past)."""
    residual, base = x - expected, expected
    scale = residual.shift(1).abs().rolling(c.baseline_window, min_periods=30).median() * 1.4826
    if _are_counts(x):
        scale = np.maximum(scale, np.sqrt(base.clip(lower=1.0)))  # a count of 3 vs 5 is noise, not an anomaly
    scale = scale + 1e-9 + 1e-6 * base.abs()
    signs = {"both": (1, -1), "down": (-1,), "up": (1,)}[c.direction]
    parts = []
    for k in c.scales:
        z = (residual.rolling(k, min_periods=1).median() / scale).to_numpy()
        parts += [_calibrated(sign * z, c) for sign in signs]
    return np.minimum(np.min(parts, axis=0) + np.log10(len(parts)), 0.0)


def _residual(ts: pd.Series, x: pd.Series, season: pd.Timedelta | None, c: DetectorConfig) -> pd.Series:
    """Each point minus its baseline: the plain rolling median, or the seasonal one where it has fitted better."""
    plain = x - x.shift(1).rolling(c.baseline_window, min_periods=30).median()
    if season is None:
        return plain
    seasonal = x - _seasonal_median(ts, x, season, c.seasons)
    past_error = {
        name: r.abs().shift(1).rolling(c.baseline_window, min_periods=30).median()
        for name, r in (("plain", plain), ("seasonal", seasonal))
    }
    use_seasonal = (past_error["seasonal"] < past_error["plain"]) & seasonal.notna()
    return seasonal.where(use_seasonal, plain)


def _seasonal_median(ts: pd.Series, x: pd.Series, season: pd.Timedelta, seasons: int) -> pd.Series:
    """Median of the values at the same moment 1..`seasons` cycles earlier (nearest earlier reading, within
    a tenth of a cycle); NaN until the series has a full cycle behind it."""
    history = pd.DataFrame({"ts": ts.to_numpy(), "v": x.to_numpy()}).sort_values("ts", kind="stable")
    lagged = []
    for j in range(1, seasons + 1):
        query = pd.DataFrame({"ts": ts.to_numpy() - j * season, "row": np.arange(len(ts))})
        hit = pd.merge_asof(query.sort_values("ts"), history, on="ts", tolerance=season / 10).sort_values("row")
        lagged.append(hit["v"].to_numpy())
    stacked = np.vstack(lagged)
    enough = np.isfinite(stacked).sum(axis=0) >= 1
    median = np.full(len(ts), np.nan)
    median[enough] = np.nanmedian(stacked[:, enough], axis=0)
    return pd.Series(median, index=x.index)


def _are_counts(x: pd.Series) -> bool:
    finite = x[np.isfinite(x)]
    return bool(len(finite)) and bool((finite >= 0).all()) and bool(np.allclose(finite, np.round(finite)))


def _calibrated(stat: np.ndarray, c: DetectorConfig) -> np.ndarray:
    """log10 P(stat >= stat[t]) from the exponential tail through stat's past 90th and 99th percentiles; a
    second pass leaves the points the first found improbable (p < 1 %) out of the past."""
    s = pd.Series(stat)
    first = _exponential_tail(s, s.shift(1), c)
    clean = s.where(first >= -2.0)
    return _exponential_tail(s, clean.shift(1), c)


def _exponential_tail(s: pd.Series, past: pd.Series, c: DetectorConfig) -> np.ndarray:
    window = past.rolling(c.tail_window, min_periods=c.min_history)
    q90, q99 = window.quantile(0.90), window.quantile(0.99)
    log_p = -2.0 - (s - q99) / (q99 - q90).clip(lower=1e-9)
    return np.minimum(log_p.fillna(0.0).to_numpy(), 0.0)


def _flags(log_p: np.ndarray, log_alpha: float, refractory: int) -> np.ndarray:
    """1 where the tail probability is below alpha and no flag was raised in the previous `refractory` points."""
    flags, last = np.zeros(len(log_p), dtype=int), -refractory - 1
    for t in np.flatnonzero(log_p < log_alpha):
        if t - last > refractory:
            flags[t], last = 1, t
    return flags
