"""Performance dips per campaign: hourly and daily delivery falling below what its own recent past predicts.

A campaign manager's dip is a stretch of hours or days with clearly fewer impressions, clicks or conversions
than expected, not one quiet hour: the causal detector of `ml.outlook.detect` looks only downwards, and its
scales (medians of 3 to 12 hours, 1 to 7 days) carry the evidence when single hours are sparse counts. Each
flag becomes one finding whose window runs from where the metric fell below its baseline to where it came
back (open while it has not), with the expected and observed totals over that window as evidence. Only dips
still relevant at `as_of` are reported: ones that ended within `recent` of it, or are still going on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml.outlook.detect import DetectorConfig, score_series
from pulsecast.ml.outlook.findings import Finding, RiskType, Severity

METRICS = {"hourly": ("impressions", "clicks", "conversions"), "daily": ("impressions", "clicks", "conversions")}
"""The metrics watched at each grain (the marts' columns)."""
GRAINS = {"hourly": ("event_hour", "h"), "daily": ("day", "D")}
"""Each grain's time column and frequency."""
DIP_CONFIG = {
    "hourly": DetectorConfig(direction="down", scales=(3, 6, 12)),
    "daily": DetectorConfig(direction="down", scales=(1, 3, 7), min_history=30, refractory=7),
}
"""Downward-only detectors: a dip is never one quiet hour, and daily series are short (months, not years)."""
RECENT = pd.Timedelta(days=7)
MIN_EXPECTED = 5.0
"""A dip must miss at least this many units over its window: a campaign expecting 0.3 clicks is never 'down'."""


@dataclass(frozen=True)
class Dip:
    """One dip of one series: its window (end None while still going on) and its numbers."""

    start: pd.Timestamp
    end: pd.Timestamp | None
    last: pd.Timestamp
    expected: float
    observed: float
    score: float
    points: int

    @property
    def drop_share(self) -> float:
        return 1.0 - self.observed / self.expected if self.expected > 0 else 0.0


def read_dip_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`marts.campaign_hourly` and `marts.campaign_daily`: campaign, time column and the watched metrics."""
    frames = []
    for grain, table in (("hourly", "campaign_hourly"), ("daily", "campaign_daily")):
        column, metrics = GRAINS[grain][0], ", ".join(METRICS[grain])
        frames.append(con.sql(f"SELECT campaign_id, {column}, {metrics} FROM marts.{table} ORDER BY 1, 2").df())
    return frames[0], frames[1]


def dip_findings(
    hourly: pd.DataFrame, daily: pd.DataFrame, as_of: datetime, recent: pd.Timedelta = RECENT
) -> list[Finding]:
    """Findings (risk type `performance_dip`, subject `metric (grain)`) for every recent dip of every campaign."""
    as_of = pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    findings = []
    for grain, frame in (("hourly", hourly), ("daily", daily)):
        column, freq = GRAINS[grain]
        frame = frame.assign(**{column: pd.to_datetime(frame[column])})
        frame = frame[frame[column] <= as_of]
        for campaign_id, rows in frame.groupby("campaign_id", sort=True):
            for metric in METRICS[grain]:
                series = _complete(rows.set_index(column)[metric].astype(float), freq)
                for dip in series_dips(series, freq, DIP_CONFIG[grain]):
                    if dip.end is None or dip.end >= as_of - recent:
                        findings.append(_finding(str(campaign_id), metric, grain, dip))
    return findings


def _complete(values: pd.Series, freq: str) -> pd.Series:
    """Counts on the full grid from the first to the last row: a missing hour or day had nothing."""
    values = values.groupby(level=0).sum()
    return values.reindex(pd.date_range(values.index.min(), values.index.max(), freq=freq), fill_value=0.0)


def series_dips(values: pd.Series, freq: str, config: DetectorConfig) -> list[Dip]:
    """The dips of one regular series (indexed by time), each flag widened to the stretch below baseline."""
    scored = score_series(pd.DataFrame({"timestamp": values.index, "value": values.to_numpy()}), freq, config)
    shortfall = (scored["value"] - scored["expected"]).rolling(5, center=True, min_periods=1).median()
    below = (shortfall < 0).to_numpy()  # the window's extent may look ahead: it describes the past
    score, expected = scored["anomaly_score"].to_numpy(), scored["expected"].to_numpy()
    dips, covered = [], -1
    for t in np.flatnonzero(scored["is_anomaly"].to_numpy()):
        if t <= covered:
            continue
        first = t
        while first > max(covered + 1, t - max(config.scales) + 1) and below[first - 1]:
            first -= 1
        last = t
        while last + 1 < len(below) and below[last + 1]:
            last += 1
        covered = last
        window = slice(first, last + 1)
        missed = float(np.nansum(expected[window]))
        if missed - float(values.iloc[window].sum()) < MIN_EXPECTED:
            continue
        ongoing = last == len(below) - 1
        dips.append(
            Dip(
                start=values.index[first],
                end=None if ongoing else values.index[last],
                last=values.index[last],
                expected=missed,
                observed=float(values.iloc[window].sum()),
                score=float(score[window].max()),
                points=last - first + 1,
            )
        )
    return dips


def _finding(campaign_id: str, metric: str, grain: str, dip: Dip) -> Finding:
    drop = dip.drop_share
    severity = (
        Severity.high
        if drop >= 0.5 and dip.score >= 0.75
        else Severity.medium
        if drop >= 0.25 and dip.score >= 0.6
        else Severity.low
    )
    unit = "hours" if grain == "hourly" else "days"
    evidence: dict[str, float | int | str] = {
        "metric": metric,
        "grain": grain,
        "expected": round(dip.expected, 1),
        "observed": round(dip.observed, 1),
        "drop_share": round(drop, 3),
        "score": round(dip.score, 3),
        unit: dip.points,
    }
    summary = (
        f"{metric.capitalize()} ({grain}) {drop:.0%} below expected over {dip.points} {unit}: "
        f"{dip.observed:.0f} observed vs {dip.expected:.0f} expected (anomaly score {dip.score:.2f})."
    )
    return Finding(
        campaign_id=campaign_id,
        risk_type=RiskType.performance_dip,
        subject=f"{metric} ({grain})",
        severity=severity,
        window_start=dip.start.to_pydatetime(),
        window_end=None if dip.end is None else dip.end.to_pydatetime(),
        confidence=float(min(max(dip.score, 0.0), 1.0)),
        summary=summary,
        evidence=evidence,
    )


def recent_dips(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """The dips still relevant at the newest data: hours up to the newest one, days up to the last complete one
    (the newest day is still filling and would read as a dip)."""
    hourly, daily = read_dip_inputs(con)
    if hourly.empty:
        return []
    complete = daily[pd.to_datetime(daily["day"]) < pd.to_datetime(daily["day"]).max()]
    return dip_findings(hourly, complete, hourly["event_hour"].max())
