"""MLflow: one experiment per target metric, a run per training, a registered model with champion/challenger.

Each run records the training parameters, every model's backtest metrics (`<model>_mase`, ...), fan charts
with the ensemble's intervals (the total series, and one grid of every campaign), the backtest tables, and the
fitted ensemble as a pyfunc model registered as `pulsecast-<metric>`. The new version is the `challenger`; it
takes the `champion` alias only if its backtest MASE (mean over series) beats the champion's, or, while there is
no champion, seasonal naive's on the same backtests.
Loading: `mlflow.pyfunc.load_model("models:/pulsecast-clicks@champion").predict(pd.DataFrame({"h": [7]}))`;
the model is logged from code (`ml/registered_model.py`) with the forecasting package beside the pickled
ensemble, under its own name `pulsecast.models`, so it loads without Pulsecast installed and beside any other
`models` package.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from importlib import metadata
from pathlib import Path

import cloudpickle
import mlflow
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, DataType, Schema

from pulsecast import models
from pulsecast.ml.series import fingerprint
from pulsecast.ml.training import TrainConfig, code_version
from pulsecast.models.base import LEVELS
from pulsecast.models.ensemble import BASELINE, ENSEMBLE, Ensemble
from pulsecast.models.metrics import summarize
from pulsecast.settings import Settings

CHAMPION, CHALLENGER = "champion", "challenger"
SELECTION_METRIC = f"{ENSEMBLE}_mase"
MAIN_SERIES = "total"
FAN_CHART, CAMPAIGN_FAN_CHARTS = "fan_chart.png", "campaign_fan_charts.png"
MAX_CAMPAIGN_PANELS = 48
"""Campaigns the per-campaign grid shows at most (the busiest in the weeks shown): one readable figure per run."""
DESCRIPTION = (
    "Daily {metric} forecasts for every active campaign, brand and the total: the backtest-weighted, conformally "
    "calibrated ensemble of seasonal naive, AutoETS, Theta, AutoARIMA, MSTL, Prophet and an LSTM. Input: one row "
    "with `h` (days ahead, at most the trained horizon). Output: unique_id, ds, yhat and 80 %/95 % intervals. "
    "`champion` serves; a new version is the `challenger` until its backtest MASE beats the champion's "
    "(tags backtest_mase, decision)."
)
MODEL_CODE = Path(__file__).with_name("registered_model.py")
MODELS_PACKAGE = Path(models.__file__).parent
_REQUIREMENTS = [
    "mlflow", "pandas", "numpy", "torch", "prophet", "statsforecast", "utilsforecast", "holidays", "cloudpickle"
]


def model_name(metric: str) -> str:
    return f"pulsecast-{metric}"


@dataclass(frozen=True)
class TrainingParams:
    """What an MLflow run records about how it was trained: enough to tell two runs apart and redo one."""

    through: date
    horizon: int
    backtest_windows: int
    members: str
    series: int
    fallback_series: int
    data_fingerprint: str
    config_key: str
    code_version: str
    retrained_degraded: str = "none"
    prefect_flow_run: str = "none"

    @classmethod
    def of(
        cls, df: pd.DataFrame, through: date, config: TrainConfig, ensemble: Ensemble, refitted: set[str],
        flow_run: str | None = None,
    ) -> TrainingParams:  # fmt: skip
        """The parameters of training `ensemble` on `df` (one metric's series, complete through `through`)."""
        return cls(
            through=through,
            horizon=config.horizon,
            backtest_windows=config.windows,
            members=",".join(config.members()),
            series=df["unique_id"].nunique(),
            fallback_series=len(ensemble.fallbacks),
            data_fingerprint=fingerprint(df),
            config_key=config.key(),
            code_version=code_version(),
            retrained_degraded=",".join(sorted(refitted)) or "none",
            prefect_flow_run=flow_run or "none",
        )

    def run_name(self, metric: str) -> str:
        return f"{metric} through {self.through}"


@dataclass(frozen=True)
class TrackedRun:
    """Where a training landed in MLflow and what the registry decided."""

    metric: str
    run_id: str
    experiment_id: str
    version: str
    mase: float
    promoted: bool
    decision: str

    @property
    def registry(self) -> str:
        return f"v{self.version}: {CHAMPION if self.promoted else CHALLENGER}"

    def url(self, ui: str) -> str:
        return f"{ui.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


def experiment_id(client: MlflowClient, settings: Settings, metric: str) -> str:
    """The metric's experiment, created with its artifacts under the data folder (not ./mlruns)."""
    name = model_name(metric)
    if (experiment := client.get_experiment_by_name(name)) is not None:
        return experiment.experiment_id
    location = (settings.mlflow_artifacts / metric).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location, tags={"metric": metric})


def log_training(
    settings: Settings,
    metric: str,
    ensemble: Ensemble,
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    params: TrainingParams,
) -> TrackedRun:
    """Log one training run of `metric`, register its ensemble and apply the promotion rule."""
    mlflow.set_tracking_uri(settings.mlflow_uri)
    client = MlflowClient(settings.mlflow_uri)
    summary = summarize(ensemble.scores_)
    metrics = {
        f"{row['model']}_{name}": float(value)
        for row in summary.to_dict("records")
        for name, value in row.items()
        if name not in ("model", "series") and not pd.isna(value)
    }
    with mlflow.start_run(experiment_id=experiment_id(client, settings, metric), run_name=params.run_name(metric)):
        mlflow.log_params(asdict(params))
        mlflow.log_metrics(metrics)
        mlflow.log_figure(fan_chart(metric, history, forecasts), FAN_CHART)
        if (grid := campaign_fan_charts(metric, history, forecasts)) is not None:
            mlflow.log_figure(grid, CAMPAIGN_FAN_CHARTS)
        if not ensemble.backtest_.empty:
            mlflow.log_table(ensemble.backtest_.astype({"ds": str, "cutoff": str}), "backtest.json")
            mlflow.log_table(ensemble.scores_, "backtest_scores.json")
        info = _log_ensemble(metric, ensemble, forecasts)
        run = mlflow.active_run()
    mase = metrics.get(SELECTION_METRIC, math.nan)
    version = str(info.registered_model_version)
    client.update_registered_model(model_name(metric), description=DESCRIPTION.format(metric=metric))
    baseline = metrics.get(f"{BASELINE}_mase", math.nan)
    promoted, decision = promote(client, model_name(metric), version, mase, baseline)
    return TrackedRun(metric, run.info.run_id, run.info.experiment_id, version, mase, promoted, decision)


def _log_ensemble(metric: str, ensemble: Ensemble, forecasts: pd.DataFrame) -> ModelInfo:
    """The ensemble as a registered pyfunc model: the code file, the pickled ensemble and `pulsecast.models`."""
    with tempfile.TemporaryDirectory() as scratch:
        pickled = Path(scratch) / "ensemble.pkl"
        pickled.write_bytes(cloudpickle.dumps(ensemble))
        namespace = Path(scratch) / "pulsecast"  # the pickle names classes as pulsecast.models.<module>.<class>
        shutil.copytree(MODELS_PACKAGE, namespace / "models", ignore=shutil.ignore_patterns("__pycache__"))
        (namespace / "__init__.py").touch()
        return mlflow.pyfunc.log_model(
            name="ensemble",
            python_model=MODEL_CODE,
            artifacts={"ensemble": str(pickled)},
            code_paths=[str(namespace)],
            registered_model_name=model_name(metric),
            signature=signature(forecasts),
            input_example=pd.DataFrame({"h": [ensemble.horizon]}),
            pip_requirements=[f"{package}=={metadata.version(package)}" for package in _REQUIREMENTS],
        )


def signature(forecasts: pd.DataFrame) -> ModelSignature:
    """Input: one row with the integer `h`; output: the forecast contract's columns."""
    output = infer_signature(forecasts.head(1).drop(columns="model")).inputs
    return ModelSignature(inputs=Schema([ColSpec(DataType.long, "h")]), outputs=output)


def promote(
    client: MlflowClient, name: str, version: str, mase: float, baseline: float = math.nan
) -> tuple[bool, str]:
    """Make `version` the challenger; it becomes champion only by beating the champion's backtest MASE, or,
    with no champion yet, seasonal naive's (`baseline`) on the same backtests: a model that loses to
    repeating last week never serves. Without a baseline score (nothing backtested) the first version serves."""
    client.set_model_version_tag(name, version, "backtest_mase", repr(mase))  # round-trips exactly
    client.set_registered_model_alias(name, CHALLENGER, version)
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champion = None
    if champion is None and math.isnan(baseline):
        promoted, decision = True, f"no champion yet and no baseline scored: champion with backtest MASE {mase:.4f}"
    elif champion is None:
        promoted = mase < baseline
        verdict = "beats" if promoted else "does not beat"
        decision = f"no champion yet: backtest MASE {mase:.4f} {verdict} seasonal naive's {baseline:.4f}"
    else:
        held = float(champion.tags.get("backtest_mase", "nan"))
        promoted = mase < held
        verdict = "beats" if promoted else "does not beat"
        decision = f"backtest MASE {mase:.4f} {verdict} champion v{champion.version}'s {held:.4f}"
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
    client.set_model_version_tag(name, version, "decision", decision)
    return promoted, decision


def fan_chart(metric: str, history: pd.DataFrame, forecasts: pd.DataFrame, weeks: int = 8) -> Figure:
    """The total series' recent history and the ensemble forecast with its 80 % and 95 % intervals."""
    figure = Figure(figsize=(9, 4), layout="constrained")
    axes = figure.add_subplot()
    draw_fan(axes, history, forecasts, MAIN_SERIES, weeks)
    axes.set_title(f"{metric}, all campaigns: history and forecast")
    axes.legend(loc="upper left", fontsize="small")
    return figure


def campaign_fan_charts(
    metric: str, history: pd.DataFrame, forecasts: pd.DataFrame, weeks: int = 4, columns: int = 4
) -> Figure | None:
    """One small fan chart per campaign in one figure (None without campaign series): what an analyst opens to
    see every campaign's forecast at once. Beyond `MAX_CAMPAIGN_PANELS` only the busiest campaigns are shown."""
    recent = history[history["ds"] > history["ds"].max() - pd.Timedelta(weeks=weeks)]
    forecast_ids = forecasts.loc[forecasts["unique_id"].str.startswith("campaign/"), "unique_id"].unique()
    volume = recent[recent["unique_id"].isin(forecast_ids)].groupby("unique_id")["y"].sum()
    campaigns = sorted(volume.nlargest(MAX_CAMPAIGN_PANELS).index)
    if not campaigns:
        return None
    columns = min(columns, len(campaigns))
    rows = -(-len(campaigns) // columns)
    figure = Figure(figsize=(3.2 * columns, 2.2 * rows + 0.8), layout="constrained")
    for panel, unique_id in enumerate(campaigns, start=1):
        axes = figure.add_subplot(rows, columns, panel)
        draw_fan(axes, history, forecasts, unique_id, weeks)
        axes.set_title(unique_id.removeprefix("campaign/"), fontsize="small")
        axes.tick_params(labelsize="x-small")
    shown = f", the {len(campaigns)} busiest of {len(volume)}" if len(volume) > len(campaigns) else ""
    figure.suptitle(f"{metric} per campaign{shown}: the last {weeks} weeks and the ensemble forecast")
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize="small")
    return figure


def draw_fan(axes: Axes, history: pd.DataFrame, forecasts: pd.DataFrame, unique_id: str, weeks: int) -> None:
    """One series' last `weeks` of actuals and the ensemble median with its 80 % and 95 % bands."""
    past = history[history["unique_id"] == unique_id].tail(weeks * 7)
    ahead = forecasts[(forecasts["unique_id"] == unique_id) & (forecasts["model"] == ENSEMBLE)]
    axes.plot(past["ds"], past["y"], color="black", linewidth=1, label="actual")
    for level, alpha in zip(sorted(LEVELS, reverse=True), (0.2, 0.35), strict=False):
        low, high = ahead[f"yhat_lo_{level}"], ahead[f"yhat_hi_{level}"]
        axes.fill_between(ahead["ds"], low, high, color="tab:blue", alpha=alpha, linewidth=0, label=f"{level} %")
    axes.plot(ahead["ds"], ahead["yhat"], color="tab:blue", linewidth=1.5, label="ensemble forecast")
    locator = AutoDateLocator(maxticks=5)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
