"""Creative fatigue and competitor threats against the generated world's truth, beside the ad platforms' rules.

    .venv/bin/python bench/outlook_risks.py [--world DATA_DIR]

Replayed causally: every `STEP` days over the world's history, each detector sees only the days before that
as-of day (the rules too), and an entity's first alert is the first as-of day it is flagged.
- Creative fatigue, per creative: truth `fatigue_windows` (start = the day its age factor falls below the
  generator's fatigue threshold). An alert is right when it falls inside its window (from `EARLY` days before the
  start); recall counts windows starting inside the replay; delay = alert day - window start (negative:
  before the start). Rule: "CTR down 30 % from its first week" (trailing 7 days' CTR <= 0.7 x the first 7 days').
- Competitor threats, per campaign: truth `competitor_shocks` aimed at its brand or one of its channels. An alert
  is right when it falls inside a shock (up to `EARLY` days after its end). Rule: "cost per conversion >= 2x its
  first week" (trailing 7 days against the first 7).
The world needs `marts.creative_daily` (default: data/, what `make run` leaves).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml.outlook import fatigue, threats

STEP = 2
EARLY = 3
WEEK = 7


def as_of_days(days: pd.Series) -> list[pd.Timestamp]:
    first, last = days.min() + pd.Timedelta(days=21), days.max()
    return list(pd.date_range(first, last, freq=f"{STEP}D"))


def first_alerts(days: list[pd.Timestamp], alerts: Callable[[pd.Timestamp], set[str]]) -> dict[str, pd.Timestamp]:
    seen: dict[str, pd.Timestamp] = {}
    for day in days:
        for key in alerts(day) - set(seen):
            seen[key] = day
    return seen


def ctr_rule(daily: pd.DataFrame, key: str, day: pd.Timestamp) -> set[str]:
    """Entities whose trailing week's CTR is at most 0.7 x their first week's."""
    past = daily[daily["day"] < day]
    flagged = set()
    for entity, rows in past.groupby(key):
        if len(rows) < 2 * WEEK:
            continue
        first, last = rows.iloc[:WEEK], rows.iloc[-WEEK:]
        base = first["clicks"].sum() / max(first["impressions"].sum(), 1)
        if base > 0 and last["clicks"].sum() / max(last["impressions"].sum(), 1) <= 0.7 * base:
            flagged.add(str(entity))
    return flagged


def cpa_rule(daily: pd.DataFrame, day: pd.Timestamp) -> set[str]:
    """Campaigns whose trailing week's cost per conversion is at least 2x their first week's."""
    past = daily[daily["day"] < day]
    flagged = set()
    for campaign, rows in past.groupby("campaign_id"):
        if len(rows) < 2 * WEEK:
            continue
        first, last = rows.iloc[:WEEK], rows.iloc[-WEEK:]
        if first["conversions"].sum() == 0:
            continue
        base = first["spend"].sum() / first["conversions"].sum()
        recent = last["spend"].sum() / last["conversions"].sum() if last["conversions"].sum() else np.inf
        if recent >= 2 * base:
            flagged.add(str(campaign))
    return flagged


def score(alerts: dict[str, pd.Timestamp], windows: dict[str, list[tuple]], start: pd.Timestamp, after: bool) -> dict:
    """Precision over first alerts, recall over windows starting inside the replay, median delay in days
    (alert day - window start)."""
    right, leads = 0, []
    for key, day in alerts.items():
        hit = [w for w in windows.get(key, []) if _inside(day, w, after)]
        if hit:
            right += 1
            leads.append((day - hit[0][0]).days)
    eligible = [(key, w) for key, ws in windows.items() for w in ws if w[0] >= start]
    caught = sum(key in alerts and _inside(alerts[key], w, after) for key, w in eligible)
    return {
        "alerts": len(alerts),
        "precision": round(right / len(alerts), 3) if alerts else None,
        "recall": round(caught / len(eligible), 3) if eligible else None,
        "delay_days": float(np.median(leads)) if leads else None,
    }


def _inside(day: pd.Timestamp, window: tuple, after: bool) -> bool:
    start, end = window
    if after:
        return start <= day <= end + pd.Timedelta(days=EARLY)
    return start - pd.Timedelta(days=EARLY) <= day <= end


def run(quick: bool = False, world: Path | None = None) -> list[dict]:
    world = world or Path(os.environ.get("PULSECAST_OUTLOOK_WORLD", "data"))
    truth = json.loads((world / "truth" / "world.json").read_text())
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        creatives = fatigue.read_creatives(con)
        campaigns = con.execute(
            "SELECT campaign_id, day, impressions, clicks, conversions, CAST(spend AS DOUBLE) AS spend "
            "FROM marts.campaign_daily ORDER BY campaign_id, day"
        ).df()
        signals, _ = threats.load_threat_inputs(con, campaigns["day"].max())
    for frame in (creatives, campaigns):
        frame["day"] = pd.to_datetime(frame["day"])
    days = as_of_days(campaigns["day"])
    end_of_data = campaigns["day"].max()

    fatigue_truth: dict[str, list[tuple]] = {}
    for window in truth["fatigue_windows"]:
        end = pd.Timestamp(window["end"]) if window["end"] else end_of_data
        fatigue_truth.setdefault(window["creative_id"], []).append((pd.Timestamp(window["start"]), end))
    ours = first_alerts(
        days,
        lambda d: {f.subject for f in fatigue.fatigue_findings(creatives[creatives["day"] < d]) if f.window_start < d},
    )
    rule = first_alerts(days, lambda d: ctr_rule(creatives, "creative_id", d))

    by_campaign = {c["campaign_id"]: c for c in truth["campaigns"]}
    shocks: dict[str, list[tuple]] = {}
    for shock in truth["competitor_shocks"]:
        for campaign_id, campaign in by_campaign.items():
            if shock["target"] == campaign["brand_id"] or shock["target"] in campaign["channels"]:
                shocks.setdefault(campaign_id, []).append((pd.Timestamp(shock["start"]), pd.Timestamp(shock["end"])))
    threat = first_alerts(
        days,
        lambda d: {
            f.campaign_id
            for f in threats.competitor_threat(signals[signals["day"] < d], campaigns[campaigns["day"] < d])
        },
    )
    cpa = first_alerts(days, lambda d: cpa_rule(campaigns, d))

    rows = []
    for name, alerts, windows, after in (
        ("creative fatigue: pulsecast", ours, fatigue_truth, False),
        ("creative fatigue: rule CTR -30 % from first week", rule, fatigue_truth, False),
        ("competitor threat: pulsecast", threat, shocks, True),
        ("competitor threat: rule CPA >= 2x first week", cpa, shocks, True),
    ):
        figures = score(alerts, windows, days[0], after)
        for figure, value in figures.items():
            rows.append({"name": f"{name}: {figure}", "value": value, "reference": "", "goal": "", "ok": None})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path)
    args = parser.parse_args()
    for row in run(world=args.world):
        print(f"{row['name']}: {row['value']}")
