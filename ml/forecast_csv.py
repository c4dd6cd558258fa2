"""`pulsecast forecast-csv`: bring your own series, get every model's forecast and its backtest record.

The file holds `ds,y` or `unique_id,ds,y` (header names are trimmed and case-insensitive; rows in any order;
CR, LF or CRLF line endings). Empty `y` cells count as missing and are filled like gaps (see
`models.prepare`); anything else that is not a number or a timestamp is refused with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from pulsecast.models.base import LEVELS, output_columns
from pulsecast.models.ensemble import DEFAULT_WINDOWS, Ensemble
from pulsecast.models.metrics import summarize
from pulsecast.models.prepare import DEFAULT_ID, PreparedSeries, prepare

ACCEPTED = ({"ds", "y"}, {"unique_id", "ds", "y"})


@dataclass(frozen=True)
class ForecastCsvResult:
    """What the command wrote and what it prints."""

    forecasts: pd.DataFrame
    summary: pd.DataFrame
    ensemble: Ensemble
    series: PreparedSeries


def read_series_csv(path: Path) -> pd.DataFrame:
    """The file as `unique_id, ds, y` (typed), or a ValueError that names the file, column and line."""
    raw = read_text_csv(path)
    if set(raw.columns) not in ACCEPTED:
        raise ValueError(f"{path} must have columns ds,y or unique_id,ds,y; found {','.join(raw.columns) or 'none'}")
    frame = pd.DataFrame(
        {"unique_id": raw["unique_id"].str.strip() if "unique_id" in raw else DEFAULT_ID}, index=raw.index
    )
    frame["ds"] = _parsed(raw["ds"], "ds", _timestamps, blank_allowed=False)
    frame["y"] = _parsed(raw["y"], "y", partial(pd.to_numeric, errors="coerce"), blank_allowed=True)
    return frame


def read_text_csv(path: Path) -> pd.DataFrame:
    """Every cell as text, header names trimmed and lower-cased; a ValueError for a missing or unreadable file."""
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable CSV file: {error}") from error
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw


def _timestamps(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="mixed", errors="coerce", utc=True)


def _parsed(values: pd.Series, column: str, parse: Callable[[pd.Series], pd.Series], blank_allowed: bool) -> pd.Series:
    """Parsed values; a cell that does not parse is an error naming its data row (blank `y` cells are missing)."""
    values = values.str.strip()
    parsed = parse(values.replace("", None))
    bad = parsed.isna() & (values.ne("") | (not blank_allowed))
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(
            f"{int(bad.sum())} value(s) of {column} cannot be read, "
            f"the first {values.iloc[first]!r} in data row {first + 1}"
        )
    return parsed


def forecast_csv(
    input_path: Path,
    horizon: int,
    output: Path,
    freq: str | None = None,
    metrics_json: Path | None = None,
    windows: int = DEFAULT_WINDOWS,
    workers: int = 2,
) -> ForecastCsvResult:
    """Fit the ensemble (and so every member) with backtests, write the forecasts and the metrics. `workers=2`
    fits the LSTM in a second process beside the other members (`Ensemble`)."""
    frame = read_series_csv(input_path)
    if frame["y"].count() < 2:
        raise ValueError(f"too few rows: {input_path} has {frame['y'].count()} value(s) of y")
    series = prepare(frame, freq)
    ensemble = Ensemble(series.freq, horizon=horizon, n_windows=windows, workers=workers)
    needed = ensemble.min_length(series.season_length)
    longest = int(series.df.groupby("unique_id").size().max())
    if longest < needed:
        raise ValueError(
            f"too few rows: the longest series has {longest} points at frequency {series.freq}; "
            f"{windows} backtest windows {ensemble.step} steps apart at horizon {horizon} need {needed} "
            "(lower --horizon or --windows)"
        )
    ensemble.fit(frame)
    forecasts = ensemble.predict_members(horizon)
    forecasts = forecasts[["unique_id", "ds", "model", *output_columns(LEVELS)[2:]]]
    output.parent.mkdir(parents=True, exist_ok=True)
    forecasts.to_csv(output, index=False)
    summary = summarize(ensemble.scores_)
    if metrics_json is not None:
        metrics_json.parent.mkdir(parents=True, exist_ok=True)
        document = _metrics_document(input_path, horizon, windows, ensemble, series, summary)
        metrics_json.write_text(json.dumps(document, indent=2, default=str))
    return ForecastCsvResult(forecasts, summary, ensemble, series)


def _metrics_document(
    input_path: Path, horizon: int, windows: int, ensemble: Ensemble, series: PreparedSeries, summary: pd.DataFrame
) -> dict:
    """Plain JSON: NaN (a metric with nothing to score) becomes null."""

    def records(frame: pd.DataFrame, **kwargs) -> dict | list:
        return frame.astype(object).where(frame.notna(), None).to_dict(**kwargs)

    return {
        "input": str(input_path),
        "horizon": horizon,
        "freq": series.freq,
        "season_length": series.season_length,
        "backtest_windows": windows,
        "backtest_step": ensemble.step,
        "rows_merged_as_duplicates": series.duplicates,
        "steps_filled": series.filled,
        "models": records(summary.set_index("model"), orient="index"),
        "per_series": records(ensemble.scores_, orient="records"),
        "weights": records(ensemble.weights_, orient="index"),
        "fallbacks": ensemble.fallbacks,
        "member_fallbacks": {name: model.fallbacks for name, model in ensemble.members_.items()},
        "pruned": sorted(ensemble.pruned_),
        "dropped": series.dropped,
    }
