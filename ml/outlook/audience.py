"""Audience fatigue: a campaign whose frequency (impressions per reached user, `marts.campaign_reach_daily`)
rises while its CTR falls with that frequency, both significantly, over the trailing `RECENT_DAYS` days: the same
people see the ads too often."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from pulsecast.ml.outlook.findings import Finding, RiskType, Severity

RECENT_DAYS = 21
"""The trailing window each trend is fitted over: long enough for a few hundred clicks, short enough to be news."""
ALPHA = 0.05
"""Largest one-sided p-value of the decline reported."""


def ctr_decline(days: pd.DataFrame, x: str) -> tuple[float, float] | None:
    """Binomial GLM of clicks out of impressions on `x`: (daily relative CTR change, one-sided p of a decline)."""
    days = days[days["impressions"] > 0]
    if len(days) < 7 or days["clicks"].sum() < 10 or days[x].nunique() < 3:
        return None
    endog = np.column_stack([days["clicks"], days["impressions"] - days["clicks"]])
    fit = sm.GLM(endog, sm.add_constant(days[x].astype(float).to_numpy()), family=sm.families.Binomial()).fit()
    slope, z = float(fit.params[1]), float(fit.tvalues[1])
    return float(np.expm1(slope)), float(norm.cdf(z))


def load_audience_daily(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    """Campaign days up to `as_of`: frequency (impressions per reached user) beside clicks and impressions."""
    frame = con.execute(
        """SELECT r.campaign_id, r.day, r.frequency, d.impressions, d.clicks
           FROM marts.campaign_reach_daily AS r JOIN marts.campaign_daily AS d USING (campaign_id, day)
           WHERE r.day <= ?::DATE ORDER BY r.campaign_id, r.day""",
        [as_of],
    ).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def audience_fatigue(audience_daily: pd.DataFrame, recent_days: int = RECENT_DAYS) -> list[Finding]:
    """A campaign whose frequency rises while its CTR falls with frequency, both significantly."""
    findings = []
    for campaign_id, days in audience_daily.dropna(subset=["frequency"]).groupby("campaign_id"):
        recent = days[days["day"] > days["day"].max() - timedelta(days=recent_days)]
        if len(recent) < 7:
            continue
        trend = sm.OLS(recent["frequency"].to_numpy(), sm.add_constant(np.arange(len(recent), dtype=float))).fit()
        rising_p = float(trend.pvalues[1]) / 2 if trend.params[1] > 0 else 1.0
        result = ctr_decline(recent, "frequency")
        if result is None or rising_p > ALPHA or result[1] > ALPHA or result[0] >= 0:
            continue
        change, p = result
        first, last = float(recent["frequency"].iloc[0]), float(recent["frequency"].iloc[-1])
        evidence = {
            "frequency_start": round(first, 3),
            "frequency_end": round(last, 3),
            "ctr_change_per_frequency": round(change, 4),
            "p_value": round(max(p, rising_p), 4),
        }
        findings.append(
            Finding(
                campaign_id=str(campaign_id),
                risk_type=RiskType.audience_fatigue,
                subject="audience",
                severity=Severity.medium,
                window_start=recent["day"].min().to_pydatetime(),
                window_end=None,
                confidence=round(1 - max(p, rising_p), 4),
                summary=f"Frequency rose from {first:.3f} to {last:.3f} while CTR falls {-change:.2%} per extra "
                f"impression per user (p = {max(p, rising_p):.3f}).",
                evidence=evidence,
            )
        )
    return findings
