"""Market effects against the generated world's competitor shocks.

    .venv/bin/python bench/outlook_market.py [--world DATA_DIR]

The world's competitor share of voice rises during every shock, but a shock lowers CTR and CVR only of the
campaigns of its brand or channel. A campaign is "exposed" when shocks aimed at its brand or one of its channels
cover at least `EXPOSED_DAYS` of its delivery days (truth `competitor_shocks`), "unexposed" when none do.
Recovery: the share of exposed campaigns with a held-up negative share-of-voice effect on clicks or conversions;
false alarms: the same share among the unexposed. Default world: a copy of the dev world, else data/.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from pulsecast.ml.outlook.market import market_effects

EXPOSED_DAYS = 5


def exposure(truth: dict, daily: pd.DataFrame) -> pd.Series:
    """Per campaign, its delivery days inside shocks aimed at its brand or channels."""
    days = {c: set(pd.to_datetime(g["day"]).dt.date) for c, g in daily.groupby("campaign_id")}
    exposed = {}
    for campaign in truth["campaigns"]:
        hit = set()
        for shock in truth["competitor_shocks"]:
            aimed = shock["target"] == campaign["brand_id"] or shock["target"] in campaign["channels"]
            if aimed:
                hit |= set(pd.date_range(shock["start"], shock["end"]).date)
        exposed[campaign["campaign_id"]] = len(hit & days.get(campaign["campaign_id"], set()))
    return pd.Series(exposed)


def run(quick: bool = False, world: Path | None = None) -> list[dict]:
    world = world or Path(os.environ.get("PULSECAST_OUTLOOK_WORLD", "data"))
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        found = market_effects(con)
        daily = con.execute("SELECT campaign_id, day FROM marts.campaign_daily").df()
    truth = json.loads((world / "truth" / "world.json").read_text())
    days = exposure(truth, daily)
    voice = found[(found["signal"] == "competitor_share_of_voice") & found["metric"].isin(["clicks", "conversions"])]
    negative = voice[voice["holds"] & (voice["coefficient"] < 0)].groupby("campaign_id").size()
    measured = voice["campaign_id"].unique()
    exposed = [c for c in measured if days.get(c, 0) >= EXPOSED_DAYS]
    unexposed = [c for c in measured if days.get(c, 0) == 0]

    def share(group: list[str]) -> float | None:
        return round(sum(c in negative.index for c in group) / len(group), 3) if group else None

    held = found[found["holds"]]
    return [
        {"name": f"shock recovery ({len(exposed)} exposed campaigns)", "value": share(exposed), "reference": "",
         "goal": "high", "ok": None},
        {"name": f"false alarms ({len(unexposed)} unexposed campaigns)", "value": share(unexposed), "reference": "",
         "goal": "low", "ok": None},
        {"name": "effects that hold / measured", "value": f"{len(held)} / {len(found)}", "reference": "",
         "goal": "", "ok": None},
    ]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path)
    args = parser.parse_args()
    for row in run(world=args.world):
        print(f"{row['name']}: {row['value']}")
