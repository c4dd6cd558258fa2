"""What a what-if changes in the world from a cutoff day: spend per campaign x channel, a creative refresh,
the audience pool. `Intervention` is what a caller writes (ids and dates); `Levers` is the same resolved to
the world's indexes, which the plan applies. An empty intervention resolves to levers that change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pulsecast.generator import catalog
from pulsecast.generator.config import epoch_day
from pulsecast.generator.world import OPEN_ENDED, World


class SpendChange(BaseModel):
    """New daily spend of one campaign x channel from the cutoff on: a multiple of the planned spend, or an
    absolute amount (on the days the line delivers at all)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    channel: str
    multiplier: float | None = Field(default=None, ge=0)
    daily_spend: float | None = Field(default=None, ge=0, description="USD per day")

    @model_validator(mode="after")
    def _one_of(self) -> SpendChange:
        if (self.multiplier is None) == (self.daily_spend is None):
            raise ValueError("give exactly one of multiplier and daily_spend")
        return self


class CreativeRefresh(BaseModel):
    """From `day` on, the campaign's creatives launched before it perform as if launched that day."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    day: date


class AudienceChange(BaseModel):
    """The campaign's audience pool is `multiplier` times its brand's pool from the cutoff on."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    multiplier: float = Field(gt=0)


class Intervention(BaseModel):
    """Changes from the cutoff on; an empty intervention is the baseline."""

    model_config = ConfigDict(frozen=True)

    spend: tuple[SpendChange, ...] = ()
    creative_refresh: tuple[CreativeRefresh, ...] = ()
    audience: tuple[AudienceChange, ...] = ()


@dataclass(frozen=True)
class Levers:
    """An intervention as arrays over the world's pairs, campaigns and creatives, effective from `cutoff`."""

    cutoff: int  # epoch day
    spend_multiplier: np.ndarray  # [pair]
    daily_spend: np.ndarray  # [pair], NaN where the multiplier applies
    pool_multiplier: np.ndarray  # [campaign]
    refresh_day: np.ndarray  # [creative] epoch day, OPEN_ENDED where none

    @classmethod
    def none(cls, world: World) -> Levers:
        return resolve(Intervention(), world, OPEN_ENDED)

    def spend_factor(self, days: np.ndarray, planned_spend: np.ndarray) -> np.ndarray:
        """[day, pair] factor on planned delivery: 1 before the cutoff and where nothing changes."""
        absolute = ~np.isnan(self.daily_spend) & (planned_spend > 0)
        ratio = np.divide(self.daily_spend, planned_spend, out=np.ones_like(planned_spend), where=absolute)
        factor = np.where(absolute, ratio, self.spend_multiplier)
        return np.where((days >= self.cutoff)[:, None], factor, 1.0)

    def pool_factor(self, days: np.ndarray) -> np.ndarray:
        """[day, campaign] factor on the audience pool."""
        return np.where((days >= self.cutoff)[:, None], self.pool_multiplier, 1.0)


def resolve(intervention: Intervention, world: World, cutoff: int) -> Levers:
    """Levers for the world; unknown campaigns, channels or a refresh before the cutoff are refused."""
    campaigns, pairs, creatives = world.campaigns, world.pairs, world.creatives
    campaign_index = {cid: i for i, cid in enumerate(campaigns.ids)}
    pair_index = {(campaigns.ids[c], catalog.CHANNEL_NAMES[ch]): i
                  for i, (c, ch) in enumerate(zip(pairs.campaign, pairs.channel, strict=True))}
    multiplier = np.ones(len(pairs.campaign))
    daily_spend = np.full(len(pairs.campaign), np.nan)
    for change in intervention.spend:
        key = (change.campaign_id, change.channel)
        if key not in pair_index:
            raise ValueError(f"campaign {change.campaign_id} does not buy {change.channel}")
        if change.multiplier is not None:
            multiplier[pair_index[key]] = change.multiplier
        else:
            daily_spend[pair_index[key]] = change.daily_spend
    pool = np.ones(len(campaigns.ids))
    for change in intervention.audience:
        pool[_campaign(campaign_index, change.campaign_id)] = change.multiplier
    refresh = np.full(len(creatives.ids), OPEN_ENDED)
    for change in intervention.creative_refresh:
        day = epoch_day(change.day)
        if day < cutoff:
            raise ValueError(f"creative refresh of {change.campaign_id} on {change.day} is before the cutoff")
        refresh[creatives.campaign == _campaign(campaign_index, change.campaign_id)] = day
    return Levers(cutoff, multiplier, daily_spend, pool, refresh)


def _campaign(index: dict[str, int], campaign_id: str) -> int:
    if campaign_id not in index:
        raise ValueError(f"unknown campaign {campaign_id}")
    return index[campaign_id]
