"""Ground truth: what the world really was, written beside (never into) the landing directory.

Analysts' models are judged against it: response curves for MMM, outage windows for anomaly detection,
fatigue and shock windows for the risk flows, and the ids of late and re-sent events for ingestion.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pulsecast.generator import catalog, dynamics
from pulsecast.generator.config import WorldConfig, day_date, from_ms
from pulsecast.generator.files import stamp, write_json, write_parquet
from pulsecast.generator.plan import Plan
from pulsecast.generator.world import OPEN_ENDED, World


def write_world_truth(world: World, config: WorldConfig, truth_dir: Path) -> Path:
    return write_json(truth_dir / "world.json", world_truth(world, config))


def world_truth(world: World, config: WorldConfig) -> dict[str, Any]:
    campaigns, pairs, creatives, brands = world.campaigns, world.pairs, world.creatives, world.brands
    channels = campaigns.channels(pairs)
    return {
        "config": config.model_dump(mode="json"),
        "anchor_date": _date(world.anchor_day),
        "backfill_start_date": _date(world.backfill_start_day),
        "users": world.n_users,
        "brands": [
            {"brand_id": brands.ids[i], "name": brands.names[i], "industry": brands.industries[i],
             "order_value": float(brands.order_value[i]), "audience_pool_size": int(brands.pool_size[i])}
            for i in range(len(brands.ids))
        ],
        "campaigns": [
            {"campaign_id": campaigns.ids[i], "brand_id": brands.ids[campaigns.brand[i]],
             "objective": campaigns.objective[i], "channels": channels[i], "start": _date(campaigns.start[i]),
             "end": _end(campaigns.end[i]), "ramp_days": round(float(campaigns.ramp_days[i]), 2),
             "daily_budget": float(campaigns.daily_budget[i])}
            for i in range(len(campaigns.ids))
        ],
        "response_curves": [
            {"campaign_id": campaigns.ids[pairs.campaign[i]], "channel": catalog.CHANNEL_NAMES[pairs.channel[i]],
             "cpm": round(float(pairs.cpm[i]), 4), "adstock_decay": round(float(pairs.decay[i]), 4),
             "hill_half_saturation": round(float(pairs.half_saturation[i]), 4),
             "hill_shape": round(float(pairs.shape[i]), 4), "beta": round(float(pairs.beta[i]), 6),
             "base_impressions_per_day": round(float(pairs.base_impressions[i]), 2)}
            for i in range(len(pairs.campaign))
        ],
        "response_model": "conversions/day = beta * hill(adstock(spend)) * holiday cvr * shock cvr; "
                          "adstock[t] = spend[t] + decay * adstock[t-1]; hill(x) = x^S / (x^S + K^S)",
        "fatigue_model": {
            "frequency_decay": dynamics.FREQUENCY_DECAY, "frequency_floor": dynamics.FREQUENCY_FLOOR,
            "creative_age_floor": dynamics.CREATIVE_AGE_FLOOR, "fatigued_below": dynamics.FATIGUED_BELOW,
            "saturation_scale": dynamics.SATURATION_SCALE,
        },
        "creatives": [
            {"creative_id": creatives.ids[i], "campaign_id": campaigns.ids[creatives.campaign[i]],
             "launch": _date(creatives.launch[i]), "quality": round(float(creatives.quality[i]), 4),
             "fatigue_tau_days": round(float(creatives.tau[i]), 2)}
            for i in range(len(creatives.ids))
        ],
        "fatigue_windows": _fatigue_windows(world),
        "competitor_shocks": [
            {"target_kind": kind, "target": _shock_target(world, kind, int(world.shocks.target[i])),
             "start": _date(world.shocks.start[i]), "end": _date(world.shocks.end[i]),
             "ctr_effect": round(float(world.shocks.ctr_effect[i]), 4),
             "cvr_effect": round(float(world.shocks.cvr_effect[i]), 4)}
            for i, kind in enumerate(world.shocks.target_kind)
        ],
        "anomalies": [
            {"kind": "tracking_outage", "campaign_id": campaigns.ids[world.dips.campaign[i]],
             "start": from_ms(world.dips.start_ms[i]).isoformat(), "end": from_ms(world.dips.end_ms[i]).isoformat(),
             "depth": round(float(world.dips.depth[i]), 4)}
            for i in range(len(world.dips.campaign))
        ],
        "holidays": [
            {"date": _date(h.day), "name": h.name, "traffic": h.traffic, "conversion": h.conversion}
            for h in world.holidays
        ],
        "publishers": [
            {"publisher": world.publishers.ids[i], "channel": catalog.CHANNEL_NAMES[world.publishers.channel[i]],
             "owner_id": world.owners.ids[world.publishers.owner[i]]}
            for i in range(len(world.publishers.ids))
        ],
        "delivery": {"late_share": config.late_share, "duplicate_share": config.duplicate_share},
    }


def write_plan_truth(world: World, plan: Plan, truth_dir: Path) -> Path:
    """Expected (pre-noise) daily volumes and response per campaign x channel."""
    pairs = world.pairs
    n_days, n_pairs = plan.impressions.shape
    pair = np.tile(np.arange(n_pairs), n_days)
    table = pa.table({
        "date": pa.array(np.repeat(plan.days, n_pairs).astype("datetime64[D]")),
        "campaign_id": pa.array(np.array(world.campaigns.ids)[pairs.campaign[pair]]),
        "channel": pa.array(np.array(catalog.CHANNEL_NAMES)[pairs.channel[pair]]),
        "pace": plan.pace[:, pairs.campaign].ravel(),
        "expected_impressions": plan.impressions.ravel(),
        "planned_spend": plan.spend.ravel(),
        "adstock": plan.adstock.ravel(),
        "response": plan.response.ravel(),
        "expected_conversions": plan.conversions.ravel(),
        "ctr_multiplier": plan.ctr_multiplier.ravel(),
        "cvr_multiplier": plan.cvr_multiplier.ravel(),
        "saturation": plan.saturation[:, pairs.campaign].ravel(),
    })
    name = f"plan_{day_date(plan.days[0]):%Y%m%d}_{day_date(plan.days[-1]):%Y%m%d}.parquet"
    return write_parquet(truth_dir / name, table)


def write_delivery_truth(truth_dir: Path, table: pa.Table, start: datetime, end: datetime) -> Path:
    return write_parquet(truth_dir / f"delivery_{stamp(start)}_{stamp(end)}.parquet", table)


def _fatigue_windows(world: World) -> list[dict[str, Any]]:
    """From the day a creative's age factor drops below FATIGUED_BELOW to the end of its campaign."""
    creatives, campaigns = world.creatives, world.campaigns
    onset = creatives.launch + dynamics.fatigue_onset_days(creatives.tau)
    last = campaigns.end[creatives.campaign]
    return [
        {"creative_id": creatives.ids[i], "campaign_id": campaigns.ids[creatives.campaign[i]],
         "start": _date(onset[i]), "end": _end(last[i])}
        for i in range(len(creatives.ids)) if onset[i] <= last[i]
    ]


def _shock_target(world: World, kind: str, index: int) -> str:
    return catalog.CHANNEL_NAMES[index] if kind == "channel" else world.brands.ids[index]


def _date(day: int) -> str:
    return day_date(int(day)).isoformat()


def _end(day: int) -> str | None:
    return None if day == OPEN_ENDED else _date(day)
