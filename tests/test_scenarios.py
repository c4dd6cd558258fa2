"""Cumulative scenarios: calibration on a synthetic family with known noise, totals against a Monte-Carlo truth,
and the rows read from a real DuckDB warehouse."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
import scenarios_support as support

from pulsecast.ml.outlook import scenarios as sc


@pytest.fixture(scope="module")
def family() -> sc.Calibration:
    rng = np.random.default_rng(3)
    cumulative = sc.cumulative_backtests(support.backtest(rng, "clicks", series=80, sigma=0.4, rho=0.6))
    return sc.calibrate(cumulative)[("clicks", "campaign")]


def test_measured_frequency_of_each_band_is_near_its_stated_probability(family):
    measured = sc.measured_bands(family)
    assert set(measured["n"]) == {480}
    gaps = (measured["measured"] - measured["stated"]).abs()
    assert gaps.max() < 0.08, measured[gaps >= 0.08]
    assert measured.groupby("k")["measured"].sum().round(9).eq(1).all()


def test_cumulative_intervals_match_a_monte_carlo_truth(family):
    level, sigma, rho = 50.0, 0.4, 0.6
    distribution = sc.CumulativeDistribution("c00", "clicks", support.CUTOFF, np.full(14, level), family)
    truth = level * np.exp(support.noise(np.random.default_rng(11), 20000, 14, sigma, rho))
    for k in (3, 7, 14):
        expected = np.quantile(truth[:, :k].sum(axis=1), [0.2, 0.5, 0.8])
        np.testing.assert_allclose(distribution.quantile(k, [0.2, 0.5, 0.8]), expected, rtol=0.06)
        assert distribution.prob_at_least(k, expected[1]) == pytest.approx(0.5, abs=0.06)
    # what summing daily quantiles would say is clearly wrong: the daily P20s add up far below the total's P20
    daily_p20 = np.quantile(truth[:, 0], 0.2) * 14
    assert daily_p20 < 0.95 * np.quantile(truth.sum(axis=1), 0.2)


def test_a_one_series_family_is_measured_on_windows_that_do_not_overlap():
    rng = np.random.default_rng(5)
    frame = support.backtest(rng, "spend", series=1, windows=12, prefix="total")
    calibration = sc.calibrate(sc.cumulative_backtests(frame))[("spend", "total")]
    for held, training in calibration.folds():
        gaps = np.abs((training.cutoffs - calibration.cutoffs[held][0]) / np.timedelta64(1, "D"))
        assert (gaps >= 14).all() and len(training.cutoffs) > 0


def test_spread_beyond_the_backtests_never_narrows(family):
    distribution = sc.CumulativeDistribution("c00", "clicks", support.CUTOFF, np.full(14, 50.0), family)
    ratio = [np.subtract(*distribution.quantile(k, [0.8, 0.2])) / distribution.forecast(k) for k in (14, 28, 60)]
    assert ratio[0] <= ratio[1] + 1e-12 <= ratio[2] + 2e-12
    assert distribution.forecast(28) == pytest.approx(50.0 * 28)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(9)
    metrics = sc.METRICS
    backtests = pd.concat([support.backtest(rng, metric, series=8) for metric in metrics], ignore_index=True)
    forecasts = {(c, m): 10.0 for c in ("a", "b", "gone") for m in metrics}
    daily = support.daily_totals({"a": {"conversions": 30.0, "spend": 100.0}, "b": {}})
    pacing = pd.DataFrame(
        [
            support.pacing_row("a", end_date=support.CUTOFF + timedelta(days=40)),
            support.pacing_row("b", end_date=support.CUTOFF + timedelta(days=10)),
            support.pacing_row("gone", end_date=support.CUTOFF),
        ]
    )
    path = support.warehouse(tmp_path_factory.mktemp("scenarios") / "w.duckdb", backtests, forecasts, daily, pacing)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_scenario_rows_from_the_warehouse(world):
    rows = sc.scenarios(world, run_id="r1")
    assert list(rows.columns) == list(sc.COLUMNS)
    assert set(rows["campaign_id"]) == {"a", "b"}  # "gone" ended on the cutoff
    a = rows[(rows["campaign_id"] == "a") & (rows["metric"] == "conversions")]
    assert set(a["span"]) == {"horizon", "to_end"} and (a["to_date"] == 30.0).all()
    to_end = a[a["span"] == "to_end"].set_index("scenario")
    assert to_end["days"].eq(40).all() and to_end["extrapolated"].all()
    assert to_end.loc["realistic", "through_date"] == date(2027, 1, 9)
    assert to_end.loc["pessimistic", "upper"] == to_end.loc["realistic", "lower"]
    assert to_end.loc["realistic", "upper"] == to_end.loc["optimistic", "lower"]
    assert np.isnan(to_end.loc["optimistic", "upper"])
    b = rows[(rows["campaign_id"] == "b") & (rows["span"] == "horizon")]
    assert b["days"].eq(10).all() and not b["extrapolated"].any()  # cut at the end date
    assert rows.groupby(["campaign_id", "metric", "span"])["stated_probability"].sum().round(9).eq(1).all()
    assert rows["measured_probability"].between(0, 1).all() and rows["calibration_n"].eq(48).all()


def test_market_adjustment_scales_the_outcome_and_is_stored(world):
    adjustments = pd.DataFrame([{"campaign_id": "a", "metric": "clicks", "factor": 0.8, "evidence": "sov +12 pts"}])
    plain = sc.scenarios(world).set_index(["campaign_id", "metric", "span", "scenario"])
    moved = sc.scenarios(world, adjustments).set_index(["campaign_id", "metric", "span", "scenario"])
    key = ("a", "clicks", "horizon", "realistic")
    assert moved.loc[key, "value"] == pytest.approx(0.8 * plain.loc[key, "value"])
    assert moved.loc[key, "market_factor"] == 0.8 and moved.loc[key, "market_evidence"] == "sov +12 pts"
    other = ("b", "clicks", "horizon", "realistic")
    assert moved.loc[other, "value"] == plain.loc[other, "value"] and moved.loc[other, "market_factor"] == 1.0
