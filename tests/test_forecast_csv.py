"""`pulsecast forecast-csv` as a user runs it: real subprocesses, real files, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PULSECAST = str(Path(sys.executable).parent / "pulsecast")
COLUMNS = ["unique_id", "ds", "model", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
MODELS = {"seasonal_naive", "autoets", "theta", "autoarima", "mstl", "prophet", "lstm", "ensemble"}


def forecast_csv(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PULSECAST_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    command = [PULSECAST, "forecast-csv", *map(str, args)]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)


def daily_csv(path: Path, n: int, newline: str, ids: tuple[str, ...] = ()) -> Path:
    """Weekly-seasonal daily series, rows shuffled, two days missing, written with the given line ending."""
    rng = np.random.default_rng(5)
    frames = []
    for k, uid in enumerate(ids or ("",)):
        t = np.arange(n)
        y = 100 + 10 * k + 8 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n)
        frame = pd.DataFrame(
            {"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"), "y": y}
        )
        frames.append(frame.drop(index=[20, 41]))
    frame = pd.concat(frames).sample(frac=1, random_state=1)
    if not ids:
        frame = frame.drop(columns="unique_id")
    path.write_text(frame.to_csv(index=False, lineterminator=newline))
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_crlf_unsorted_file_with_gaps_gets_every_model_and_backtest_metrics(tmp_path: Path) -> None:
    source = daily_csv(tmp_path / "series.csv", 100, "\r\n")
    out, metrics = tmp_path / "out" / "forecast.csv", tmp_path / "metrics.json"
    result = forecast_csv(source, "--horizon", "7", "--output", out, "--metrics-json", metrics, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ensemble" in result.stdout and "mase" in result.stdout.lower()

    document = json.loads(metrics.read_text())
    forecasts = pd.read_csv(out)
    assert list(forecasts.columns) == COLUMNS
    assert set(forecasts["model"]) == MODELS - set(document["pruned"])  # pruned members are scored, not forecast
    assert forecasts.groupby("model").size().eq(7).all()
    assert set(forecasts["ds"]) == {f"2024-04-{day:02d}" for day in range(10, 17)}
    bounds = forecasts[["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]].to_numpy()
    assert (np.diff(bounds, axis=1) >= 0).all()

    assert set(document["models"]) == MODELS
    assert document["freq"] == "D" and document["steps_filled"] == 2
    for scores in document["models"].values():
        assert scores["mase"] > 0 and 0 <= scores["coverage_80"] <= 1


def test_several_series_with_cr_line_endings_and_a_given_frequency(tmp_path: Path) -> None:
    source = daily_csv(tmp_path / "series.csv", 80, "\r", ids=("north", "south"))
    out = tmp_path / "forecast.csv"
    result = forecast_csv(source, "--horizon", "5", "--output", out, "--freq", "D", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    forecasts = pd.read_csv(out)
    forecast = set(forecasts["model"])
    assert {"seasonal_naive", "ensemble"} <= forecast <= MODELS
    assert forecasts.groupby(["unique_id", "model"]).size().to_dict() == {
        (uid, model): 5 for uid in ("north", "south") for model in forecast
    }


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("date,value\n2024-01-01,1\n2024-01-02,2\n", ("must have columns ds,y or unique_id,ds,y", "date,value")),
        ("ds,y\n2024-01-01,1\n", ("too few rows",)),
        ("ds,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 20)), ("too few rows", "need")),
        ("ds,y\n2024-01-01,1\nyesterday,2\n2024-01-03,3\n", ("ds cannot be read", "'yesterday'", "data row 2")),
        ("ds,y\n2024-01-01,1\n2024-01-02,lots\n2024-01-03,3\n", ("y cannot be read", "'lots'")),
        ("", ("not a readable CSV",)),
    ],
    ids=["wrong-columns", "one-row", "too-short-for-backtests", "bad-date", "bad-value", "empty-file"],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(
    content: str, fragments: tuple[str, ...], tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(content)
    result = forecast_csv(source, "--horizon", "7", "--output", tmp_path / "out.csv", tmp_path=tmp_path)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_file_and_an_unknown_frequency_are_refused(tmp_path: Path) -> None:
    missing = forecast_csv(tmp_path / "nope.csv", "--horizon", "7", "--output", tmp_path / "o.csv", tmp_path=tmp_path)
    assert_one_line_error(missing, "no such file", "nope.csv")
    source = daily_csv(tmp_path / "series.csv", 60, "\n")
    unknown = forecast_csv(
        source, "--horizon", "7", "--output", tmp_path / "o.csv", "--freq", "fortnightly", tmp_path=tmp_path
    )
    assert_one_line_error(unknown, "unknown frequency 'fortnightly'")
