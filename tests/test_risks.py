"""The risk detectors on small synthetic frames, and the alert-log merge (open, update, resolve, reopen)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from pulsecast.ml.outlook import audience, fatigue, threats
from pulsecast.ml.outlook.findings import Finding, RiskType, Severity
from pulsecast.ml.outlook.risks import COLUMNS, merge_findings, read_open_risks

DAY0 = datetime(2026, 3, 1)


def finding(start: datetime, subject: str = "cr-1", confidence: float = 0.9) -> Finding:
    return Finding(
        "cmp-1", RiskType.creative_fatigue, subject, Severity.medium, start, None, confidence, "s.", {"x": 1}
    )


def test_merge_opens_updates_resolves_and_reopens_as_new() -> None:
    log = merge_findings(read_empty(), [finding(DAY0)], "run-1", DAY0)
    assert list(log.columns) == list(COLUMNS) and log["status"].tolist() == ["open"]
    first_id = log["risk_id"].iloc[0]

    log = merge_findings(log, [finding(DAY0 + timedelta(days=1), confidence=0.95)], "run-2", DAY0 + timedelta(days=1))
    assert len(log) == 1 and log["risk_id"].iloc[0] == first_id, "a continuing problem stays one risk"
    assert log["run_id"].iloc[0] == "run-2" and log["confidence"].iloc[0] == 0.95
    assert log["first_detected_at"].iloc[0] == pd.Timestamp(DAY0)

    log = merge_findings(log, [], "run-3", DAY0 + timedelta(days=2))
    assert log["status"].tolist() == ["resolved"] and log["resolved_at"].iloc[0] == pd.Timestamp(
        DAY0 + timedelta(days=2)
    )

    log = merge_findings(log, [finding(DAY0 + timedelta(days=10))], "run-4", DAY0 + timedelta(days=10))
    assert log["status"].tolist() == ["resolved", "open"] and log["risk_id"].nunique() == 2


def test_merge_keeps_different_subjects_apart() -> None:
    log = merge_findings(read_empty(), [finding(DAY0, "cr-1"), finding(DAY0, "cr-2")], "run-1", DAY0)
    assert sorted(log["subject"]) == ["cr-1", "cr-2"] and json.loads(log["evidence"].iloc[0]) == {"x": 1}


def read_empty() -> pd.DataFrame:
    import duckdb

    return read_open_risks(duckdb.connect())


def creative_days(decay: float) -> pd.DataFrame:
    days = np.arange(30)
    impressions = np.full(30, 4000)
    clicks = np.round(impressions * 0.02 * np.exp(-decay * days)).astype(int)
    day = pd.Timestamp(DAY0) + pd.to_timedelta(days, "D")
    return pd.DataFrame(
        {
            "campaign_id": "cmp-1",
            "creative_id": "cr-1",
            "day": day,
            "impressions": impressions,
            "clicks": clicks,
            "age_days": days,
        }
    )


def test_creative_fatigue_flags_a_decaying_ctr_only() -> None:
    [found] = fatigue.fatigue_findings(creative_days(0.05))
    assert found.subject == "cr-1" and found.evidence["decline"] > 0.7 and found.confidence > 0.95
    onset = DAY0 + timedelta(days=3)  # the fitted CTR is 10 % below launch after ln(0.9) / -0.05 = 2.1 days
    assert found.window_start == onset and found.window_end is None
    assert fatigue.fatigue_findings(creative_days(0.0)) == []
    sparse = creative_days(0.05).assign(impressions=100, clicks=lambda d: d["clicks"] // 40)
    assert fatigue.fatigue_findings(sparse) == [], "a few dozen clicks cannot tell decay from noise"


def test_audience_fatigue_needs_rising_frequency_and_falling_ctr() -> None:
    frame = creative_days(0.04).drop(columns=["creative_id", "age_days"])
    frame["frequency"] = 1.5 + 0.05 * np.arange(30)
    [found] = audience.audience_fatigue(frame)
    assert found.subject == "audience" and found.evidence["frequency_end"] > found.evidence["frequency_start"]
    frame["frequency"] = 1.5
    assert audience.audience_fatigue(frame) == []


def test_competitor_threat_needs_a_sov_jump_and_a_ctr_drop() -> None:
    days = creative_days(0.0).drop(columns=["creative_id", "age_days"]).assign(conversions=20)
    days.loc[days.index[-5:], "clicks"] = 40
    sov = pd.DataFrame({"day": days["day"], "sov": 0.2})
    assert threats.competitor_threat(sov, days) == []
    sov.loc[sov.index[-5:], "sov"] = 0.3
    [found] = threats.competitor_threat(sov, days)
    assert found.subject == "ctr" and found.evidence["ctr_change"] < -0.4


def test_data_risks_quarantine_and_outage() -> None:
    rates = pd.DataFrame({"day": pd.to_datetime([DAY0]), "rows_read": [1000], "rows_quarantined": [100]})
    [q] = threats.quarantine_risk(rates)
    assert q.campaign_id == "*" and q.evidence["quarantine_rate"] == 0.1
    assert threats.quarantine_risk(rates.assign(rows_quarantined=1)) == []
    hours = pd.date_range(DAY0, periods=72, freq="h")
    impressions = np.full(72, 100)
    impressions[40:45] = 2
    [outage] = threats.tracking_outage(
        pd.DataFrame({"campaign_id": "cmp-1", "event_hour": hours, "impressions": impressions})
    )
    assert outage.evidence["hours"] == 5 and outage.window_start == hours[40].to_pydatetime()
