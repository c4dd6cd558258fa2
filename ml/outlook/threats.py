"""Competitor threats (a competitor share-of-voice jump while a campaign's CTR or CVR drops) and data risks
(quarantined rows, a tracking outage): problems outside the creative that the forecast cannot see coming."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
from statsmodels.stats.proportion import proportions_ztest

from pulsecast.ml.outlook.findings import Finding, RiskType, Severity

RECENT_DAYS = 5
BASELINE_DAYS = 21
SOV_JUMP = 0.15
"""Relative rise of share of voice (recent mean over baseline mean) that counts as a jump."""
ALPHA = 0.05
QUARANTINE_RATE = 0.02
OUTAGE_HOURS = 3
OUTAGE_SHARE = 0.2
"""An hour is dark when its impressions are below this share of the campaign's median at that hour of day."""
MIN_HOURLY = 10
"""Hours whose typical volume is below this are too thin to call dark."""


def load_threat_inputs(con: duckdb.DuckDBPyConnection, as_of: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(market signals, campaign days) up to `as_of`."""
    signals = con.execute(
        "SELECT signal_date AS day, competitor_share_of_voice AS sov FROM raw.market_signals "
        "WHERE signal_date <= ?::DATE ORDER BY day",
        [as_of],
    ).df()
    days = con.execute(
        "SELECT campaign_id, day, impressions, clicks, conversions FROM marts.campaign_daily "
        "WHERE day <= ?::DATE ORDER BY campaign_id, day",
        [as_of],
    ).df()
    for frame in (signals, days):
        frame["day"] = pd.to_datetime(frame["day"])
    return signals.groupby("day", as_index=False)["sov"].mean(), days


def rate_drop(recent: pd.DataFrame, baseline: pd.DataFrame, hits: str, trials: str) -> tuple[float, float] | None:
    """(relative change of hits/trials, one-sided p of a drop), None without enough trials."""
    counts = [int(recent[hits].sum()), int(baseline[hits].sum())]
    sizes = [int(recent[trials].sum()), int(baseline[trials].sum())]
    if min(sizes) == 0 or counts[1] < 10:
        return None
    _, p = proportions_ztest(counts, sizes, alternative="smaller")
    return counts[0] / sizes[0] / (counts[1] / sizes[1]) - 1, float(p)


def competitor_threat(signals: pd.DataFrame, days: pd.DataFrame) -> list[Finding]:
    """Campaigns whose CTR or CVR dropped significantly over the recent days while share of voice jumped."""
    if signals.empty or days.empty:
        return []
    last = days["day"].max()
    start = last - timedelta(days=RECENT_DAYS - 1)
    base_start = start - timedelta(days=BASELINE_DAYS)
    recent_sov = signals.loc[signals["day"] >= start, "sov"].mean()
    base_sov = signals.loc[(signals["day"] >= base_start) & (signals["day"] < start), "sov"].mean()
    if not base_sov > 0 or recent_sov / base_sov - 1 < SOV_JUMP:
        return []
    jump = float(recent_sov / base_sov - 1)
    findings = []
    for campaign_id, campaign in days.groupby("campaign_id"):
        recent = campaign[campaign["day"] >= start]
        baseline = campaign[(campaign["day"] >= base_start) & (campaign["day"] < start)]
        rates = (("ctr", "clicks", "impressions"), ("cvr", "conversions", "clicks"))
        drops = {name: rate_drop(recent, baseline, hits, trials) for name, hits, trials in rates}
        drops = {name: d for name, d in drops.items() if d is not None and d[1] <= ALPHA and d[0] < 0}
        if not drops:
            continue
        metric, (change, p) = min(drops.items(), key=lambda item: item[1][1])
        findings.append(
            Finding(
                campaign_id=str(campaign_id),
                risk_type=RiskType.competitor_threat,
                subject=metric,
                severity=Severity.high if change <= -0.3 else Severity.medium,
                window_start=start.to_pydatetime(),
                window_end=None,
                confidence=round(1 - p, 4),
                summary=f"Competitor share of voice rose {jump:.1%} while {metric.upper()} fell {-change:.1%} "
                f"(p = {p:.3f}).",
                evidence={"sov_change": round(jump, 4), f"{metric}_change": round(change, 4), "p_value": round(p, 4)},
            )
        )
    return findings


def load_quarantine_rates(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    """Rows read and quarantined per ingestion day up to `as_of`."""
    frame = con.execute(
        """SELECT CAST(ingested_at AS DATE) AS day, sum(rows_read) AS rows_read,
                  sum(rows_quarantined) AS rows_quarantined
           FROM raw.ingested_files WHERE ingested_at <= ? GROUP BY ALL ORDER BY day""",
        [as_of],
    ).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def quarantine_risk(rates: pd.DataFrame, recent_days: int = 3) -> list[Finding]:
    """A platform-wide finding when the recent quarantine rate exceeds QUARANTINE_RATE."""
    if rates.empty:
        return []
    recent = rates[rates["day"] > rates["day"].max() - timedelta(days=recent_days)]
    read, bad = int(recent["rows_read"].sum()), int(recent["rows_quarantined"].sum())
    if read == 0 or bad / read < QUARANTINE_RATE:
        return []
    rate = bad / read
    return [
        Finding(
            campaign_id="*",
            risk_type=RiskType.data,
            subject="quarantine",
            severity=Severity.high if rate >= 5 * QUARANTINE_RATE else Severity.medium,
            window_start=recent["day"].min().to_pydatetime(),
            window_end=None,
            confidence=1.0,
            summary=f"{rate:.1%} of the {read} rows read over the last {recent_days} days were quarantined.",
            evidence={"quarantine_rate": round(rate, 4), "rows_read": read, "rows_quarantined": bad},
        )
    ]


def load_hourly(con: duckdb.DuckDBPyConnection, as_of: datetime, days: int = 7) -> pd.DataFrame:
    """Hourly impressions per campaign over the last `days` days up to `as_of`."""
    return con.execute(
        """SELECT campaign_id, event_hour, impressions FROM marts.campaign_hourly
           WHERE event_hour <= ? AND event_hour > ?::TIMESTAMP - INTERVAL (?) DAY ORDER BY campaign_id, event_hour""",
        [as_of, as_of, days],
    ).df()


def tracking_outage(hourly: pd.DataFrame) -> list[Finding]:
    """A live campaign (it has impressions before and after) whose hourly impressions stay near zero for
    OUTAGE_HOURS or more consecutive hours."""
    findings = []
    for campaign_id, hours in hourly.groupby("campaign_id"):
        hours = hours.set_index("event_hour")["impressions"].asfreq("h", fill_value=0)
        typical_at = hours.groupby(hours.index.hour).transform("median")
        typical = float(hours.median())
        dark = (hours < OUTAGE_SHARE * typical_at) & (typical_at >= MIN_HOURLY)
        runs = (dark != dark.shift()).cumsum()[dark]
        for _, run in runs.groupby(runs):
            first, last = run.index.min(), run.index.max()
            length = len(run)
            if length < OUTAGE_HOURS or first == hours.index.min() or last == hours.index.max():
                continue
            seen = int(hours[run.index].sum())
            findings.append(
                Finding(
                    campaign_id=str(campaign_id),
                    risk_type=RiskType.data,
                    subject="tracking",
                    severity=Severity.high,
                    window_start=first.to_pydatetime(),
                    window_end=(last + pd.Timedelta(hours=1)).to_pydatetime(),
                    confidence=0.9,
                    summary=f"Only {seen} impressions arrived in {length} hours against a median of {typical:.0f} "
                    "an hour.",
                    evidence={"hours": length, "impressions": seen, "median_hourly_impressions": typical},
                )
            )
    return findings
