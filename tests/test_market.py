"""Market effects on synthetic campaigns: a planted share-of-voice effect is found and holds out of sample, a
campaign the market does not touch keeps a factor of 1; competitor position per brand."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pulsecast.ml.outlook.market import adjustments, effects, position

DAYS = pd.date_range("2026-06-01", periods=120, freq="D")


def signals(rng: np.random.Generator) -> pd.DataFrame:
    voice = 0.4 + 0.1 * np.sin(np.arange(len(DAYS)) / 9) + rng.normal(0, 0.02, len(DAYS))
    voice[-7:] += 0.15  # the latest week: competitors push
    return pd.DataFrame({"day": DAYS, "competitor_share_of_voice": voice,
                         "search_trend_index": 100 + rng.normal(0, 3, len(DAYS))})  # fmt: skip


def campaign(campaign_id: str, voice: np.ndarray, sensitivity: float, rng: np.random.Generator) -> pd.DataFrame:
    rate = 40 * np.exp(-sensitivity * (voice - voice.mean()) / voice.std())
    return pd.DataFrame({"campaign_id": campaign_id, "day": DAYS, "clicks": rng.poisson(rate),
                         "conversions": rng.poisson(rate / 8)})  # fmt: skip


def test_a_planted_effect_holds_and_shifts_the_forecast_and_noise_does_not() -> None:
    rng = np.random.default_rng(4)
    market = signals(rng)
    daily = pd.concat([campaign("hit", market["competitor_share_of_voice"].to_numpy(), 0.3, rng),
                       campaign("calm", market["competitor_share_of_voice"].to_numpy(), 0.0, rng)])  # fmt: skip
    found = effects(daily, market).set_index(["campaign_id", "metric", "signal"])
    hit = found.loc[("hit", "clicks", "competitor_share_of_voice")]
    assert hit["holds"] and hit["coefficient"] < 0 and hit["factor"] < 1, "more competitor voice, fewer clicks"
    calm = found.loc["calm"]
    assert not calm["holds"].any() and (calm["factor"] == 1).all()
    shifts = adjustments(found.reset_index())
    assert set(shifts["campaign_id"]) == {"hit"} and (shifts["factor"] < 1).all()
    assert shifts["evidence"].str.contains("held-out error").all()


def test_competitor_position_per_brand() -> None:
    rng = np.random.default_rng(5)
    market = signals(rng)
    brands = pd.DataFrame({"brand_id": np.repeat(["a", "b"], len(DAYS)), "day": np.tile(DAYS, 2),
                           "impressions": np.r_[np.full(len(DAYS), 3000), np.full(len(DAYS), 1000)],
                           "clicks": rng.poisson(30, 2 * len(DAYS))})  # fmt: skip
    table = position(brands, market).set_index("brand_id")
    assert table.loc["a", "platform_share"] == pytest.approx(0.75)
    voice = market["competitor_share_of_voice"].iloc[-7:].mean()
    assert table.loc["a", "estimated_market_share"] == pytest.approx(0.75 * (1 - voice))
    assert table["share_of_voice_trend"].iloc[0] > 0, "the latest week's push shows in the 28-day trend"


def test_a_campaign_without_conversions_is_measured_without_a_singular_design() -> None:
    """No conversion at all: the baseline's level is 0 throughout; it is left out of the fit, not warned about."""
    rng = np.random.default_rng(6)
    market = signals(rng)
    silent = campaign("silent", market["competitor_share_of_voice"].to_numpy(), 0.0, rng).assign(conversions=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = effects(silent, market).set_index(["metric", "signal"])
    assert not found.loc["conversions"]["holds"].any() and (found.loc["conversions"]["factor"] == 1).all()
