"""Recovery of the world's true response curves by `ml/response.py`, and its time per fit on this machine.

For a few generated worlds: the realised daily spend, conversions and revenue per campaign x channel (the events
generation emitted, counted by the replay baseline) are fitted; for each line still spending at the end, the
steady-state daily conversions at 0.7x, 1x and 1.3x its recent spend are compared with the true curve (adstock +
Hill, neutral calendar), as are the marginal conversions per extra USD, and the share of P10-P90 intervals that
hold the true value is counted.

    PYTHONPATH=. python bench/response.py [--seeds 3 5 11 13 17] [--events-per-day 100000] [--samples 50]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from pulsecast.generator import WorldConfig
from pulsecast.generator.dynamics import hill
from pulsecast.generator.replay import Baseline, baseline
from pulsecast.generator.world import Pairs
from pulsecast.ml.response import Curve, fit, predict

MULTIPLIERS = (0.7, 1.0, 1.3)
RECENT_DAYS = 14
STEADY_DAYS = 60
"""A constant plan this long reaches the steady state: the largest decay (0.9) leaves 0.9**60 < 0.2 %."""


def world(seed: int, events_per_day: int, days: int, campaigns: int) -> Baseline:
    config = WorldConfig(seed=seed, days=days, campaigns=campaigns, events_per_day=events_per_day,
                         end=datetime(2026, 11, 21, tzinfo=UTC))
    last = config.resolved_end().date() - timedelta(days=1)
    return baseline(config, last - timedelta(days=days - 1), last)


def daily_frame(base: Baseline) -> pd.DataFrame:
    """Realised measures per campaign x channel x day, as the marts would hold them."""
    table = base.replay.table().to_pandas()
    frame = table.rename(columns={"date": "day", "realised_spend": "spend", "realised_conversions": "conversions",
                                  "realised_revenue": "revenue"})
    return frame[["campaign_id", "channel", "day", "spend", "conversions", "revenue"]]


def steady(curve: Curve, spend: float) -> np.ndarray:
    """Per curve sample, expected conversions per day once `spend` per day has been kept up long enough."""
    return curve.expected(np.full(STEADY_DAYS, spend))[:, -1]


def true_steady(pairs: Pairs, line: int, spend: float) -> float:
    """The world's expected conversions per day of `line` at a steady daily `spend`, neutral calendar."""
    stock = np.array(spend / (1 - pairs.decay[line]))
    return float(pairs.beta[line] * hill(stock, pairs.half_saturation[line], pairs.shape[line]))


def score(base: Baseline, curves: dict[tuple[str, str], Curve], frame: pd.DataFrame) -> pd.DataFrame:
    pairs, rows = base.world.pairs, []
    recent = frame[frame["day"] > frame["day"].max() - pd.Timedelta(days=RECENT_DAYS)]
    current = recent.groupby(["campaign_id", "channel"])["spend"].mean()
    for i, key in enumerate(zip(base.replay.campaign_ids, base.replay.channels, strict=True)):
        if key not in curves or current.get(key, 0.0) <= 0:
            continue
        curve, spend = curves[key], current[key]

        row = {"campaign": key[0], "channel": key[1], "conv/day": frame.loc[
            (frame["campaign_id"] == key[0]) & (frame["channel"] == key[1]), "conversions"].mean()}
        for m in MULTIPLIERS:
            plan = pd.DataFrame({"campaign_id": key[0], "channel": key[1], "day": curve.plan_days(STEADY_DAYS),
                                 "spend": m * spend})
            one = predict({key: curve}, plan).iloc[-1]
            true = true_steady(pairs, i, m * spend)
            row[f"err {m}x"] = one["conversions_p50"] / true - 1
            row[f"in {m}x"] = one["conversions_p10"] <= true <= one["conversions_p90"]
            row[f"extrap {m}x"] = bool(one["extrapolated"])
        step = 0.01 * spend
        row["marginal true"] = (true_steady(pairs, i, spend + step) - true_steady(pairs, i, spend - step)) / (2 * step)
        row["marginal fit"] = float(np.median((steady(curve, spend + step) - steady(curve, spend - step)) / (2 * step)))
        row["decay true/fit"] = f"{pairs.decay[i]:.2f}/{curve.params[0, 3]:.2f}"
        row["shape true/fit"] = f"{pairs.shape[i]:.2f}/{curve.params[0, 2]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 11, 13, 17])
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--campaigns", type=int, default=8)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    tables, seconds, fits = [], 0.0, 0
    for seed in args.seeds:
        base = world(seed, args.events_per_day, args.days, args.campaigns)
        frame = daily_frame(base)
        started = time.perf_counter()
        curves = fit(frame, samples=args.samples, seed=seed)
        seconds += time.perf_counter() - started
        fits += len(curves)
        tables.append(score(base, curves, frame).assign(seed=seed))
    table = pd.concat(tables, ignore_index=True)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        print(table.drop(columns=[c for c in table if c.startswith("extrap")]).to_string(index=False))
    print(f"\n{len(table)} lines still spending, {fits} curves fitted, {args.samples} bootstrap samples each")
    for m in MULTIPLIERS:
        err = table[f"err {m}x"].abs()
        print(f"{m}x recent spend: median |rel. error| {err.median():.3f}, mean {err.mean():.3f}; P10-P90 holds "
              f"the truth {table[f'in {m}x'].mean():.2f}; extrapolated {table[f'extrap {m}x'].mean():.2f}")
    ratio = table["marginal fit"] / table["marginal true"]
    print(f"marginal return fitted/true: median {ratio.median():.2f}, P10-P90 {ratio.quantile(0.1):.2f}-"
          f"{ratio.quantile(0.9):.2f}")
    print(f"seconds per fit (point + {args.samples} bootstrap refits): {seconds / max(fits, 1):.3f}")


if __name__ == "__main__":
    main()
