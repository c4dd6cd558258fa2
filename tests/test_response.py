"""Response curves (ml/response.py): known adstock + Hill curves are recovered with honest intervals, spend
beyond what was observed is flagged and widened, and bad input fails clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from pulsecast.generator import WorldConfig
from pulsecast.generator.dynamics import adstock, hill
from pulsecast.generator.replay import baseline
from pulsecast.ml.response import WIDEN_PER_LOG, fit, predict, read_daily
from pulsecast.ml.response_tracking import CURVES_TABLE, FITS_FIGURE, curve_table, log_fit

DAYS = 120
LINES = {  # channel: (beta, half_saturation, shape, decay, typical daily spend)
    "search": (40.0, 250.0, 1.8, 0.4, 100.0),
    "social": (25.0, 900.0, 1.3, 0.2, 500.0),
    "display": (15.0, 120.0, 2.2, 0.6, 40.0),
}


def _truth(channel: str, spend: float) -> float:
    beta, half, shape, decay, _ = LINES[channel]
    return float(beta * hill(np.array(spend / (1 - decay)), half, shape))


def _steady(curves, channel: str, spend: float) -> pd.Series:
    days = curves[("c1", channel)].plan_days(60)
    plan = pd.DataFrame({"campaign_id": "c1", "channel": channel, "day": days, "spend": spend})
    return predict(curves, plan).iloc[-1]


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    """Daily Poisson conversions of known curves, with a launch ramp and lognormal pacing noise."""
    rng = np.random.default_rng(5)
    frames = []
    for channel, (beta, half, shape, decay, typical) in LINES.items():
        spend = typical * np.exp(rng.normal(0, 0.35, DAYS)) * np.minimum(1, (np.arange(DAYS) + 5) / 30)
        conversions = rng.poisson(beta * hill(adstock(spend[:, None], np.array([decay]))[:, 0], half, shape))
        frames.append(pd.DataFrame({"campaign_id": "c1", "channel": channel,
                                    "day": pd.date_range("2026-01-01", periods=DAYS), "spend": spend,
                                    "conversions": conversions, "revenue": conversions * 50.0}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def curves(synthetic):
    return fit(synthetic, samples=40)


def test_fit_recovers_known_curves_within_the_observed_range(curves):
    for channel, line in LINES.items():
        for multiplier in (0.7, 1.0, 1.3):
            true = _truth(channel, multiplier * line[4])
            assert _steady(curves, channel, multiplier * line[4])["conversions_p50"] == pytest.approx(true, rel=0.15)


def test_intervals_cover_the_true_expected_value(curves):
    checks = [(_steady(curves, channel, m * line[4]), _truth(channel, m * line[4]))
              for channel, line in LINES.items() for m in (0.7, 1.0, 1.3)]
    covered = [row["conversions_p10"] <= true <= row["conversions_p90"] for row, true in checks]
    assert sum(covered) >= 7, covered  # an 80 % interval: about 7 of 9


def test_revenue_follows_the_value_per_conversion(curves):
    row = _steady(curves, "search", 100.0)
    assert row["revenue_p50"] == pytest.approx(50.0 * row["conversions_p50"])


def test_spend_beyond_the_observed_range_is_flagged_and_widened(curves):
    curve = curves[("c1", "search")]
    high = curve.spend_range[1]
    plan = pd.DataFrame({"campaign_id": "c1", "channel": "search", "day": curve.plan_days(3),
                         "spend": [high, 2 * high, 0.0]})
    rows = predict(curves, plan)
    assert rows["extrapolated"].tolist() == [False, True, False]
    draws = curve.expected(plan["spend"].to_numpy())
    p10, p50, p90 = np.quantile(draws, (0.1, 0.5, 0.9), axis=0)
    widen = 1 + WIDEN_PER_LOG * np.log(2)
    assert rows.loc[1, "conversions_p90"] - p50[1] == pytest.approx((p90[1] - p50[1]) * widen)
    assert rows.loc[1, "conversions_p10"] == pytest.approx(max(p50[1] - (p50[1] - p10[1]) * widen, 0.0))
    assert rows.loc[0, "conversions_p90"] == pytest.approx(p90[0])


def test_bad_input_fails_clearly(synthetic, curves):
    with pytest.raises(ValueError, match="spend must be finite and non-negative"):
        fit(synthetic.assign(spend=synthetic["spend"] - 1000))
    with pytest.raises(ValueError, match="no rows"):
        fit(synthetic.iloc[:0])
    with pytest.raises(ValueError, match=r"missing columns \['revenue'\]"):
        fit(synthetic.drop(columns="revenue"))
    with pytest.raises(ValueError, match="no fitted response curve for campaign 'c1' on channel 'email'"):
        predict(curves, pd.DataFrame({"campaign_id": ["c1"], "channel": ["email"], "day": [0], "spend": [1.0]}))
    with pytest.raises(ValueError, match="spend must be"):
        predict(curves, pd.DataFrame({"campaign_id": ["c1"], "channel": ["search"], "day": [0], "spend": [-1.0]}))
    late = curves[("c1", "search")].plan_days(3)[1:]
    with pytest.raises(ValueError, match="must run day by day from 2026-05-01, the day after its last observed day"):
        predict(curves, pd.DataFrame({"campaign_id": "c1", "channel": "search", "day": late, "spend": 1.0}))


def test_fit_on_a_generated_world_recovers_its_largest_line():
    """The realised daily counts of a small world; its busiest line's curve at its recent spend is close to
    the world's true adstock + Hill curve."""
    config = WorldConfig(seed=3, days=90, campaigns=4, events_per_day=40_000, end=datetime(2026, 11, 21, tzinfo=UTC))
    last = config.resolved_end().date() - timedelta(days=1)
    base = baseline(config, last - timedelta(days=config.days - 1), last)
    realised, pairs = base.replay.realised, base.world.pairs
    busiest = int(realised.conversions.sum(axis=0).argmax())
    key = (base.replay.campaign_ids[busiest], base.replay.channels[busiest])
    frame = pd.DataFrame({"campaign_id": key[0], "channel": key[1], "day": base.replay.days.astype("datetime64[D]"),
                          "spend": realised.spend[:, busiest], "conversions": realised.conversions[:, busiest],
                          "revenue": realised.revenue[:, busiest]})
    spend = float(frame["spend"].tail(14).mean())
    decay = pairs.decay[busiest]
    true = float(pairs.beta[busiest] * hill(np.array(spend / (1 - decay)), pairs.half_saturation[busiest],
                                             pairs.shape[busiest]))
    curves = fit(frame, samples=30)
    row = predict(curves, pd.DataFrame({"campaign_id": key[0], "channel": key[1], "day": curves[key].plan_days(60),
                                        "spend": spend})).iloc[-1]
    assert row["conversions_p50"] == pytest.approx(true, rel=0.15)


def test_read_daily_sums_the_devices_of_each_line(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("""CREATE SCHEMA marts;
        CREATE TABLE marts.events_daily AS SELECT * FROM (VALUES
            (DATE '2026-11-01', 'c1', 'b1', 'search', 'mobile', 10.5::DECIMAL(38, 6), 2::BIGINT, 80::DECIMAL(38, 6)),
            (DATE '2026-11-01', 'c1', 'b1', 'search', 'desktop', 4.5, 1, 40),
            (DATE '2026-11-01', 'c1', 'b1', NULL, 'desktop', 3, 0, 0),
            (DATE '2026-11-02', 'c1', 'b1', 'search', 'mobile', 7, 0, 0))
            AS t(day, campaign_id, brand_id, channel, device, spend, conversions, revenue)""")
    frame = read_daily(con)
    assert frame[["spend", "conversions", "revenue"]].to_numpy().tolist() == [[15.0, 3.0, 120.0], [7.0, 0.0, 0.0]]
    assert set(frame["channel"]) == {"search"}


def test_each_fit_is_tracked_in_mlflow(settings, synthetic, curves):
    run_id = log_fit(settings, synthetic, curves, seconds=1.5)
    client = MlflowClient(settings.mlflow_uri)
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == "pulsecast-response"
    assert run.data.params["lines"] == "3" and run.data.params["bootstrap_samples"] == "40"
    assert run.data.metrics["seconds_per_line"] == pytest.approx(0.5)
    assert {a.path for a in client.list_artifacts(run_id)} == {CURVES_TABLE, FITS_FIGURE}
    table = curve_table(curves).set_index("channel")
    assert table.loc["search", "decay_p10"] <= table.loc["search", "decay"] <= table.loc["search", "decay_p90"]
