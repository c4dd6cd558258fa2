"""The code of the registered forecasting model, logged with MLflow's "models from code".

MLflow runs this file when the model is loaded; the fitted ensemble itself is an artifact beside it. The
ensemble's classes come from `pulsecast.models`, which is logged with the model (`code_paths`), so the
registered model loads wherever its pip requirements are installed, without Pulsecast.
"""

from __future__ import annotations

from typing import Any

import cloudpickle
import mlflow
import pandas as pd


class EnsembleForecaster(mlflow.pyfunc.PythonModel):
    """Input: one row with `h` (steps ahead, at most the trained horizon). Output: the ensemble forecast of every
    series in the contract's columns (unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95)."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["ensemble"], "rb") as handle:
            self.ensemble = cloudpickle.load(handle)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.ensemble.predict(int(model_input["h"].iloc[0]))


mlflow.models.set_model(EnsembleForecaster())
