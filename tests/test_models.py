"""The forecasting contract, input preparation, fallbacks, backtests, and the ensemble's weights and calibration."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Self

import numpy as np
import pandas as pd
import pytest

from pulsecast.models.backtest import cross_validation, rolling_windows
from pulsecast.models.base import LEVELS, Forecaster, ModelFactory, nested, output_columns
from pulsecast.models.combination import member_weights, pooled_weights
from pulsecast.models.ensemble import BASELINE, Ensemble
from pulsecast.models.frequency import future_dates, infer_frequency, season_length
from pulsecast.models.lstm import LSTMModel
from pulsecast.models.metrics import mase_scales, score, summarize
from pulsecast.models.prepare import prepare
from pulsecast.models.prophet_model import ProphetModel
from pulsecast.models.seasonal_naive import SeasonalNaive
from pulsecast.models.statistical import METHODS, StatisticalModel

FREQS = {"h": 24, "D": 7, "MS": 12}
FAST_LSTM = partial(LSTMModel, horizon=6, steps=10, hidden_size=8, networks=1)
MODELS: dict[str, ModelFactory] = {
    "seasonal_naive": SeasonalNaive,
    **{method: partial(StatisticalModel, method=method) for method in METHODS},
    "prophet": partial(ProphetModel, uncertainty_samples=100),
    "lstm": FAST_LSTM,
}


def toy(freq: str, n: int, ids: Sequence[str] = ("a", "b"), noise: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """Seasonal series with a trend and Gaussian noise, one level per id."""
    rng = np.random.default_rng(seed)
    m = FREQS.get(freq, 7)
    frames = []
    for k, uid in enumerate(ids):
        t = np.arange(n)
        y = 10 * (k + 1) + 0.02 * t + 2 * np.sin(2 * np.pi * t / m) + rng.normal(0, noise, n)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2021-01-04", periods=n, freq=freq), "y": y}))
    return pd.concat(frames, ignore_index=True)


def messy(df: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """The same series shuffled, with two rows missing and one timestamp sent twice."""
    rng = np.random.default_rng(seed)
    messy = df.drop(index=[5, 9]).sample(frac=1, random_state=seed)
    return pd.concat([messy, df.iloc[[12]].assign(y=df["y"].iloc[12] + rng.normal())], ignore_index=True)


def assert_contract(forecast: pd.DataFrame, df: pd.DataFrame, h: int, freq: str) -> None:
    assert list(forecast.columns) == output_columns(LEVELS)
    assert forecast.groupby("unique_id").size().to_dict() == {uid: h for uid in df["unique_id"].unique()}
    for uid, group in forecast.groupby("unique_id"):
        last = pd.to_datetime(df.loc[df["unique_id"] == uid, "ds"]).max()
        assert list(group["ds"]) == list(future_dates(last, h, freq))
    assert_nested(forecast)


def assert_nested(forecast: pd.DataFrame) -> None:
    ordered = forecast[["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]].to_numpy()
    assert np.isfinite(ordered).all()
    assert (np.diff(ordered, axis=1) >= 0).all()


@pytest.mark.parametrize("freq", FREQS)
@pytest.mark.parametrize("name", MODELS)
def test_every_model_keeps_the_contract_on_messy_input_and_is_deterministic(name: str, freq: str) -> None:
    df = toy(freq, 60)
    first = MODELS[name](None).fit(messy(df)).predict(6)
    second = MODELS[name](None).fit(messy(df)).predict(6)
    assert_contract(first, df, 6, freq)
    pd.testing.assert_frame_equal(first, second)


def test_intervals_widen_with_the_level_and_follow_the_noise() -> None:
    quiet = SeasonalNaive().fit(toy("D", 200, noise=0.1)).predict(7)
    loud = SeasonalNaive().fit(toy("D", 200, noise=1.0)).predict(7)
    assert (quiet["yhat_hi_95"] - quiet["yhat_lo_95"] > quiet["yhat_hi_80"] - quiet["yhat_lo_80"]).all()
    assert (loud["yhat_hi_80"] - loud["yhat_lo_80"]).mean() > 3 * (quiet["yhat_hi_80"] - quiet["yhat_lo_80"]).mean()


def test_seasonal_naive_repeats_the_last_season() -> None:
    df = toy("D", 21, ids=["a"])
    forecast = SeasonalNaive().fit(df).predict(10)
    np.testing.assert_allclose(forecast["yhat"], np.tile(df["y"].to_numpy()[-7:], 2)[:10])


def test_prepare_aggregates_duplicates_and_fills_gaps_explicitly() -> None:
    df = pd.DataFrame(
        {
            "ds": ["2024-01-03", "2024-01-01", "2024-01-01", "2024-01-05T00:00:00+00:00", "2024-01-04"],
            "y": [3.0, 1.0, 2.0, 5.0, np.nan],
        }
    )
    series = prepare(df)
    assert series.freq == "D" and series.season_length == 7
    assert series.duplicates == 1 and series.filled == 2
    assert list(series.df["y"]) == [1.5, 2.25, 3.0, 4.0, 5.0]
    assert list(series.df["imputed"]) == [False, True, False, True, False]
    assert list(prepare(df, duplicates="sum", gaps="zero").df["y"]) == [3.0, 0.0, 3.0, 0.0, 5.0]


@pytest.mark.parametrize(
    ("stamps", "freq", "season"),
    [
        (pd.date_range("2024-01-01", periods=30, freq="h"), "h", 24),
        (pd.date_range("2024-01-01", periods=30, freq="D"), "D", 7),
        (pd.date_range("2024-01-03", periods=30, freq="W-WED"), "W-WED", 52),
        (pd.date_range("2024-01-01", periods=30, freq="MS"), "MS", 12),
        (pd.date_range("2024-01-31", periods=30, freq="ME"), "ME", 12),
        (pd.date_range("2024-01-01", periods=30, freq="15min"), "15min", 96),
    ],
)
def test_frequency_is_inferred_despite_gaps(stamps: pd.DatetimeIndex, freq: str, season: int) -> None:
    with_gaps = pd.Series(stamps.delete([3, 4, 10]))
    assert infer_frequency(with_gaps) == freq
    assert season_length(freq) == season


def test_unusable_series_fall_back_with_a_reason_and_the_others_do_not() -> None:
    good = toy("D", 60, ids=["good"])
    days = pd.date_range("2021-01-04", periods=60, freq="D")
    bad = pd.DataFrame(
        {
            "unique_id": ["short"] * 5 + ["flat"] * 60 + ["zero"] * 60,
            "ds": [*days[:5], *days, *days],
            "y": [1.0, 2, 3, 4, 5] + [4.0] * 60 + [0.0] * 60,
        }
    )
    df = pd.concat([good, bad], ignore_index=True)
    assert_contract(SeasonalNaive().fit(df).predict(6), df, 6, "D")  # the baseline takes any series as it is
    for factory in (MODELS["prophet"], MODELS["lstm"]):
        model = factory(None).fit(df)
        assert set(model.fallbacks) >= {"short", "flat", "zero"}, type(model)
        assert "good" not in model.fallbacks
        assert model.fallbacks["zero"] == "all zero" and model.fallbacks["flat"] == "constant at 4"
        assert model.fallbacks["short"].startswith("too short")
        forecast = model.predict(6)
        assert_contract(forecast, df, 6, "D")
        flat = forecast[forecast["unique_id"] == "flat"]
        assert (flat["yhat"] == 4.0).all() and (flat["yhat_hi_95"] == 4.0).all()


class _Failing(ProphetModel):
    """Prophet that cannot fit one named series."""

    def _new_prophet(self):
        model = super()._new_prophet()
        fit = model.fit

        def fit_unless_broken(frame: pd.DataFrame):
            if frame["y"].iloc[0] > 15:  # series "b" of toy() sits at level 20
                raise RuntimeError("Stan gave up")
            return fit(frame)

        model.fit = fit_unless_broken
        return model


def test_one_failing_series_never_fails_the_others() -> None:
    model = _Failing(uncertainty_samples=100).fit(toy("D", 60))
    assert model.fallbacks == {"b": "prophet failed: Stan gave up"}
    assert_contract(model.predict(5), toy("D", 60), 5, "D")


def test_lstm_is_one_network_for_all_series_and_guards_its_horizon() -> None:
    model = FAST_LSTM(networks=2).fit(toy("D", 80, ids=["a", "b", "c"]))
    assert len(model._networks) == 2  # one bagged global model, not one per series
    assert model.predict(3)["unique_id"].nunique() == 3
    with pytest.raises(ValueError, match="horizon of 6"):
        model.predict(7)
    with pytest.raises(ValueError, match="levels"):
        model.predict(3, levels=(50,))


def test_rolling_windows_end_at_each_series_end_and_skip_filled_actuals() -> None:
    df = toy("D", 40, ids=["a"]).drop(index=[38])  # a gap inside the last window
    series = prepare(df)
    windows = list(rolling_windows(series, h=5, n_windows=3))
    assert [len(w.test) for w in windows] == [5, 5, 5]
    assert [w.train["ds"].max() for w in windows] == [w.test["cutoff"].iloc[0] for w in windows]
    assert windows[-1].test["ds"].max() == series.df["ds"].max()
    cv = cross_validation({"seasonal_naive": SeasonalNaive}, series, h=5, n_windows=3)
    assert len(cv) == 14 and pd.Timestamp(df["ds"].min()) + pd.Timedelta(days=38) not in set(cv["ds"])


def test_metrics_match_their_definitions() -> None:
    history = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=4), "y": [1.0, 2, 4, 7]})
    cv = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.date_range("2024-01-05", periods=2),
            "cutoff": pd.Timestamp("2024-01-04"),
            "window": 0,
            "model": "m",
            "y": [8.0, 10.0],
            "yhat": [7.0, 7.0],
            "yhat_lo_80": [6.0, 6.0],
            "yhat_hi_80": [9.0, 9.0],
            "yhat_lo_95": [5.0, 5.0],
            "yhat_hi_95": [11.0, 11.0],
        }
    )
    row = score(cv, history, season_length=1).iloc[0]
    assert row["mase"] == pytest.approx(2.0 / 2.0)  # MAE 2 over in-sample naive MAE (1 + 2 + 3) / 3
    assert row["coverage_80"] == 0.5 and row["coverage_95"] == 1.0
    assert row["winkler_80"] == pytest.approx((3 + (3 + 2 / 0.2 * 1)) / 2)
    assert row["smape"] == pytest.approx((1 / 15 + 3 / 17) / 2)


class _SeasonalMean(SeasonalNaive):
    """A better member for stationary seasonal noise: the mean of every past season, with intervals
    `narrow` times too tight so that calibration has something to fix."""

    def __init__(self, freq: str | None = None, *, narrow: float = 0.3) -> None:
        super().__init__(freq)
        self.narrow = narrow

    def fit(self, df: pd.DataFrame) -> Self:
        super().fit(df)
        m = self.season_length_
        self._profile = {uid: y[len(y) % m :].reshape(-1, m).mean(axis=0) for uid, y in self._series.items()}
        self._noise = {
            uid: np.std(y[len(y) % m :].reshape(-1, m) - self._profile[uid]) for uid, y in self._series.items()
        }
        return self

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        forecast = super().predict(h, levels)
        z = {80: 1.2816, 95: 1.96}
        for uid in self._series:
            rows = forecast["unique_id"] == uid
            mean = np.resize(self._profile[uid], h)
            forecast.loc[rows, "yhat"] = mean
            for level in levels:
                half = self.narrow * z[level] * self._noise[uid]
                forecast.loc[rows, f"yhat_lo_{level}"] = mean - half
                forecast.loc[rows, f"yhat_hi_{level}"] = mean + half
        return forecast


class _Useless(SeasonalNaive):
    """A member that forecasts the series mean plus a big offset: far worse than the baseline."""

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        forecast = super().predict(h, levels)
        shift = forecast["unique_id"].map({uid: y.mean() + 5 for uid, y in self._series.items()}) - forecast["yhat"]
        return forecast.assign(**{c: forecast[c] + shift for c in forecast.columns[2:]})


def stationary(n: int, ids: int, seed: int) -> pd.DataFrame:
    """Weekly profile plus N(0, 1) noise: the best forecast is the profile, the 80 % interval +-1.28."""
    rng = np.random.default_rng(seed)
    profile = np.array([0.0, 1, 3, 2, 5, 4, 1])
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range("2022-01-03", periods=n),
                    "y": 20 + np.resize(profile, n) + rng.normal(0, 1, n),
                }
            )
            for k in range(ids)
        ],
        ignore_index=True,
    )


def test_ensemble_weighs_by_backtests_and_calibrates_to_nominal_coverage() -> None:
    members = {BASELINE: SeasonalNaive, "mean": _SeasonalMean, "useless": _Useless}
    history = stationary(200, ids=30, seed=3)
    ensemble = Ensemble(horizon=14, members=members, n_windows=4).fit(history)
    weights = ensemble.weights_
    assert (weights["useless"] == 0).all()
    assert (weights["mean"] > weights[BASELINE]).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights.nunique() == 1).all()  # by default every series gets the weights pooled over all of them
    own = Ensemble(horizon=14, members=members, n_windows=4, shrinkage=0.0).fit(history).weights_
    assert (own.nunique() > 1).any() and (own["useless"] == 0).all()  # shrinkage 0: each series' own weights

    future = stationary(214, ids=30, seed=3).groupby("unique_id").tail(14)
    forecasts = ensemble.predict_members(14).merge(future, on=["unique_id", "ds"])
    coverage = {
        (model, level): ((group["y"] >= group[f"yhat_lo_{level}"]) & (group["y"] <= group[f"yhat_hi_{level}"])).mean()
        for model, group in forecasts.groupby("model")
        for level in LEVELS
    }
    assert coverage["mean", 80] < 0.5  # the member's own intervals are far too narrow...
    assert 0.72 <= coverage["ensemble", 80] <= 0.88  # ...calibration brings the ensemble's to nominal
    assert 0.9 <= coverage["ensemble", 95] <= 0.99
    backtest = ensemble.scores_.groupby("model")["coverage_80"].mean()
    assert 0.72 <= backtest["ensemble"] <= 0.88
    assert_nested(ensemble.backtest_[ensemble.backtest_["model"] == "ensemble"])  # scored as it would forecast


def test_nested_widens_crossing_bounds_outward_and_keeps_other_columns() -> None:
    crossing = pd.DataFrame(
        {"unique_id": ["a"], "ds": [pd.Timestamp("2026-01-01")], "window": [3], "yhat": [10.0],
         "yhat_lo_80": [8.0], "yhat_hi_80": [13.0], "yhat_lo_95": [9.0], "yhat_hi_95": [12.0]}
    )  # fmt: skip
    pd.testing.assert_frame_equal(nested(crossing, LEVELS), crossing.assign(yhat_lo_95=8.0, yhat_hi_95=13.0))
    assert crossing["yhat_lo_95"].iloc[0] == 9.0  # the input is left as it was


def test_backtest_windows_are_half_a_horizon_apart_and_each_is_cross_fitted_on_those_it_does_not_overlap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Ensemble(horizon=14).n_windows, Ensemble(horizon=14).step) == (6, 7)
    assert Ensemble(horizon=14, n_windows=3).step == 14  # half apart, the middle window would overlap both others
    with pytest.raises(ValueError, match="overlaps every other"):
        Ensemble(horizon=14, n_windows=3, step=7)

    learned_from = []
    learn = Ensemble._weights

    def spy(self: Ensemble, cv: pd.DataFrame, *args: object) -> object:
        learned_from.append(sorted(cv["window"].unique()))
        return learn(self, cv, *args)

    monkeypatch.setattr(Ensemble, "_weights", spy)
    members = {BASELINE: SeasonalNaive, "mean": _SeasonalMean}
    Ensemble(horizon=14, members=members, n_windows=4).fit(stationary(120, ids=3, seed=1))
    # the final weights see every window; window k's own backtest only windows at least 14 steps away
    assert learned_from == [[0, 1, 2, 3], [2, 3], [3], [0], [0, 1]]


def test_member_weights_gate_on_the_baseline_trim_the_worst_and_shrink_toward_equal() -> None:
    mase = pd.DataFrame(
        {BASELINE: [1.0, 1.0, 1.0, np.nan], "prophet": [0.9, 1.2, 0.5, np.nan], "lstm": [0.8, 0.9, 0.6, np.nan]},
        index=["close", "prophet_worse", "baseline_far_behind", "unscored"],
    )
    weights = member_weights(mase, BASELINE, shrinkage=0.0, trim=0.3)
    assert weights.loc["close"].tolist() == pytest.approx(
        np.array([1 / 1.0, 1 / 0.9, 1 / 0.8]) / (1 + 1 / 0.9 + 1 / 0.8)
    )
    assert weights.loc["prophet_worse", "prophet"] == 0
    assert weights.loc["baseline_far_behind"].tolist() == pytest.approx([0, 0.6 / 1.1, 0.5 / 1.1])
    assert weights.loc["unscored"].tolist() == [1, 0, 0]
    equal = member_weights(mase, BASELINE, shrinkage=1.0, trim=0.3)
    assert equal.loc["close"].tolist() == pytest.approx([1 / 3] * 3)
    assert equal.loc["prophet_worse"].tolist() == pytest.approx([0.5, 0, 0.5])


def test_member_weights_shrink_toward_pooled_weights_when_given() -> None:
    mase = pd.DataFrame({BASELINE: [1.0, 1.0], "prophet": [0.5, 0.9], "lstm": [0.8, 0.7]}, index=["a", "b"])
    pooled = pd.Series({BASELINE: 0.0, "prophet": 0.25, "lstm": 0.75})
    assert (member_weights(mase, BASELINE, shrinkage=1.0, trim=10, toward=pooled) == pooled).all(axis=None)
    own = member_weights(mase, BASELINE, shrinkage=0.0, trim=10)
    half = member_weights(mase, BASELINE, shrinkage=0.5, trim=10, toward=pooled)
    pd.testing.assert_frame_equal(half, 0.5 * own + 0.5 * pd.DataFrame([pooled] * 2, index=mase.index))


def _backtest(y: np.ndarray, forecasts: dict[str, np.ndarray], uid: str, window: int = 0) -> pd.DataFrame:
    frame = pd.DataFrame({"unique_id": uid, "window": window, "ds": pd.date_range("2024-01-01", periods=len(y))})
    return pd.concat([frame.assign(model=name, y=y, yhat=yhat) for name, yhat in forecasts.items()], ignore_index=True)


def test_pooled_weights_minimise_the_mase_of_the_combination_over_all_series() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(100, 5, 40)
    error = np.where(np.arange(40) % 2, 3.0, -3.0)
    # "over" and "under" are each off by 3 in opposite directions, so only their average is exact; the baseline
    # is off by 2 on average and would win on its own.
    members = {BASELINE: y + rng.normal(0, 2.5, 40), "over": y + error, "under": y - error}
    backtest = pd.concat([_backtest(y, members, "a"), _backtest(10 * y, {k: 10 * v for k, v in members.items()}, "b")])
    scales = pd.Series(1.0, index=pd.MultiIndex.from_tuples([("a", 0), ("b", 0)], names=["unique_id", "window"]))
    weights = pooled_weights(backtest, scales, [BASELINE, "over", "under"], BASELINE)
    assert weights.tolist() == pytest.approx([0, 0.5, 0.5], abs=1e-6)

    # A series' errors count in units of its MASE scale, so a big series does not outvote the others: "over" is
    # exact on series a and 20 off on series b, the baseline 3 off on a and exact on b (ten times the level).
    tilted = {BASELINE: y + 3, "over": y}
    other = {BASELINE: 10 * y, "over": 10 * y + 20}
    backtest = pd.concat([_backtest(y, tilted, "a"), _backtest(10 * y, other, "b")])
    unscaled = pooled_weights(backtest, scales, [BASELINE, "over"], BASELINE)
    scaled = pooled_weights(backtest, scales * [1.0, 10.0], [BASELINE, "over"], BASELINE)
    assert unscaled.tolist() == pytest.approx([1, 0])  # in raw units series b's 20 outweighs a's 3...
    assert scaled.tolist() == pytest.approx([0, 1])  # ...in units of each series' scale, 3 outweighs 20 / 10
    unscored = pooled_weights(backtest, scales * np.nan, [BASELINE, "over"], BASELINE)
    assert unscored.tolist() == [1.0, 0.0]


def test_mase_scales_are_the_denominators_of_the_scored_mase() -> None:
    series = prepare(toy("D", 80, noise=1.0))
    cv = cross_validation({BASELINE: SeasonalNaive}, series, 7, n_windows=3)
    per_window = score(cv, series.df, series.season_length, per_window=True)
    cutoffs = cv[["unique_id", "window", "cutoff"]].drop_duplicates()
    scaled = cutoffs.assign(scale=mase_scales(cutoffs, series.df, series.season_length))
    mae = cv.assign(error=(cv["y"] - cv["yhat"]).abs()).groupby(["unique_id", "window"], as_index=False)["error"].mean()
    both = per_window.merge(mae, on=["unique_id", "window"]).merge(scaled, on=["unique_id", "window"])
    np.testing.assert_allclose(both["error"] / both["mase"], both["scale"])


def test_ensemble_forecasts_every_series_and_falls_back_for_those_too_short_to_backtest() -> None:
    members = {BASELINE: SeasonalNaive, "mean": _SeasonalMean}
    df = pd.concat([stationary(120, ids=2, seed=1), stationary(30, ids=1, seed=2).assign(unique_id="young")])
    ensemble = Ensemble(horizon=14, members=members).fit(df)
    assert list(ensemble.fallbacks) == ["young"] and "too short" in ensemble.fallbacks["young"]
    forecasts = ensemble.predict_members(14)
    assert set(forecasts["model"]) == {BASELINE, "mean", "ensemble"}
    young = forecasts[forecasts["unique_id"] == "young"]
    pd.testing.assert_frame_equal(
        young[young["model"] == "ensemble"].drop(columns="model").reset_index(drop=True),
        young[young["model"] == BASELINE].drop(columns="model").reset_index(drop=True),
    )
    assert_contract(ensemble.predict(14), df, 14, "D")


def test_weekly_series_are_modelled_with_a_yearly_season() -> None:
    df = toy("W-MON", 130, ids=["a"])
    for name in ("seasonal_naive", "prophet"):
        model = MODELS[name]("W-MON").fit(df)
        assert_contract(model.predict(8), df, 8, "W-MON")
        assert model.fallbacks == {}, name
    assert season_length("W-MON") == 52


def test_prophet_follows_a_regressor_given_its_future_values() -> None:
    rng = np.random.default_rng(3)
    n, h = 120, 10
    x = rng.uniform(0, 10, n + h)
    ds = pd.date_range("2026-01-01", periods=n + h, freq="D")
    frame = pd.DataFrame({"unique_id": "a", "ds": ds, "x": x, "y": 5 + 3 * x + rng.normal(0, 0.5, n + h)})
    model = ProphetModel(regressors=["x"], uncertainty_samples=100).fit(frame.iloc[:n])

    forecast = model.predict(h, X_df=frame.iloc[n:][["unique_id", "ds", "x"]])
    assert np.corrcoef(forecast["yhat"], x[n:])[0, 1] > 0.95
    assert np.abs(forecast["yhat"] - (5 + 3 * x[n:])).mean() < 1.0
    with pytest.raises(ValueError, match="pass their future values in X_df"):
        model.predict(h)


def test_summary_means_leave_out_series_without_a_mase_scale():
    scores = pd.DataFrame(
        {
            "unique_id": ["a", "b", "a", "b"],
            "model": ["m", "m", "n", "n"],
            "n": [7, 7, 7, 7],
            "mase": [0.8, np.inf, 1.2, np.inf],
            "smape": [0.1, 0.3, 0.2, 0.4],
        }
    )
    summary = summarize(scores).set_index("model")
    assert summary.loc["m", "mase"] == pytest.approx(0.8) and summary.loc["n", "mase"] == pytest.approx(1.2)
    assert summary.loc["m", "smape"] == pytest.approx(0.2) and summary.loc["m", "series"] == 2


def test_the_lstm_trains_for_its_step_budget_whatever_the_data_and_continues_a_window_for_a_quarter() -> None:
    short = FAST_LSTM(steps=12).fit(toy("D", 80))
    long = FAST_LSTM(steps=12).fit(toy("D", 400, ids=list("abcdef")))
    assert short.steps_taken_ == long.steps_taken_ == 12  # a budget of gradient steps, not of passes over the data

    fitted: dict[str, dict[int, Forecaster]] = {}
    cross_validation({"lstm": partial(FAST_LSTM, steps=12)}, prepare(toy("D", 120)), h=6, n_windows=3, fitted=fitted)
    assert [fitted["lstm"][k].steps_taken_ for k in sorted(fitted["lstm"])] == [12, 3, 3]  # each window from the last
    fresh = FAST_LSTM(steps=12)
    fresh.start_from(FAST_LSTM(steps=12, horizon=4).fit(toy("D", 80)))  # another shape: ignored, trained in full
    assert fresh.fit(toy("D", 80)).steps_taken_ == 12


def test_a_member_far_behind_sits_out_the_remaining_windows_and_is_never_fitted_on_all_data() -> None:
    fits = []

    class Counted(_Useless):
        def fit(self, df: pd.DataFrame) -> Self:
            fits.append(df["ds"].max())
            return super().fit(df)

    members = {BASELINE: SeasonalNaive, "mean": _SeasonalMean, "useless": Counted}
    history = stationary(120, ids=3, seed=2)
    pruned = Ensemble(horizon=14, members=members, n_windows=4).fit(history)
    assert pruned.pruned_ == {"useless"}
    assert len(fits) == 2  # windows 0 and 2, the first two that share no actuals; no final fit
    assert set(pruned.predict_members(14)["model"]) == {BASELINE, "mean", "ensemble"}
    full = Ensemble(horizon=14, members=members, n_windows=4, prune=False).fit(history)
    assert full.pruned_ == set() and (full.weights_["useless"] == 0).all()
    pd.testing.assert_frame_equal(pruned.predict(14), full.predict(14))  # it could not have earned weight


def test_the_ensemble_leans_on_the_best_member_and_is_never_much_worse_than_it() -> None:
    members = {
        BASELINE: SeasonalNaive,
        "mean": _SeasonalMean,  # the true profile's estimate: the best forecast of stationary seasonal noise
        "theta": partial(StatisticalModel, method="theta"),
        "mstl": partial(StatisticalModel, method="mstl"),
    }
    ensemble = Ensemble(horizon=14, members=members).fit(stationary(160, ids=8, seed=4))
    assert ensemble.weights_.iloc[0].idxmax() == "mean"
    mase = summarize(ensemble.scores_).set_index("model")["mase"]
    assert mase.idxmin() in ("mean", "ensemble")
    assert mase["ensemble"] <= 1.03 * mase.drop("ensemble").min()


@pytest.mark.parametrize("freq", FREQS)
def test_ensemble_intervals_hold_on_every_frequency(freq: str) -> None:
    """Known noise, a member whose intervals are far too narrow: calibration brings hourly, daily and monthly
    coverage to nominal on the steps after the data."""
    members = {BASELINE: SeasonalNaive, "mean": _SeasonalMean}
    history = seasonal_noise(freq, 170, ids=30, seed=5)
    forecast = Ensemble(horizon=10, members=members).fit(history.groupby("unique_id").head(160)).predict(10)
    actual = forecast.merge(history, on=["unique_id", "ds"])
    for level, tolerance in ((80, 0.06), (95, 0.04)):
        inside = actual["y"].between(actual[f"yhat_lo_{level}"], actual[f"yhat_hi_{level}"])
        assert abs(inside.mean() - level / 100) <= tolerance, (level, inside.mean())


def seasonal_noise(freq: str, n: int, ids: int, seed: int) -> pd.DataFrame:
    """A fixed profile over the frequency's season plus N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    profile = 3 * np.sin(2 * np.pi * np.arange(FREQS[freq]) / FREQS[freq])
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range("2021-01-01", periods=n, freq=freq),
                    "y": 20 + np.resize(profile, n) + rng.normal(0, 1, n),
                }
            )
            for k in range(ids)
        ],
        ignore_index=True,
    )
