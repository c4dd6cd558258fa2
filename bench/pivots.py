"""Budget pivots in closed loop against the generated world's ground truth.

Per world seed: the world's history up to a cutoff is fitted (`ml/response.py`), each campaign gets a budget
pivot (`ml/pivots.py`), and the world is replayed from the cutoff under all the pivots at once (spend
multipliers per line; common random numbers keep every campaign's effect its own) and under no change. Per
campaign the lift is replay minus baseline in conversions over the horizon, both expected (the truth's
expectation: what the pivot is worth) and realised (the counts, with the changed cells' noise), compared with
the predicted P10 / P50 / P90 and with the true optimum's expected lift under the same bounds.

    PYTHONPATH=. python bench/pivots.py [--seeds 3 5 11 13 17] [--campaigns 30] [--events-per-day 100000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from bench.response import daily_frame
from pulsecast.generator import WorldConfig
from pulsecast.generator.intervention import Intervention, SpendChange
from pulsecast.generator.optimum import true_optimum
from pulsecast.generator.replay import Baseline, baseline, replay
from pulsecast.ml.pivots import Pivot, current_spend, recommend
from pulsecast.ml.response import fit

STEADY = 1.25
"""The `steady` column scores the campaigns whose spend over the horizon stays within 1/1.25-1.25x of the
current daily spend (no pacing down to a budget's end): where the flat-spend assumption holds."""


def worlds(seed: int, args: argparse.Namespace) -> tuple[Baseline, Baseline]:
    """The history before the cutoff and the `horizon` days from it, of one generated world."""
    config = WorldConfig(seed=seed, days=args.days, campaigns=args.campaigns, events_per_day=args.events_per_day,
                         end=datetime(2026, 11, 21, tzinfo=UTC))
    last = config.resolved_end().date() - timedelta(days=1)
    cutoff = last - timedelta(days=args.horizon - 1)
    return baseline(config, last - timedelta(days=args.days - 1), cutoff - timedelta(days=1)), baseline(
        config, cutoff, last)


def running(future: Baseline) -> dict[str, int]:
    """Days of the horizon each campaign still delivers, from its flight's end date (known to a planner)."""
    campaigns, days = future.world.campaigns, future.plan.days
    ends = np.minimum(campaigns.end, days[-1]) - days[0] + 1
    return dict(zip(campaigns.ids, np.clip(ends, 0, len(days)).astype(int).tolist(), strict=True))


def intervention(pivots: list[Pivot]) -> Intervention:
    return Intervention(spend=tuple(
        SpendChange(campaign_id=p.campaign_id, channel=ch, multiplier=float(r / c))
        for p in pivots if p.moved for ch, c, r in zip(p.channels, p.current, p.recommended, strict=True)
    ))


def closed_loop(seed: int, args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, float]]:
    history, future = worlds(seed, args)
    frame = daily_frame(history)
    started = time.perf_counter()
    curves = fit(frame, samples=args.samples, seed=seed)
    fitted = time.perf_counter()
    pivots = recommend(curves, current_spend(frame), horizon=args.horizon, bound=args.bound,
                       running=running(future))
    recommended = time.perf_counter()
    effect = replay(future, intervention(pivots)).minus(future.replay)
    campaign_ids = np.array(future.replay.campaign_ids)
    rows = []
    for p in pivots:
        lines = campaign_ids == p.campaign_id
        if future.replay.expected.spend[:, lines].sum() == 0:
            continue  # the campaign ended by the cutoff: nothing to pivot
        rows.append({
            "seed": seed, "campaign": p.campaign_id, "channels": len(p.channels), "moved": p.moved,
            "p10": p.lift_p10, "p50": p.lift_p50, "p90": p.lift_p90, "confidence": p.confidence,
            "extrapolated": p.extrapolated,
            "expected": effect.expected.conversions[:, lines].sum(),
            "realised": effect.realised.conversions[:, lines].sum(),
            "optimal": true_optimum(future, [p.campaign_id], bound=args.bound).lift,
            "conversions": future.replay.expected.conversions[:, lines].sum(), "predicted": p.conversions,
            "spend ratio": future.replay.expected.spend[:, lines].sum() / (p.current.sum() * args.horizon),
        })
    seconds = {"fit s": fitted - started, "recommend s": recommended - fitted, "lines": len(curves)}
    return pd.DataFrame(rows), seconds


def summary(table: pd.DataFrame) -> dict[str, float]:
    """The closed-loop scores over the campaigns of `table`; accuracy and honesty over the moved ones."""
    moved = table[table["moved"]]
    out: dict[str, float] = {"campaigns": len(table), "moved": len(moved)}
    for kind in ("expected", "realised"):
        ratio = moved[kind] / moved["p50"]
        out[f"acc {kind} mean"] = ratio.mean()
        out[f"acc {kind} median"] = ratio.median()
        out[f"in P10-P90 {kind}"] = ((moved[kind] >= moved["p10"]) & (moved[kind] <= moved["p90"])).mean()
        out[f"captured {kind}"] = table[kind].sum() / table["optimal"].sum()
    out["captured expected median"] = (moved["expected"] / moved["optimal"]).median()
    out["optimal lift %"] = 100 * table["optimal"].sum() / table["conversions"].sum()
    for kind in ("expected", "realised"):
        out[f"harm {kind}"] = int(((moved[kind] < 0) & (moved[kind] < moved["p10"])).sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 11, 13, 17])
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--campaigns", type=int, default=30)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bound", type=float, default=0.3)
    args = parser.parse_args()
    tables, scores = [], []
    for seed in args.seeds:
        started = time.perf_counter()
        table, seconds = closed_loop(seed, args)
        tables.append(table)
        scores.append({"seed": seed, **summary(table), **seconds, "total s": time.perf_counter() - started})
    table = pd.concat(tables, ignore_index=True)
    scores.append({"seed": "all", **summary(table), **{k: sum(s[k] for s in scores) for k in
                                                      ("fit s", "recommend s", "lines", "total s")}})
    steady = table["spend ratio"].between(1 / STEADY, STEADY)
    scores.append({"seed": "steady", **summary(table[steady])})
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
        print()
        print(pd.DataFrame(scores).set_index("seed").T.to_string())


if __name__ == "__main__":
    main()
