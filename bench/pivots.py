"""Budget pivots in closed loop against the generated world's ground truth, beside the two habits they must beat.

Per world seed: the world's history up to a cutoff is fitted (`ml/response.py`), and each policy moves every
campaign's budget: `before` (the pivots without the optimiser's-curse corrections: SHRINK = SPREAD = 1,
POOL = 0), `uncorrected` (at this run's POOL, without SHRINK and SPREAD: for --calibrate), `pivots`
(`ml/pivots.py` as it is; `pivots, any gain` without its minimum gain; `brand pivots` across each brand's
campaigns, scored per brand against the optimum over all its lines; `channel shifts`, `ml/channel_shift.py`),
`best ROAS` and `equal split` (`ml/pivot_baselines.py`). The world is replayed from the cutoff under each
policy's moves at once (spend multipliers per line; common random numbers keep every campaign's effect its own)
and under no change. Per campaign the lift is replay minus baseline in conversions over the horizon, both
expected (the truth's expectation: what the move is worth) and realised (the counts, with the changed cells'
noise), compared with the predicted P10 / P50 / P90 (for the realised lift, the interval widened by the Poisson
noise of the moved conversions) and with the true optimum's expected lift under the same bounds.

    PYTHONPATH=. python bench/pivots.py [--seeds 3 5 11 13 17] [--campaigns 30] [--events-per-day 100000]
    PYTHONPATH=. python bench/pivots.py --calibrate --seeds 19 23 29 [--pool 0.5]  # SHRINK, SPREAD on other worlds
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from bench.response import daily_frame
from pulsecast.generator import WorldConfig
from pulsecast.generator.intervention import Intervention, SpendChange
from pulsecast.generator.optimum import true_optimum
from pulsecast.generator.replay import Baseline, baseline, replay
from pulsecast.ml import pivots as pivot_module
from pulsecast.ml.channel_shift import recommend_shifts
from pulsecast.ml.pivot_baselines import baseline_pivots, best_roas_rule, equal_split, historical_roas
from pulsecast.ml.pivots import Pivot, current_spend, recommend, recommend_brands
from pulsecast.ml.response import fit

STEADY = 1.25
"""The `steady` scores keep the campaigns whose spend over the horizon stays within 1/1.25-1.25x of the current
daily spend (no pacing down to a budget's end): where the flat-spend assumption holds."""
Z80 = 1.2816
"""The normal quantile of 0.9: a P10-P90 half-width in standard deviations."""


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


def brands(future: Baseline) -> dict[str, str]:
    """Campaign -> brand id, as a planner knows them."""
    world = future.world
    return {c: world.brands.ids[b] for c, b in zip(world.campaigns.ids, world.campaigns.brand, strict=True)}


def intervention(pivots: list[Pivot]) -> Intervention:
    return Intervention(spend=tuple(
        SpendChange(campaign_id=c, channel=ch, multiplier=float(r / n))
        for p in pivots if p.moved for (c, ch), n, r in zip(p.lines, p.current, p.recommended, strict=True)
    ))


@contextmanager
def constants(shrink: float, spread: float, pool: float) -> Iterator[None]:
    """`ml.pivots` with other correction constants for the policies made inside."""
    kept = pivot_module.SHRINK, pivot_module.SPREAD, pivot_module.POOL
    pivot_module.SHRINK, pivot_module.SPREAD, pivot_module.POOL = shrink, spread, pool
    try:
        yield
    finally:
        pivot_module.SHRINK, pivot_module.SPREAD, pivot_module.POOL = kept


def policies(frame: pd.DataFrame, future: Baseline, args: argparse.Namespace, seed: int,
             names: list[str]) -> dict[str, list[Pivot]]:
    curves = fit(frame, samples=args.samples, seed=seed)
    options = {"curves": curves, "current": current_spend(frame), "horizon": args.horizon, "bound": args.bound,
               "running": running(future)}
    makers: dict[str, Callable[[], list[Pivot]]] = {
        "pivots": lambda: recommend(**options),
        "pivots, any gain": lambda: recommend(**options, min_gain=0.0),
        "brand pivots": lambda: recommend_brands(**options, brands=brands(future)),
        "channel shifts": lambda: recommend_shifts(**options),
        "best ROAS": lambda: baseline_pivots(best_roas_rule(historical_roas(frame)), "best ROAS", **options),
        "equal split": lambda: baseline_pivots(equal_split, "equal split", **options),
    }
    out = {}
    if "before" in names:
        with constants(1.0, 1.0, 0.0):
            out["before"] = recommend(**options)
    if "uncorrected" in names:
        with constants(1.0, 1.0, pivot_module.POOL):
            out["uncorrected"] = recommend(**options)
    return out | {name: makers[name]() for name in names if name in makers}


def closed_loop(seed: int, args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, float]]:
    history, future = worlds(seed, args)
    frame = daily_frame(history)
    started = time.perf_counter()
    chosen = policies(frame, future, args, seed, args.policies)
    decided = time.perf_counter()
    campaign_ids = np.array(future.replay.campaign_ids)
    optimal: dict[str, float] = {}
    rows = []
    for name, pivots in chosen.items():
        effect = replay(future, intervention(pivots)).minus(future.replay)
        for p in pivots:
            campaigns = sorted({c for c, _ in p.lines})
            lines = np.isin(campaign_ids, campaigns)
            if future.replay.expected.spend[:, lines].sum() == 0:
                continue  # the campaign ended by the cutoff: nothing to pivot
            if p.scope not in optimal:
                optimal[p.scope] = true_optimum(future, campaigns, bound=args.bound).lift
            rows.append({
                "seed": seed, "policy": name, "campaign": p.scope, "channels": len(p.lines),
                "moved": p.moved, "p10": p.lift_p10, "p50": p.lift_p50, "p90": p.lift_p90, "noise": p.noise,
                "confidence": p.confidence, "extrapolated": p.extrapolated,
                "expected": effect.expected.conversions[:, lines].sum(),
                "realised": effect.realised.conversions[:, lines].sum(),
                "optimal": optimal[p.scope],
                "conversions": future.replay.expected.conversions[:, lines].sum(),
                "spend ratio": future.replay.expected.spend[:, lines].sum() / (p.current.sum() * args.horizon),
            })
    return pd.DataFrame(rows), {"fit+decide s": decided - started, "replay s": time.perf_counter() - decided}


def summary(table: pd.DataFrame) -> dict[str, float]:
    """The closed-loop scores of one policy over the campaigns of `table`; accuracy and honesty over the moved
    ones. The realised lift's interval adds the moved conversions' Poisson noise to the expected lift's."""
    moved = table[table["moved"]]
    out: dict[str, float] = {"campaigns": len(table), "moved": len(moved)}
    low = moved["p50"] - np.hypot(moved["p50"] - moved["p10"], Z80 * moved["noise"])
    high = moved["p50"] + np.hypot(moved["p90"] - moved["p50"], Z80 * moved["noise"])
    for kind in ("expected", "realised"):
        ratio = moved[kind] / moved["p50"]
        out[f"acc {kind} mean"] = ratio.mean()
        out[f"acc {kind} median"] = ratio.median()
        out[f"acc {kind} sum/sum"] = moved[kind].sum() / moved["p50"].sum()
        out[f"in P10-P90 {kind}"] = ((moved[kind] >= moved["p10"]) & (moved[kind] <= moved["p90"])).mean()
    out["in predictive P10-P90 realised"] = ((moved["realised"] >= low) & (moved["realised"] <= high)).mean()
    for kind in ("expected", "realised"):
        out[f"captured {kind}"] = table[kind].sum() / table["optimal"].sum()
    out["captured expected median"] = (moved["expected"] / moved["optimal"]).median()
    out["optimal lift %"] = 100 * table["optimal"].sum() / table["conversions"].sum()
    out["harm expected (<0, <P10)"] = int(((moved["expected"] < 0) & (moved["expected"] < moved["p10"])).sum())
    out["harm realised (<0, <P10)"] = int(((moved["realised"] < 0) & (moved["realised"] < low)).sum())
    out["negative expected"] = int((moved["expected"] < 0).sum())
    return out


def calibration(table: pd.DataFrame) -> dict[str, float]:
    """SHRINK and SPREAD from the uncorrected pivots (at this run's POOL): the shrink that makes the expected
    lift's mean equal the predicted median's (sum over sum: small predictions do not dominate), then the spread
    whose P10-P90 around the shrunk median holds 80 % of the expected lifts."""
    moved = table[(table["policy"] == "uncorrected") & table["moved"]]
    shrink = moved["expected"].sum() / moved["p50"].sum()
    center, below, above = shrink * moved["p50"], shrink * (moved["p50"] - moved["p10"]), shrink * (
        moved["p90"] - moved["p50"])
    spreads = np.linspace(0.5, 6, 111)
    held = [((moved["expected"] >= center - s * below) & (moved["expected"] <= center + s * above)).mean()
            for s in spreads]
    return {"moved": len(moved), "SHRINK": shrink, "SPREAD": float(spreads[np.argmin(np.abs(np.array(held) - 0.8))])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 11, 13, 17])
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--campaigns", type=int, default=30)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bound", type=float, default=0.3)
    parser.add_argument("--policies", nargs="+", default=["before", "pivots", "best ROAS", "equal split"])
    parser.add_argument("--pool", type=float, default=pivot_module.POOL, help="the pooled-shape weight (POOL)")
    parser.add_argument("--calibrate", action="store_true", help="print SHRINK and SPREAD from these seeds")
    args = parser.parse_args()
    pivot_module.POOL = args.pool
    if args.calibrate:
        args.policies = ["before", "uncorrected", "best ROAS"]
    tables, seconds = [], []
    for seed in args.seeds:
        started = time.perf_counter()
        table, timing = closed_loop(seed, args)
        tables.append(table)
        seconds.append({"seed": seed, **timing, "total s": time.perf_counter() - started})
        print(f"seed {seed}: {seconds[-1]}", flush=True)
    table = pd.concat(tables, ignore_index=True)
    steady = table["spend ratio"].between(1 / STEADY, STEADY)
    scores = {name: summary(table[table["policy"] == name]) for name in args.policies}
    scores |= {f"{name}, steady": summary(table[steady & (table["policy"] == name)]) for name in ("before", "pivots")
               if name in args.policies}  # fmt: skip
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
        print()
        print(pd.DataFrame(seconds).set_index("seed").to_string())
        print()
        print(pd.DataFrame(scores).to_string())
        if args.calibrate:
            print(calibration(table))


if __name__ == "__main__":
    main()
