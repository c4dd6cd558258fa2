"""pymc-marketing's MMM on the worlds written by `bench/response_pymc.py worlds`: run in its own venv (see there).

One MMM per campaign and seed, its channels as the channel columns, daily conversions the target: geometric
adstock (not normalised, so `alpha` is the world's decay; L_MAX days) under Hill saturation, the package's
default priors, likelihood (Normal) and intercept; campaigns without a line still spending are skipped (nothing
to score); `--per-line` fits one single-channel MMM per line instead, which sees each line's own conversions
rather than the campaign's total. From the posterior, per line still spending: P10 / P50 / P90 of the channel's
steady-state contribution (conversions per day) at 0.7x / 1x / 1.3x its recent spend, and the median marginal
conversions per USD; per model the seconds (build, compile, sampling and failed attempts), R-hat, divergences.

    /work/pymc-venv/bin/python bench/pymc_fit.py OUT [--per-line] [--chains 2 --draws 500 --tune 500 --cores 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc_marketing
from pymc.logprob.utils import ParameterValueError
from pymc.sampling.parallel import ParallelSamplingError
from pymc_marketing.mmm import MMM, GeometricAdstock, HillSaturation

MULTIPLIERS = (0.7, 1.0, 1.3)
RETRIES = 2
L_MAX = 28
"""Adstock kernel length: the world's largest decay, 0.9, keeps 0.9**28 = 5 % of a day's spend beyond it."""


def steady(posterior: dict[str, np.ndarray], scale: float, target: float, spend: float) -> np.ndarray:
    """Per posterior draw, the channel's conversions per day once `spend` per day has been kept up."""
    alpha, slope, kappa, beta = (posterior[k] for k in ("alpha", "slope", "kappa", "beta"))
    stock = spend / scale * (1 - alpha**L_MAX) / (1 - alpha)
    return target * beta * stock**slope / (kappa**slope + stock**slope)


def fit_campaign(daily: pd.DataFrame, args: argparse.Namespace, seed: int) -> tuple[MMM, list[str]]:
    wide = daily.pivot_table(index="day", columns="channel", values=["spend", "conversions"], aggfunc="sum")
    days = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
    wide = wide.reindex(days, fill_value=0.0).fillna(0.0)
    channels = [c for c in wide["spend"] if wide["spend"][c].sum() > 0]
    x = wide["spend"][channels].rename_axis(columns=None).reset_index(names="day")
    y = wide["conversions"].sum(axis=1).to_numpy()
    mmm = MMM(date_column="day", channel_columns=channels, adstock=GeometricAdstock(l_max=L_MAX, normalize=False),
              saturation=HillSaturation())
    mmm.fit(x, pd.Series(y, name="conversions"), chains=args.chains, draws=args.draws, tune=args.tune,
            cores=args.cores, random_seed=seed, progressbar=False)
    return mmm, channels


def fit_retrying(daily: pd.DataFrame, args: argparse.Namespace, seed: int) -> tuple[MMM, list[str], int]:
    """The fit and how many attempts failed: NUTS can step the adstock's alpha onto 0 or 1 exactly, which its
    check rejects (`0 < alpha <= 1`) and which kills the chain; a new seed is tried, up to RETRIES times."""
    for attempt in range(RETRIES):
        try:
            return (*fit_campaign(daily, args, seed + 1000 * attempt), attempt)
        except (ParameterValueError, ParallelSamplingError):
            print(f"seed {seed}: attempt {attempt + 1} failed", flush=True)
    return (*fit_campaign(daily, args, seed + 1000 * RETRIES), RETRIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--per-line", action="store_true",
                        help="one single-channel MMM per campaign x channel instead (writes pymc_lines_*.csv)")
    args = parser.parse_args()
    out = Path(args.out)
    frame = pd.read_csv(out / "daily.csv", parse_dates=["day"])
    truth = pd.read_csv(out / "truth.csv")
    curves, timing = [], []
    keys = ["seed", "campaign_id", "channel"] if args.per_line else ["seed", "campaign_id"]
    for (seed, campaign, *channel), daily in frame.groupby(keys, sort=True):
        lines = truth[(truth["seed"] == seed) & (truth["campaign"] == campaign) & truth["channel"].isin(
            channel or daily["channel"])]
        if lines.empty:  # no line still spending: nothing to score
            continue
        started = time.perf_counter()
        mmm, channels, failed = fit_retrying(daily, args, int(seed))
        seconds = time.perf_counter() - started
        post = mmm.idata.posterior
        summary = az.summary(mmm.idata, var_names=["adstock_alpha", "saturation_slope", "saturation_kappa",
                                                   "saturation_beta"])
        timing.append({"seed": seed, "campaign": campaign, "models": 1, "lines": len(channels),
                       "seconds": seconds, "failed attempts": failed, "rhat": summary["r_hat"].max(),
                       "divergences": int(mmm.idata.sample_stats["diverging"].sum()),
                       "version": pymc_marketing.__version__,
                       "sampler": f"pymc NUTS {args.chains} chains x {args.draws} draws ({args.tune} tune)"})
        print(f"seed {seed} {campaign}: {len(channels)} channels, {seconds:.1f} s, R-hat {timing[-1]['rhat']:.2f}",
              flush=True)
        for line in lines.itertuples():
            draws = {k: post[f"{prefix}_{k}"].sel(channel=line.channel).to_numpy().ravel()
                     for prefix, keys in (("adstock", ["alpha"]), ("saturation", ["slope", "kappa", "beta"]))
                     for k in keys}
            scale = float(mmm.channel_scale[channels.index(line.channel)])
            row = {"seed": seed, "campaign": campaign, "channel": line.channel,
                   "decay fit": float(np.median(draws["alpha"])), "shape fit": float(np.median(draws["slope"]))}
            for m in MULTIPLIERS:
                p10, p50, p90 = np.quantile(steady(draws, scale, mmm.target_scale, m * line.spend), (0.1, 0.5, 0.9))
                row.update({f"p10 {m}x": p10, f"p50 {m}x": p50, f"p90 {m}x": p90})
            step = 0.01 * line.spend
            marginal = (steady(draws, scale, mmm.target_scale, line.spend + step)
                        - steady(draws, scale, mmm.target_scale, line.spend - step)) / (2 * step)
            row["marginal fit"] = float(np.median(marginal))
            curves.append(row)
    name = "pymc_lines" if args.per_line else "pymc"
    pd.DataFrame(curves).to_csv(out / f"{name}_curves.csv", index=False)
    pd.DataFrame(timing).to_csv(out / f"{name}_timing.csv", index=False)


if __name__ == "__main__":
    main()
