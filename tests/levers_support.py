"""Creative days whose CTR follows the world's laws (`generator/dynamics.py`) with planted parameters: what the
CTR laws (tests/test_simulate.py) and the creative and audience pivots (tests/test_lever_pivots.py) are fitted on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulsecast.generator.dynamics import creative_age_factor


def planted(rate: float, spread: float, days: int = 80, seed: int = 1, campaign: str = "c1",
            daily: int = 6000) -> pd.DataFrame:
    """Creative days of one campaign delivering `daily` impressions a day: three creatives launched 25 days apart
    decay with age at `rate` (towards the world's floor), all of them with the audience's `spread` per day of
    delivery shown."""
    rng = np.random.default_rng(seed)
    rows, shown = [], 0.0
    for day in range(days):
        live = [c for c in range(3) if day >= 25 * c]
        for c in live:
            impressions = rng.poisson(daily / len(live))
            ctr = 0.01 * float(creative_age_factor(np.array(day - 25 * c), np.array(1 / rate if rate else 1e9)))
            ctr /= 1 + shown / daily * spread
            rows.append((campaign, f"cr{c}", pd.Timestamp("2026-01-01") + pd.Timedelta(days=day), float(impressions),
                         float(rng.poisson(impressions * ctr))))
        shown += daily
    return pd.DataFrame(rows, columns=["campaign_id", "creative_id", "day", "impressions", "clicks"])
