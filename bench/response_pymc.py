"""pymc-marketing's MMM beside `ml/response.py` on the worlds and recovery figures of `bench/response.py`.

pymc-marketing stays out of the project's environment (its pins would move pandas, scipy, numpy): the bench is
split in three steps over two environments, from the work tree's root.

    # 1. project venv: generate the worlds as bench/response.py does, fit and score ml/response.py there, and
    #    write each line's daily spend / conversions, recent spend and true curve values to OUT/
    PYTHONPATH=. /work/main/.venv/bin/python bench/response_pymc.py worlds --seeds 3 5 --out /tmp/pymc-bench
    # 2. a separate venv with pymc-marketing (python3 -m venv /work/pymc-venv; /work/pymc-venv/bin/pip install
    #    pymc-marketing): one MMM per campaign, its channels as the channel columns (--per-line: one per line)
    /work/pymc-venv/bin/python bench/pymc_fit.py /tmp/pymc-bench [--per-line] [--chains 2 --draws 500 --tune 500]
    # 3. project venv: both methods' recovery figures side by side
    PYTHONPATH=. /work/main/.venv/bin/python bench/response_pymc.py score --out /tmp/pymc-bench
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from bench.response import MULTIPLIERS, RECENT_DAYS, daily_frame, score, true_steady, world
from pulsecast.ml.response import fit


def worlds(args: argparse.Namespace) -> None:
    """Per seed: the daily frame, per line its recent spend with the true steady conversions and marginal
    return, and ml/response.py's scored table with its seconds per fit."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, truths, tables = [], [], []
    for seed in args.seeds:
        base = world(seed, args.events_per_day, args.days, args.campaigns)
        frame = daily_frame(base)
        started = time.perf_counter()
        curves = fit(frame, samples=args.samples, seed=seed)
        seconds = (time.perf_counter() - started) / max(len(curves), 1)
        tables.append(score(base, curves, frame).assign(seed=seed, seconds=seconds))
        frames.append(frame.assign(seed=seed))
        recent = frame[frame["day"] > frame["day"].max() - pd.Timedelta(days=RECENT_DAYS)]
        current = recent.groupby(["campaign_id", "channel"])["spend"].mean()
        pairs = base.world.pairs
        for i, key in enumerate(zip(base.replay.campaign_ids, base.replay.channels, strict=True)):
            spend = current.get(key, 0.0)
            if key not in curves or spend <= 0:
                continue
            step = 0.01 * spend
            row = {"seed": seed, "campaign": key[0], "channel": key[1], "spend": spend,
                   "decay": pairs.decay[i], "half_saturation": pairs.half_saturation[i], "shape": pairs.shape[i],
                   "beta": pairs.beta[i], "marginal true": (true_steady(pairs, i, spend + step)
                                                            - true_steady(pairs, i, spend - step)) / (2 * step)}
            row.update({f"true {m}x": true_steady(pairs, i, m * spend) for m in MULTIPLIERS})
            truths.append(row)
    pd.concat(frames, ignore_index=True).to_csv(out / "daily.csv", index=False)
    pd.DataFrame(truths).to_csv(out / "truth.csv", index=False)
    pd.concat(tables, ignore_index=True).to_csv(out / "scipy.csv", index=False)
    print(f"{len(truths)} lines still spending over seeds {args.seeds}: {out}")


def score_pymc(truth: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """bench/response.py's per-line figures for the MMM's steady-state quantiles (bench/pymc_fit.py)."""
    table = truth.merge(curves, on=["seed", "campaign", "channel"])
    for m in MULTIPLIERS:
        true = table[f"true {m}x"]
        table[f"err {m}x"] = table[f"p50 {m}x"] / true - 1
        table[f"in {m}x"] = (table[f"p10 {m}x"] <= true) & (true <= table[f"p90 {m}x"])
    return table


def summary(name: str, table: pd.DataFrame, seconds: float) -> dict[str, object]:
    ratio = table["marginal fit"] / table["marginal true"]
    row: dict[str, object] = {"method": name, "lines": len(table)}
    for m in MULTIPLIERS:
        row[f"|err| {m}x"] = f"{table[f'err {m}x'].abs().median():.3f}"
    for m in MULTIPLIERS:
        row[f"cover {m}x"] = f"{table[f'in {m}x'].mean():.2f}"
    row["marginal fit/true P10-P50-P90"] = "-".join(f"{ratio.quantile(q):.2f}" for q in (0.1, 0.5, 0.9))
    row["s/line"] = f"{seconds:.2f}"
    return row


def compare(args: argparse.Namespace) -> None:
    """The summary per method (the MMM per campaign, and per line when `pymc_fit.py --per-line` ran too), then
    the per-line error at the recent spend and marginal return of each."""
    out = Path(args.out)
    truth, scipy = pd.read_csv(out / "truth.csv"), pd.read_csv(out / "scipy.csv")
    seeds = sorted(int(s) for s in pd.read_csv(out / "pymc_timing.csv")["seed"].unique())
    scipy = scipy[scipy["seed"].isin(seeds)]
    rows = [summary("scipy + bootstrap (ml/response.py)", scipy, scipy.groupby("seed")["seconds"].first().mean())]
    keys = ["seed", "campaign", "channel"]
    side = scipy[[*keys, "err 1.0x", "marginal true", "marginal fit", "decay true/fit"]]
    for name, shape in (("pymc", "one per campaign"), ("pymc_lines", "one per line")):
        if not (out / f"{name}_timing.csv").exists():
            continue
        timing = pd.read_csv(out / f"{name}_timing.csv")
        pymc = score_pymc(truth, pd.read_csv(out / f"{name}_curves.csv"))
        label = f"MMM {shape}"
        rows.append(summary(f"pymc-marketing {timing['version'].iloc[0]}, {label}", pymc,
                            timing["seconds"].sum() / timing["lines"].sum()))
        print(f"{label}: {timing['sampler'].iloc[0]}, {len(timing)} models, {timing['seconds'].sum():.0f} s in "
              f"all, {timing['failed attempts'].sum()} failed attempts, max R-hat {timing['rhat'].max():.2f}, "
              f"{timing['divergences'].sum()} divergences")
        side = side.merge(pymc[[*keys, "err 1.0x", "marginal fit", "decay fit"]].rename(
            columns=lambda c, label=label: c if c in keys else f"{c} ({label})"), on=keys)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(f"seeds {seeds}\n\n{pd.DataFrame(rows).to_string(index=False)}")
        print("\n" + side.to_string(index=False, float_format="{:.3f}".format))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("worlds", help="generate the worlds, fit and score ml/response.py, write the files")
    gen.add_argument("--seeds", type=int, nargs="+", default=[3, 5])
    gen.add_argument("--events-per-day", type=int, default=100_000)
    gen.add_argument("--days", type=int, default=120)
    gen.add_argument("--campaigns", type=int, default=8)
    gen.add_argument("--samples", type=int, default=50)
    gen.add_argument("--out", required=True)
    gen.set_defaults(run=worlds)
    cmp = sub.add_parser("score", help="both methods' recovery figures, after bench/pymc_fit.py")
    cmp.add_argument("--out", required=True)
    cmp.set_defaults(run=compare)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
