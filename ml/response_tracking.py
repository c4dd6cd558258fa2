"""MLflow for the response curves, beside the forecasters' experiments: a run per fit in `pulsecast-response`,
with how it was fitted, each line's curve parameters across the bootstrap, and one figure of every line's fitted
conversions against the observed ones, which is what an analyst opens to judge a curve before trusting it.
"""

from __future__ import annotations

import hashlib

import mlflow
import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from mlflow import MlflowClient

from pulsecast.ml.response import BLOCK_DAYS, WIDEN_PER_LOG, Curve, contiguous_days
from pulsecast.ml.tracking import experiment_id
from pulsecast.settings import Settings

EXPERIMENT = "response"
CURVES_TABLE, FITS_FIGURE = "response_curves.json", "response_fits.png"
MAX_PANELS = 24
"""Lines the figure shows at most (the busiest by conversions): one readable figure per run."""
PARAMETERS = ("beta", "half_saturation", "shape", "decay")


def log_fit(settings: Settings, frame: pd.DataFrame, curves: dict[tuple[str, str], Curve], seconds: float) -> str:
    """Record one `fit` of `frame` that took `seconds`; returns the MLflow run id."""
    mlflow.set_tracking_uri(settings.mlflow_uri)
    client = MlflowClient(settings.mlflow_uri)
    through = pd.to_datetime(frame["day"]).max().date()
    samples = len(next(iter(curves.values())).params) - 1 if curves else 0
    with mlflow.start_run(experiment_id=experiment_id(client, settings, EXPERIMENT),
                          run_name=f"response through {through}") as run:
        mlflow.log_params({"through": through, "lines": len(curves), "bootstrap_samples": samples,
                           "block_days": BLOCK_DAYS, "widen_per_log": WIDEN_PER_LOG,
                           "data_fingerprint": _fingerprint(frame)})
        mlflow.log_metric("seconds_per_line", seconds / max(len(curves), 1))
        mlflow.log_table(curve_table(curves), CURVES_TABLE)
        mlflow.log_figure(fits_figure(frame, curves), FITS_FIGURE)
    return run.info.run_id


def curve_table(curves: dict[tuple[str, str], Curve]) -> pd.DataFrame:
    """One row per line: each parameter's point fit and P10 / P90 over the bootstrap, and the spend range."""
    rows = []
    for (campaign_id, channel), curve in curves.items():
        row = {"campaign_id": campaign_id, "channel": channel, "spend_low": curve.spend_range[0],
               "spend_high": curve.spend_range[1], "value_per_conversion": float(curve.value_per_conversion[0])}
        for name, values in zip(PARAMETERS, curve.params.T, strict=True):
            row |= {name: float(values[0]), f"{name}_p10": float(np.quantile(values[1:], 0.1)),
                    f"{name}_p90": float(np.quantile(values[1:], 0.9))}
        rows.append(row)
    return pd.DataFrame(rows)


def fits_figure(frame: pd.DataFrame, curves: dict[tuple[str, str], Curve], columns: int = 4) -> Figure:
    """Per line, the observed daily conversions and the curve's expected ones over the same days (P10-P90 band)."""
    volume = frame.groupby(["campaign_id", "channel"])["conversions"].sum()
    lines = sorted(key for key in volume.nlargest(MAX_PANELS).index if key in curves)
    columns = max(min(columns, len(lines)), 1)
    rows = max(-(-len(lines) // columns), 1)
    figure = Figure(figsize=(3.2 * columns, 2.2 * rows + 0.8), layout="constrained")
    for panel, key in enumerate(lines, start=1):
        daily = contiguous_days(frame[(frame["campaign_id"] == key[0]) & (frame["channel"] == key[1])])
        low, mid, high = np.quantile(curves[key].expected(daily["spend"].to_numpy(), from_rest=True),
                                     (0.1, 0.5, 0.9), axis=0)
        axes = figure.add_subplot(rows, columns, panel)
        axes.plot(daily.index, daily["conversions"], ".", color="black", markersize=3, label="observed")
        axes.fill_between(daily.index, low, high, color="tab:orange", alpha=0.3, linewidth=0, label="P10-P90")
        axes.plot(daily.index, mid, color="tab:orange", linewidth=1.2, label="fitted")
        axes.set_title(f"{key[0]} {key[1]}", fontsize="small")
        axes.tick_params(labelsize="x-small")
        locator = AutoDateLocator(maxticks=4)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    figure.suptitle("Daily conversions: observed and the fitted response to the observed spend")
    return figure


def _fingerprint(frame: pd.DataFrame) -> str:
    ordered = frame.sort_values(["campaign_id", "channel", "day"], ignore_index=True)
    return hashlib.sha256(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes()).hexdigest()[:16]
