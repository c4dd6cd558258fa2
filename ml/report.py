"""What a training run did, as a `Report` the train flow publishes and the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pulsecast.ml.outputs import FORECAST_MART
from pulsecast.ml.series import SeriesSet
from pulsecast.ml.tracking import CAMPAIGN_FAN_CHARTS, FAN_CHART, TrackedRun
from pulsecast.report import Report, Table


@dataclass(frozen=True)
class MetricTraining:
    """One metric's training: where it landed in MLflow and its backtest summary (one row per model)."""

    run: TrackedRun
    summary: pd.DataFrame


def training_report(
    series: SeriesSet, trained: list[MetricTraining], refitted: dict[str, set[str]], mlflow_ui: str, published: Path
) -> Report:
    """What was trained, how well it backtested, and where a person sees the forecasts: the fan charts in MLflow
    and the forecast mart in the snapshot `published`."""
    rows = []
    for metric in trained:
        where = {"registry": metric.run.registry, "mlflow_run": metric.run.url(mlflow_ui)}
        rows += [
            {
                "metric": metric.run.metric,
                "model": row["model"],
                "mase": round(row["mase"], 3),
                "smape": round(row["smape"], 3),
                "coverage_80": round(row["coverage_80"], 3),
                "coverage_95": round(row["coverage_95"], 3),
                "series": int(row["series"]),
            }
            | where
            for row in metric.summary.to_dict("records")
        ] or [{"metric": metric.run.metric, "model": "none backtested: every series too short"} | where]
    skipped = f"{len(series.skipped)} inactive series not forecast" if series.skipped else "no inactive series"
    return Report(
        "Training",
        [
            f"Data through {series.through}; {skipped}; retrained as degraded: {refitted or 'none'}.",
            *(f"{m.run.metric}: {m.run.decision}." for m in trained),
            "Backtest accuracy per metric and model is the mean over series. MLflow UI: `make mlflow`.",
            f"Fan charts in each metric's MLflow run: `{FAN_CHART}` (the total) and `{CAMPAIGN_FAN_CHARTS}` (every "
            "campaign: actuals, ensemble median, 80 % and 95 % bands).",
            f"Actuals beside these forecasts: `marts.{FORECAST_MART}`, published in {published.name} "
            "(`pulsecast metrics forecast --campaign <id>`).",
        ],
        [Table("Backtest accuracy", rows, "Nothing trained.")],
    )
