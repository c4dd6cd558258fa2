"""Each campaign against its channels' industry benchmarks: the gaps in CTR, CVR, CPC and cost per conversion,
and which of the two explains the cost-per-conversion gap.

Cost per conversion is CPC / CVR, so log(CPA / CPA_b) = log(CPC / CPC_b) - log(CVR / CVR_b) exactly: the driver
is the term with the larger absolute share (`cpc`: clicks cost more or less than the benchmark's; `cvr`: they
convert worse or better). Overall ('all' channels) the benchmark is the campaign's own channel mix: the
benchmark rates weighted by the campaign's impressions (CTR) and clicks (CVR, CPC) per channel, over the channels
that have a published figure. A gap is null, with a reason, where a benchmark is missing or the campaign has no
conversions yet (cost per conversion undefined).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

ALL = "all"

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "campaign_id": ("VARCHAR", "Campaign."),
    "channel": ("VARCHAR", "Channel, or 'all': the campaign against the benchmarks of its own channel mix."),
    "impressions": ("BIGINT", "Impressions, all time."),
    "clicks": ("BIGINT", "Clicks, all time."),
    "conversions": ("BIGINT", "Conversions, all time."),
    "spend": ("DOUBLE", "Spend, all time."),
    "ctr": ("DOUBLE", "Clicks per impression."),
    "cvr": ("DOUBLE", "Conversions per click."),
    "cpc": ("DOUBLE", "Spend per click."),
    "cpa": ("DOUBLE", "Spend per conversion (null without conversions)."),
    "benchmark_ctr": ("DOUBLE", "The channel's published CTR (mix-weighted for 'all')."),
    "benchmark_cvr": ("DOUBLE", "The channel's published CVR (mix-weighted for 'all')."),
    "benchmark_cpc": ("DOUBLE", "The channel's published CPC (mix-weighted for 'all')."),
    "benchmark_cpa": ("DOUBLE", "benchmark_cpc / benchmark_cvr."),
    "ctr_gap": ("DOUBLE", "ctr / benchmark_ctr - 1: 0.2 = 20 % above the benchmark."),
    "cvr_gap": ("DOUBLE", "cvr / benchmark_cvr - 1."),
    "cpc_gap": ("DOUBLE", "cpc / benchmark_cpc - 1 (above 0: dearer clicks)."),
    "cpa_gap": ("DOUBLE", "cpa / benchmark_cpa - 1 (above 0: dearer conversions)."),
    "cpa_driver": (
        "VARCHAR",
        "cpc or cvr: the larger term of log(CPA gap) = log(CPC ratio) - log(CVR ratio); null when cpa_gap is.",
    ),
    "cpc_share_of_cpa_gap": ("DOUBLE", "The CPC term's share of the CPA gap's log (the CVR term's is 1 minus it)."),
    "gap_note": ("VARCHAR", "Why a gap is null (no published benchmark, no conversions), else null."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}


def read_delivery(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """`marts.campaign_vs_benchmark`: each campaign's delivery per channel beside the channel's benchmark."""
    return con.execute(
        """SELECT campaign_id, channel, impressions, clicks, conversions, CAST(spend AS DOUBLE) AS spend,
                  benchmark_ctr, benchmark_cvr, benchmark_cpc
           FROM marts.campaign_vs_benchmark ORDER BY campaign_id, channel"""
    ).df()


def benchmark_gaps(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return gaps(read_delivery(con))


def gaps(delivery: pd.DataFrame) -> pd.DataFrame:
    """Per campaign and channel, and overall, the rates beside the benchmarks, their gaps and the CPA driver."""
    per_channel = delivery.copy()
    overall = delivery.groupby("campaign_id").apply(_mix, include_groups=False).reset_index()
    frame = pd.concat([per_channel, overall], ignore_index=True)
    counts = ["impressions", "clicks", "conversions"]
    frame[counts] = frame[counts].astype("int64")
    frame["ctr"] = _ratio(frame["clicks"], frame["impressions"])
    frame["cvr"] = _ratio(frame["conversions"], frame["clicks"])
    frame["cpc"] = _ratio(frame["spend"], frame["clicks"])
    frame["cpa"] = _ratio(frame["spend"], frame["conversions"])
    frame["benchmark_cpa"] = frame["benchmark_cpc"] / frame["benchmark_cvr"]
    for rate in ("ctr", "cvr", "cpc", "cpa"):
        frame[f"{rate}_gap"] = frame[rate] / frame[f"benchmark_{rate}"] - 1
    with np.errstate(divide="ignore", invalid="ignore"):  # no clicks or conversions: the gap is null below
        cpc_term = np.log(frame["cpc"] / frame["benchmark_cpc"])
        cvr_term = -np.log(frame["cvr"] / frame["benchmark_cvr"])
    defined = frame["cpa_gap"].notna() & np.isfinite(cpc_term) & np.isfinite(cvr_term)
    frame["cpa_driver"] = np.where(defined, np.where(cpc_term.abs() >= cvr_term.abs(), "cpc", "cvr"), None)
    total = cpc_term + cvr_term
    frame["cpc_share_of_cpa_gap"] = np.where(defined & (total != 0), cpc_term / total.where(total != 0), np.nan)
    frame["gap_note"] = np.select(
        [frame["benchmark_cpa"].isna(), frame["conversions"] == 0],
        ["no published CVR or CPC benchmark for this channel", "no conversions yet: cost per conversion undefined"],
        None,
    )
    frame["run_id"] = ""
    frame["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return frame[list(COLUMNS)].sort_values(["campaign_id", "channel"]).reset_index(drop=True)


def _mix(rows: pd.DataFrame) -> pd.Series:
    """One campaign over all its channels, against the benchmarks of its own mix (channels with a figure)."""

    def weighted(benchmark: str, weight: str) -> float:
        known = rows[rows[benchmark].notna() & (rows[weight] > 0)]
        return float(np.average(known[benchmark], weights=known[weight])) if not known.empty else np.nan

    return pd.Series(
        {
            "channel": ALL,
            "impressions": rows["impressions"].sum(),
            "clicks": rows["clicks"].sum(),
            "conversions": rows["conversions"].sum(),
            "spend": rows["spend"].sum(),
            "benchmark_ctr": weighted("benchmark_ctr", "impressions"),
            "benchmark_cvr": weighted("benchmark_cvr", "clicks"),
            "benchmark_cpc": weighted("benchmark_cpc", "clicks"),
        }
    )


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).astype(float)
