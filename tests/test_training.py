"""Training from the marts: series building, fitting in parts, scoring past forecasts, MLflow tracking and registry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from pulsecast.ml import outputs
from pulsecast.ml.accuracy import degraded_series, score_forecasts
from pulsecast.ml.series import Metric, SeriesSet, build_series, fingerprint
from pulsecast.ml.tracking import (
    CAMPAIGN_FAN_CHARTS,
    CHALLENGER,
    CHAMPION,
    FAN_CHART,
    TrainingParams,
    log_training,
    model_name,
    promote,
)
from pulsecast.ml.training import TrainConfig, assemble, fit_global, fit_local
from pulsecast.settings import PROJECT_ROOT, Settings
from pulsecast.warehouse import connect

FAST = TrainConfig(horizon=7, windows=3, lstm_steps=15, lstm_networks=1)
DAY0 = date(2026, 9, 1)


def daily(ids: list[str], n: int, seed: int = 0) -> pd.DataFrame:
    """Weekly-seasonal counts with noise, one level per series."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range(DAY0, periods=n, freq="D"),
                    "y": 50 * (k + 1) + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 3, n),
                }
            )
            for k, uid in enumerate(ids)
        ],
        ignore_index=True,
    )


def test_fitting_in_parts_gives_the_same_ensemble_as_fitting_at_once() -> None:
    df = pd.concat([daily(["campaign/a", "campaign/b", "total"], 45), daily(["campaign/new"], 10, seed=1)])
    local = {uid: fit_local(group, FAST) for uid, group in df.groupby("unique_id")}
    assembled = assemble(df, FAST, local, fit_global(df, FAST))
    whole = FAST.ensemble().fit(df)

    pd.testing.assert_frame_equal(assembled.predict_members(7), whole.predict_members(7))
    pd.testing.assert_frame_equal(assembled.weights_, whole.weights_)
    assert assembled.fallbacks == whole.fallbacks == {"campaign/new": "too short: 10 points, needs 29"}


def write_marts(path: Path) -> None:
    """campaign_daily and brand_daily as dbt builds them: c1 runs (with a silent day), c2 ended long ago."""
    con = connect(path)
    measures = "events BIGINT, impressions BIGINT, clicks BIGINT, conversions BIGINT, spend DECIMAL, revenue DECIMAL"
    con.execute(f"CREATE SCHEMA marts; CREATE TABLE marts.campaign_daily (day DATE, campaign_id VARCHAR, {measures})")
    con.execute(f"CREATE TABLE marts.brand_daily (day DATE, brand_id VARCHAR, {measures})")
    for offset in range(12):
        day = DAY0 + timedelta(days=offset)
        if offset != 4:  # c1 had no events on day 4
            con.execute("INSERT INTO marts.campaign_daily VALUES (?, 'c1', 10, 8, 2, 1, 1.5, 20)", [day])
        if offset < 2:
            con.execute("INSERT INTO marts.campaign_daily VALUES (?, 'c2', 5, 5, 0, 0, 0.5, 0)", [day])
    con.execute(
        """INSERT INTO marts.brand_daily SELECT day, 'b1', sum(events), sum(impressions), sum(clicks),
           sum(conversions), sum(spend), sum(revenue) FROM marts.campaign_daily GROUP BY day"""
    )
    con.close()


def test_series_are_complete_days_with_silent_days_as_zero_and_inactive_series_skipped(tmp_path: Path) -> None:
    write_marts(tmp_path / "wh.duckdb")
    con = connect(tmp_path / "wh.duckdb", read_only=True)
    series = build_series(con, active_days=7)
    con.close()

    last_complete = DAY0 + timedelta(days=10)  # day 11 holds the newest events: still open
    assert series.through == last_complete
    assert set(series.skipped) == {"campaign/c2"}
    clicks = series.of(Metric.clicks)
    c1 = clicks[clicks["unique_id"] == "campaign/c1"]
    assert c1["ds"].tolist() == list(pd.date_range(DAY0, last_complete, freq="D"))
    assert c1["y"].tolist() == [2.0] * 4 + [0.0] + [2.0] * 6
    spend = series.of(Metric.spend).set_index(["unique_id", "ds"])["y"]
    assert spend[("total", pd.Timestamp(DAY0))] == pytest.approx(2.0)  # both campaigns on day 0
    assert spend[("brand/b1", pd.Timestamp(DAY0))] == pytest.approx(2.0)
    assert set(clicks["unique_id"]) == {"campaign/c1", "brand/b1", "total"}
    assert fingerprint(clicks) == fingerprint(clicks.sample(frac=1, random_state=0))
    assert fingerprint(clicks) != fingerprint(clicks.assign(y=clicks["y"] + 1))


def test_events_without_a_brand_make_no_brand_series(tmp_path: Path) -> None:
    """A campaign missing from the brands' dimension is in brand_daily under a NULL brand: a series with no id
    made every model fail ("no series has a numeric value of y") on a world of such campaigns."""
    write_marts(tmp_path / "wh.duckdb")
    con = connect(tmp_path / "wh.duckdb")
    con.execute("INSERT INTO marts.brand_daily VALUES (?, NULL, 3, 3, 1, 0, 1.0, 0)", [DAY0 + timedelta(days=9)])
    series = build_series(con, active_days=7)
    con.close()

    clicks = series.of(Metric.clicks)
    assert set(clicks["unique_id"]) == {"campaign/c1", "brand/b1", "total"}
    total = clicks[clicks["unique_id"] == "total"].set_index("ds")["y"]
    assert total[pd.Timestamp(DAY0 + timedelta(days=9))] == 3.0, "the total still counts them"


def forecast_frame(run_id: str, uid: str, cutoff: date, yhat: float, scale: float) -> pd.DataFrame:
    days = pd.date_range(cutoff + timedelta(days=1), periods=5, freq="D").date
    return pd.DataFrame(
        {
            "run_id": run_id, "trained_at": pd.Timestamp(cutoff), "metric": "clicks", "unique_id": uid,
            "model": "ensemble", "model_version": "1", "cutoff": cutoff, "ds": days, "yhat": yhat,
            "yhat_lo_80": yhat - 1, "yhat_hi_80": yhat + 1, "yhat_lo_95": yhat - 2, "yhat_hi_95": yhat + 2,
            "scale": scale,
        }
    )


def backtest_frame(run_id: str, uid: str, cutoff: date, mase: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [run_id], "metric": "clicks", "unique_id": uid, "model": "ensemble", "window": 0,
            "cutoff": cutoff, "n": 7, "mase": mase, "smape": 0.1, "coverage_80": 0.8, "winkler_80": 1.0,
            "coverage_95": 0.95, "winkler_95": 2.0,
        }
    )


def test_past_forecasts_are_scored_and_the_newest_degraded_ones_flagged(tmp_path: Path) -> None:
    con = connect(tmp_path / "wh.duckdb")
    outputs.prepare_ml_schema(con)
    cutoff = DAY0 + timedelta(days=9)
    # "steady" kept its promise; "broken" forecast 10 where 14 came (MAE 4, scale 2: MASE 2 against a backtest 0.5).
    series = ("steady", "broken")
    outputs.replace(con, "forecasts", pd.concat([forecast_frame("r1", uid, cutoff, 10, 2) for uid in series]), "r1")
    outputs.replace(con, "backtests", pd.concat([backtest_frame("r1", uid, cutoff, 0.5) for uid in series]), "r1")
    actual_days = pd.date_range(DAY0, cutoff + timedelta(days=3), freq="D")  # 3 of the 5 forecast days arrived
    actuals = pd.concat(
        [
            pd.DataFrame({"metric": "clicks", "unique_id": "steady", "ds": actual_days, "y": 10.5}),
            pd.DataFrame({"metric": "clicks", "unique_id": "broken", "ds": actual_days, "y": 14.0}),
        ]
    )
    scored = score_forecasts(con, SeriesSet(actuals, actual_days[-1].date()), degradation_ratio=1.5, min_scored_days=3)

    rows = scored.set_index("unique_id")
    assert rows.loc["broken", "n"] == 3 and rows.loc["broken", "mae"] == pytest.approx(4.0)
    assert rows.loc["broken", "mase"] == pytest.approx(2.0) and rows.loc["broken", "coverage_95"] == 0.0
    assert rows.loc["steady", "mase"] == pytest.approx(0.25) and rows.loc["steady", "coverage_80"] == 1.0
    assert rows["degraded"].to_dict() == {"broken": True, "steady": False}
    assert degraded_series(scored) == {"clicks": {"broken"}}
    assert con.execute("SELECT count(*) FROM ml.forecast_accuracy").fetchone()[0] == 2

    # A newer run that does well on "broken" clears the flag: the newest scored run decides.
    later = cutoff + timedelta(days=1)
    outputs.replace(con, "forecasts", forecast_frame("r2", "broken", later, 14, 2), "r2")
    outputs.replace(con, "backtests", backtest_frame("r2", "broken", later, 0.5), "r2")
    rescored = score_forecasts(con, SeriesSet(actuals, actual_days[-1].date()), 1.5, min_scored_days=2)
    assert degraded_series(rescored) == {}
    assert con.execute("SELECT count(*) FROM ml.forecast_accuracy").fetchone()[0] == 3, "rewritten, not appended"
    con.close()


def test_training_is_logged_registered_promoted_only_when_better_and_reloads(settings: Settings) -> None:
    df = daily(["campaign/a", "total"], 40)
    ensemble = FAST.ensemble().fit(df)
    forecasts = ensemble.predict_members(7)
    params = TrainingParams.of(df, df["ds"].max().date(), FAST, ensemble, refitted=set())
    tracked = log_training(settings, "clicks", ensemble, df, forecasts, params)

    client = MlflowClient(settings.mlflow_uri)
    run = client.get_run(tracked.run_id)
    assert run.data.params["horizon"] == "7"
    assert {"ensemble_mase", "lstm_mase", "prophet_coverage_80", "seasonal_naive_winkler_95"} <= set(run.data.metrics)
    assert run.data.metrics["ensemble_mase"] == pytest.approx(tracked.mase)
    artifacts = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert {FAN_CHART, CAMPAIGN_FAN_CHARTS, "backtest.json", "backtest_scores.json"} <= artifacts
    experiment = client.get_experiment(tracked.experiment_id)
    assert experiment.name == "pulsecast-clicks"
    assert experiment.artifact_location.startswith(settings.mlflow_artifacts.as_uri()), "artifacts stay under data/"

    name = model_name("clicks")
    assert tracked.promoted and str(client.get_model_version_by_alias(name, CHAMPION).version) == tracked.version
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    reloaded = loaded.predict(pd.DataFrame({"h": [3]}))
    pd.testing.assert_frame_equal(reloaded.reset_index(drop=True), ensemble.predict(3), check_dtype=False)

    assert_loads_beside_another_models_package(settings, f"models:/{name}@{CHAMPION}", reloaded)

    again = log_training(settings, "clicks", ensemble, df, forecasts, params)
    assert not again.promoted, f"an equal backtest error does not beat the champion: {again.decision}"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == tracked.version
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == again.version

    promoted, decision = promote(client, name, again.version, tracked.mase - 0.01)
    assert promoted and "beats" in decision
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == again.version
    assert CHALLENGER not in client.get_registered_model(name).aliases


def test_without_a_champion_a_version_serves_only_if_it_beats_seasonal_naive(settings: Settings) -> None:
    client = MlflowClient(settings.mlflow_uri)
    name = "pulsecast-test-baseline"
    client.create_registered_model(name)
    source = settings.data_dir.resolve().as_uri()  # no artifact is read: only aliases and tags change
    versions = [client.create_model_version(name, source=source).version for _ in range(2)]

    promoted, decision = promote(client, name, versions[0], mase=1.2, baseline=1.1)
    assert not promoted and "does not beat seasonal naive's 1.1000" in decision
    assert CHAMPION not in client.get_registered_model(name).aliases
    promoted, _ = promote(client, name, versions[1], mase=0.9, baseline=1.1)
    assert promoted and str(client.get_model_version_by_alias(name, CHAMPION).version) == str(versions[1])


FRESH_ENVIRONMENT = """
import importlib, sys
models = importlib.import_module("models")  # the web app's own package, imported first
assert models.APP == "someone else's", models.__file__
sys.meta_path[:] = [f for f in sys.meta_path if "pulsecast" not in type(f).__module__]  # no installed Pulsecast
sys.path[:] = [p for p in sys.path if p.rstrip("/") != sys.argv[2]]  # nor the checkout
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[3])
model.predict(pd.DataFrame({"h": [3]})).to_json(sys.argv[4])
assert models.APP == "someone else's" and not sys.modules["pulsecast"].__file__.startswith(sys.argv[2])
"""


def assert_loads_beside_another_models_package(settings: Settings, uri: str, expected: pd.DataFrame) -> None:
    """A fresh process with its own top-level `models` package and no Pulsecast loads the model from its logged
    code (`pulsecast.models` travels with it) and forecasts the same."""
    app = settings.data_dir / "webapp"
    (app / "models").mkdir(parents=True)
    (app / "models" / "__init__.py").write_text('APP = "someone else\'s"\n')
    out = app / "forecast.json"
    subprocess.run(
        [sys.executable, "-c", FRESH_ENVIRONMENT, settings.mlflow_uri, str(PROJECT_ROOT), uri, str(out)],
        cwd=app, env=os.environ | {"PYTHONPATH": str(app)}, check=True,
    )  # fmt: skip
    forecast = pd.read_json(out)
    assert len(forecast) == len(expected)
    np.testing.assert_allclose(forecast["yhat"], expected["yhat"].to_numpy())


def test_a_warehouse_without_marts_has_no_series(tmp_path: Path) -> None:
    con = connect(tmp_path / "wh.duckdb")
    con.execute("CREATE SCHEMA marts")
    series = build_series(con)
    con.close()
    assert series.through is None and series.df.empty
