"""Dimension files (campaigns, brands, owners) and daily market signals, shaped by the contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pulsecast.contract import BRANDS, CAMPAIGNS, MARKET_SIGNALS, OWNERS, Contract
from pulsecast.generator.config import day_date
from pulsecast.generator.files import write_rows_csv
from pulsecast.generator.seasons import (
    YEARLY_UPLIFT,
    growth_trend,
    holiday_effects,
    weekday_factors,
    yearly_seasonality,
)
from pulsecast.generator.streams import Stream, stream_rng
from pulsecast.generator.world import OPEN_ENDED, World

BASE_SHARE_OF_VOICE = 0.30
SHOCK_VOICE_GAIN = 0.5
"""A competitor push that cuts CTR by x raises competitors' share of voice by x * SHOCK_VOICE_GAIN."""


def write_dimensions(world: World, landing_dir: Path) -> list[Path]:
    campaigns, brands, owners = world.campaigns, world.brands, world.owners
    channels = campaigns.channels(world.pairs)
    campaign_rows = [
        (
            campaigns.ids[i], brands.ids[campaigns.brand[i]], campaigns.names[i], campaigns.objective[i],
            ",".join(channels[i]), day_date(campaigns.start[i]).isoformat(),
            None if campaigns.end[i] == OPEN_ENDED else day_date(campaigns.end[i]).isoformat(),
            f"{campaigns.budget[i]:.2f}", f"{campaigns.daily_budget[i]:.2f}", int(campaigns.goal_conversions[i]),
            f"{campaigns.target_cpa[i]:.2f}",
        )
        for i in range(len(campaigns.ids))
    ]
    return [
        write_rows_csv(landing_dir / "campaigns.csv", _header(CAMPAIGNS), campaign_rows),
        write_rows_csv(landing_dir / "brands.csv", _header(BRANDS),
                       zip(brands.ids, brands.names, brands.industries, strict=True)),
        write_rows_csv(landing_dir / "owners.csv", _header(OWNERS),
                       zip(owners.ids, owners.names, owners.kinds, owners.revenue_share.tolist(), strict=True)),
    ]


def market_signals(world: World, days: np.ndarray) -> list[tuple[str, float, float]]:
    """Competitors' share of voice rises during competitor shocks; search interest follows the calendar."""
    days = np.asarray(days)
    season = yearly_seasonality(days)
    traffic, _ = holiday_effects(days, world.holidays)
    shocks = world.shocks
    active = (days[:, None] >= shocks.start[None, :]) & (days[:, None] <= shocks.end[None, :])
    pressure = (active * (1 - shocks.ctr_effect)[None, :]).sum(axis=1)
    rngs = [stream_rng(world.seed, Stream.signals, int(d)) for d in days]
    noise = np.array([(r.normal(0.0, 0.015), r.lognormal(0.0, 0.03)) for r in rngs]).reshape(len(days), 2)
    share = np.clip(BASE_SHARE_OF_VOICE + 0.05 * (season - 1) / YEARLY_UPLIFT + SHOCK_VOICE_GAIN * pressure
                    + noise[:, 0], 0.02, 0.95)
    search = (100 * season * growth_trend(days, world.backfill_start_day) * traffic
              * weekday_factors(days)[:, 0] * noise[:, 1])
    return [(day_date(d).isoformat(), round(float(s), 4), round(float(q), 2))
            for d, s, q in zip(days, share, search, strict=True)]


def write_market_signals(world: World, days: np.ndarray, landing_dir: Path) -> Path:
    name = f"market_signals_{day_date(days[0]):%Y%m%d}_{day_date(days[-1]):%Y%m%d}.csv"
    return write_rows_csv(landing_dir / name, _header(MARKET_SIGNALS), market_signals(world, days))


def _header(contract: Contract) -> list[str]:
    return [c.name for c in contract.columns]
