"""Benchmark gaps on hand-computed numbers: the CPA gap splits exactly into its CPC and CVR terms."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pulsecast.ml.outlook.benchmarks import gaps


def delivery() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": ["a", "a", "b"],
            "channel": ["search", "video", "display"],
            "impressions": [1000, 3000, 500],
            "clicks": [100, 30, 5],
            "conversions": [5, 1, 0],
            "spend": [300.0, 60.0, 10.0],
            "benchmark_ctr": [0.05, 0.0045, 0.0046],
            "benchmark_cvr": [0.10, None, 0.0077],
            "benchmark_cpc": [2.0, None, 0.63],
        }
    )


def test_cpa_gap_and_its_driver_per_channel() -> None:
    search = gaps(delivery()).set_index(["campaign_id", "channel"]).loc[("a", "search")]
    # cpc 3.00 vs 2.00 (+50 %), cvr 0.05 vs 0.10 (-50 %): cpa 60 vs 20, three times the benchmark
    assert search["cpc_gap"] == pytest.approx(0.5) and search["cvr_gap"] == pytest.approx(-0.5)
    assert search["cpa_gap"] == pytest.approx(2.0)
    assert search["cpa_driver"] == "cvr", "halving the conversion rate costs more than 50 % dearer clicks"
    assert search["cpc_share_of_cpa_gap"] == pytest.approx(math.log(1.5) / math.log(3))


def test_overall_uses_the_campaigns_own_mix_and_says_why_a_gap_is_missing() -> None:
    frame = gaps(delivery()).set_index(["campaign_id", "channel"])
    overall = frame.loc[("a", "all")]
    assert overall["benchmark_ctr"] == pytest.approx((0.05 * 1000 + 0.0045 * 3000) / 4000)
    assert overall["benchmark_cvr"] == pytest.approx(0.10), "video has no published CVR: only search counts"
    assert overall["cpa"] == pytest.approx(360 / 6)
    assert pd.isna(frame.loc[("a", "video"), "cpa_gap"]) and "no published" in frame.loc[("a", "video"), "gap_note"]
    no_conversions = frame.loc[("b", "display")]
    assert pd.isna(no_conversions["cpa_gap"]) and pd.isna(no_conversions["cpa_driver"])
    assert "no conversions" in no_conversions["gap_note"]
