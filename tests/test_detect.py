"""The causal anomaly detector, `pulsecast detect-csv` as a user runs it, and campaign dip findings."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulsecast.ml.outlook.detect import OUTPUT_COLUMNS, score_series
from pulsecast.ml.outlook.dips import dip_findings
from pulsecast.ml.outlook.findings import RiskType

PULSECAST = str(Path(sys.executable).parent / "pulsecast")


def noisy_daily_cycle(n: int, seed: int = 3, dip: tuple[int, int] | None = None) -> pd.DataFrame:
    """5-minute readings with a daily cycle and noise; `dip` = (start, length) drops the level by 60 %."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    value = 100 + 20 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 4, n)
    if dip:
        value[dip[0] : dip[0] + dip[1]] *= 0.4
    stamps = pd.date_range("2024-03-01", periods=n, freq="5min")
    return pd.DataFrame({"timestamp": stamps, "value": value})


def test_scores_up_to_a_point_do_not_change_when_later_points_arrive() -> None:
    full = noisy_daily_cycle(1500, dip=(1300, 40))
    whole = score_series(full)
    for cut in (400, 1000, 1320):
        prefix = score_series(full.iloc[:cut])
        pd.testing.assert_frame_equal(prefix, whole.iloc[:cut].reset_index(drop=True))


def test_an_injected_dip_is_flagged_near_its_start_and_a_clean_series_stays_mostly_quiet() -> None:
    dipped = score_series(noisy_daily_cycle(2000, dip=(1500, 60)))
    flagged = np.flatnonzero(dipped["is_anomaly"].to_numpy())
    assert any(1500 <= i <= 1510 for i in flagged), flagged
    assert list(dipped.columns[:4]) == OUTPUT_COLUMNS and dipped["anomaly_score"].between(0, 1).all()

    clean = score_series(noisy_daily_cycle(2000, seed=4))
    assert clean["is_anomaly"].sum() <= 5  # 2000 points: at most a handful of false alarms
    assert clean["anomaly_score"].iloc[:100].eq(0).all()  # no opinion before it has a history


def test_rows_keep_their_order_and_repeated_timestamps() -> None:
    frame = noisy_daily_cycle(600)
    frame = pd.concat([frame, frame.iloc[[300]]]).sample(frac=1, random_state=2).reset_index(drop=True)
    scored = score_series(frame)
    assert scored["timestamp"].tolist() == frame["timestamp"].tolist()
    assert scored["value"].tolist() == frame["value"].tolist()


def detect_csv(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PULSECAST_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    return subprocess.run(
        [PULSECAST, "detect-csv", *map(str, args)], env=environment, capture_output=True, text=True, timeout=300
    )


def test_detect_csv_writes_every_row_in_the_input_order_with_its_own_timestamps(tmp_path: Path) -> None:
    frame = noisy_daily_cycle(1200, dip=(1000, 30)).rename(columns={"timestamp": "ds", "value": "y"})
    frame["ds"] = frame["ds"].dt.strftime("%Y-%m-%d %H:%M:%S")
    frame = pd.concat([frame, frame.iloc[[500]]]).reset_index(drop=True)  # a repeated timestamp, as NAB has
    source, out = tmp_path / "series.csv", tmp_path / "out" / "scored.csv"
    frame.to_csv(source, index=False)

    result = detect_csv(source, "--output", out, "--freq", "5min", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    scored = pd.read_csv(out)
    assert list(scored.columns) == OUTPUT_COLUMNS
    assert scored["timestamp"].tolist() == frame["ds"].tolist()
    assert scored["is_anomaly"].isin([0, 1]).all() and scored["is_anomaly"].iloc[1000:1010].any()


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ("no such file",)),
        ("", ("not a readable CSV",)),
        ("when,amount\n2024-01-01,3\n", ("timestamp,value or ds,y", "when,amount")),
        ("timestamp,value\n", ("no rows",)),
        ("timestamp,value\n2024-01-01,3\n2024-01-02,lots\n", ("value", "'lots'", "row 2")),
        ("timestamp,value\n2024-01-01,3\nyesterday,4\n", ("timestamp", "'yesterday'", "row 2")),
        ("timestamp,value\n2024-01-01,\n2024-01-02,\n", ("no numeric value",)),
    ],
    ids=["missing-file", "empty-file", "no-usable-columns", "header-only", "non-numeric", "bad-timestamp", "no-values"],
)
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(
    tmp_path: Path, content: str | None, fragments: tuple[str, ...]
) -> None:
    source = tmp_path / "input.csv"
    if content is not None:
        source.write_text(content)
    result = detect_csv(source, "--output", tmp_path / "out.csv", tmp_path=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out.csv").exists()


def campaign_hours(days: int, outage: tuple[str, str] | None, seed: int = 1) -> pd.DataFrame:
    """Hourly Poisson impressions and clicks of one campaign with a daily cycle; `outage` loses 90 % of them."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2026-09-01", periods=24 * days, freq="h")
    rate = 40 + 25 * np.sin(2 * np.pi * (hours.hour.to_numpy() - 6) / 24)
    frame = pd.DataFrame({"campaign_id": "cmp-001", "event_hour": hours, "impressions": rng.poisson(rate)})
    frame["clicks"] = rng.binomial(frame["impressions"], 0.05)
    frame["conversions"] = rng.binomial(frame["clicks"], 0.1)
    if outage:
        lost = frame["event_hour"].between(*outage)
        for column in ("impressions", "clicks", "conversions"):
            frame.loc[lost, column] = (frame.loc[lost, column] * 0.1).round().astype(int)
    return frame


def daily_of(hourly: pd.DataFrame) -> pd.DataFrame:
    day = hourly["event_hour"].dt.floor("D").rename("day")
    return hourly.groupby(["campaign_id", day])[["impressions", "clicks", "conversions"]].sum().reset_index()


def test_a_recent_outage_is_one_dip_finding_with_its_numbers_and_old_or_clean_data_gives_none() -> None:
    outage = ("2026-10-12 09:00", "2026-10-12 17:00")
    hourly = campaign_hours(45, outage)
    found = dip_findings(hourly, daily_of(hourly), datetime(2026, 10, 15, 23))
    impressions = [f for f in found if f.subject == "impressions (hourly)"]
    assert len(impressions) == 1, [f.summary for f in found]
    dip = impressions[0]
    assert dip.risk_type is RiskType.performance_dip and dip.campaign_id == "cmp-001"
    assert (
        pd.Timestamp(outage[0]) - pd.Timedelta(hours=3)
        <= dip.window_start
        <= pd.Timestamp(outage[0]) + pd.Timedelta(hours=4)
    )
    assert dip.evidence["observed"] < dip.evidence["expected"] and dip.evidence["drop_share"] > 0.5
    assert 0.5 <= dip.confidence <= 1 and str(dip.evidence["observed"]).split(".")[0] in dip.summary

    assert dip_findings(hourly, daily_of(hourly), datetime(2026, 10, 30)) == []  # a dip long over is not news
    clean = campaign_hours(45, None)
    assert [f.summary for f in dip_findings(clean, daily_of(clean), datetime(2026, 10, 15, 23))] == []
