"""Creative fatigue: a creative whose click-through rate decays with its age.

Per creative still delivering, clicks are fitted as Poisson counts with the log of impressions as offset and the
creative's age in days as the one regressor (statsmodels GLM), over its whole life up to the newest complete day:
exp(slope) is the daily CTR ratio. A creative is fatigued when the decay is significant (one-sided p < `ALPHA`)
and the fitted CTR has lost at least `MIN_DECLINE` since launch; the window starts on the day the fit crossed
`ONSET` below its launch level (the generator's truth marks fatigue from a similar threshold), and stays open
while the creative delivers. Sparse creatives (under `MIN_CLICKS` clicks or `MIN_DAYS` days) are not judged: at a
1 % CTR a few dozen clicks cannot tell decay from noise.
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm

from pulsecast.ml.outlook.findings import Finding, RiskType, Severity

ALPHA = 0.01
MIN_DECLINE = 0.2
ONSET = 0.1
MIN_CLICKS = 30
MIN_DAYS = 14
STILL_DELIVERING_DAYS = 2


def read_creatives(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """`marts.creative_daily` up to the newest complete day."""
    return con.execute(
        """SELECT campaign_id, creative_id, day, impressions, clicks FROM marts.creative_daily
           WHERE day < (SELECT max(day) FROM marts.creative_daily) ORDER BY campaign_id, creative_id, day"""
    ).df()


def creative_fatigue(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    return fatigue_findings(read_creatives(con))


def fatigue_findings(daily: pd.DataFrame) -> list[Finding]:
    if daily.empty:
        return []
    newest = pd.to_datetime(daily["day"]).max()
    findings = []
    for (campaign_id, creative_id), rows in daily.groupby(["campaign_id", "creative_id"]):
        rows = rows[rows["impressions"] > 0]
        days = pd.to_datetime(rows["day"])
        if rows["clicks"].sum() < MIN_CLICKS or len(rows) < MIN_DAYS:
            continue
        if days.max() < newest - pd.Timedelta(days=STILL_DELIVERING_DAYS):
            continue  # no longer delivering: nothing left to refresh
        finding = _judge(str(campaign_id), str(creative_id), rows, days)
        if finding is not None:
            findings.append(finding)
    return findings


def _judge(campaign_id: str, creative_id: str, rows: pd.DataFrame, days: pd.Series) -> Finding | None:
    age = ((days - days.min()).dt.days).to_numpy(float)
    fit = sm.GLM(
        rows["clicks"].to_numpy(float),
        sm.add_constant(age),
        family=sm.families.Poisson(),
        offset=np.log(rows["impressions"].to_numpy(float)),
    ).fit()
    slope, p_two_sided = float(fit.params[1]), float(fit.pvalues[1])
    p_value = p_two_sided / 2 if slope < 0 else 1 - p_two_sided / 2
    decline = 1 - math.exp(slope * age.max())
    if p_value >= ALPHA or decline < MIN_DECLINE:
        return None
    onset_day = days.min() + pd.Timedelta(days=math.ceil(math.log(1 - ONSET) / slope))
    launch_ctr, now_ctr = math.exp(fit.params[0]), math.exp(fit.params[0] + slope * age.max())
    evidence = {
        "launch_ctr": round(launch_ctr, 5),
        "current_ctr": round(now_ctr, 5),
        "decline": round(decline, 3),
        "daily_ratio": round(math.exp(slope), 4),
        "p_value": round(p_value, 5),
        "age_days": int(age.max()),
        "clicks": int(rows["clicks"].sum()),
    }
    severity = Severity.high if decline >= 0.5 else Severity.medium if decline >= 0.35 else Severity.low
    summary = (
        f"Creative {creative_id}'s CTR fell {decline:.0%} over its {evidence['age_days']} days "
        f"({launch_ctr:.2%} at launch, {now_ctr:.2%} now; p={evidence['p_value']:g})."
    )
    return Finding(
        campaign_id,
        RiskType.creative_fatigue,
        creative_id,
        severity,
        _moment(onset_day),
        None,
        round(1 - p_value, 4),
        summary,
        evidence,
    )


def _moment(day: pd.Timestamp) -> datetime:
    return day.to_pydatetime().replace(tzinfo=None)
