"""Training one metric's ensemble in parts, so the train flow can fan it out and cache each part.

Local members (seasonal naive, the statsforecast methods, Prophet) see one series at a time: `fit_local`
backtests and fits them on a single series, in its own task. The LSTM is global (one network over every
series): `fit_global` does it once per metric. `assemble` joins the parts into an `Ensemble` identical to
`Ensemble.fit` on the same data (unpruned: see `TrainConfig.ensemble`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field

from pulsecast.ml.series import Metric
from pulsecast.models.base import LEVELS, Forecaster, ModelFactory
from pulsecast.models.ensemble import DEFAULT_WINDOWS, Ensemble, default_members
from pulsecast.models.stacked import Stacked

FREQ = "D"
_CODE = [Path(__file__).resolve().parent.parent / "models", Path(__file__).resolve()]


class TrainConfig(BaseModel):
    """What a training run does; every field shows up as a typed parameter in the Prefect UI."""

    metrics: list[Metric] = Field(default=list(Metric), description="Target metrics, one MLflow experiment each.")
    horizon: int = Field(default=14, ge=1, le=90, description="Days ahead to forecast.")
    windows: int = Field(
        default=DEFAULT_WINDOWS,
        ge=3,
        le=10,
        description="Rolling-origin backtest windows, half a horizon apart (a horizon apart if 3).",
    )
    active_days: int = Field(
        default=7, ge=1, description="Series without events in this many recent days are not forecast."
    )
    degradation_ratio: float = Field(
        default=1.5,
        gt=1,
        description="A series is flagged when its realised MASE exceeds its backtest MASE by this factor.",
    )
    min_scored_days: int = Field(default=3, ge=1, description="Actuals needed before a forecast is judged.")
    lstm_steps: int = Field(
        default=400, ge=1, description="Gradient steps per LSTM network: a budget, whatever the data size."
    )
    lstm_networks: int = Field(default=3, ge=1, description="LSTM networks averaged per fit.")
    seed: int = 0

    def members(self) -> dict[str, ModelFactory]:
        """The ensemble's members (`models.ensemble.default_members`) with this run's LSTM settings."""
        return default_members(self.horizon, LEVELS, self.seed, steps=self.lstm_steps, networks=self.lstm_networks)

    def ensemble(self) -> Ensemble:
        """Unpruned: each series' local members are backtested in their own task, before any metric-wide
        judgement of the members could be made."""
        return Ensemble(
            FREQ, horizon=self.horizon, members=self.members(), n_windows=self.windows, prune=False, seed=self.seed
        )

    def local_members(self) -> dict[str, ModelFactory]:
        """The members fitted one series per task (`Forecaster.is_global` false)."""
        return {name: factory for name, factory in self.members().items() if not is_global(factory)}

    def global_members(self) -> dict[str, ModelFactory]:
        """The members fitted once on every series of a metric (`Forecaster.is_global` true)."""
        return {name: factory for name, factory in self.members().items() if is_global(factory)}

    def key(self) -> str:
        """What changes the models: everything except which metrics are trained."""
        return hashlib.sha256(self.model_dump_json(exclude={"metrics"}).encode()).hexdigest()[:12]


def is_global(factory: ModelFactory) -> bool:
    """Whether the forecaster `factory` builds is global; building an unfitted one costs nothing (but imports it)."""
    return factory(FREQ).is_global


@cache
def code_version() -> str:
    """A hash of the forecasting code, so a cached fit is reused only by the code that made it."""
    digest = hashlib.sha256()
    for path in sorted(p for root in _CODE for p in ([root] if root.is_file() else root.rglob("*.py"))):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class MemberFit:
    """Backtest rows (None when no series was long enough) and fitted members, for some series."""

    cv: pd.DataFrame | None
    fitted: dict[str, Forecaster]


def _fit(df: pd.DataFrame, config: TrainConfig, members: dict[str, ModelFactory]) -> MemberFit:
    ensemble = config.ensemble()
    return MemberFit(*ensemble.backtest_and_fit(*ensemble.screen(df), members))


def fit_local(df: pd.DataFrame, config: TrainConfig) -> MemberFit:
    """The local members, backtested and fitted on the series in `df` (the flow passes one series)."""
    return _fit(df, config, config.local_members())


def fit_global(df: pd.DataFrame, config: TrainConfig) -> MemberFit:
    """The global members (the LSTM), backtested and fitted on every series of a metric at once."""
    return _fit(df, config, config.global_members())


def assemble(df: pd.DataFrame, config: TrainConfig, local: dict[str, MemberFit], shared: MemberFit) -> Ensemble:
    """The ensemble of `df`'s series from per-series local fits (keyed by unique_id) and the global fit."""
    ensemble = config.ensemble()
    _, usable = ensemble.screen(df)
    parts = [fit.cv for fit in [*local.values(), shared] if fit.cv is not None]
    cv = pd.concat(parts, ignore_index=True) if parts else None
    fitted = {
        name: Stacked({(uid,): fit.fitted[name] for uid, fit in local.items()}) for name in config.local_members()
    }
    return ensemble.assemble(usable, cv, fitted | shared.fitted)
