"""A what-if request's latency, cold (fit and simulate) and cached (a look-up in `ml.simulations`).

A generated world is ingested and built (or an existing data folder reused) and its warehouse copied (no
earlier requests); then for each campaign one request
(every running channel with conversions +20 %, a creative refresh, the audience +25 %, 28 days) runs through the
`simulate` flow twice on Prefect's temporary server, as `pulsecast simulate` runs it without a served deployment.
Reported per request: the flow call's wall time (Prefect's run bookkeeping included; a flow that does nothing
is timed beside it) and the seconds the flow recorded for reading the inputs and for computing.

    PYTHONPATH=. python bench/simulate.py [--data-dir DIR] [--campaigns 8] [--events-per-day 20000] [--days 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.settings import Settings
from pulsecast.warehouse import reader, writer


def world(data_dir: Path, campaigns: int, events_per_day: int, days: int) -> Settings:
    settings = Settings(data_dir=data_dir)
    if not settings.warehouse.exists():
        settings.ensure_dirs()
        config = WorldConfig(seed=7, days=days, campaigns=campaigns, events_per_day=events_per_day,
                             end=datetime(2026, 11, 21, tzinfo=UTC))
        generate_backfill(config, settings.landing, settings.truth)
        ingest_run(settings)
        build(settings)
    return settings


def requests(settings: Settings) -> list:
    from pulsecast.ml.simulation import RECENT_DAYS
    from pulsecast.ml.simulation_request import SimulationRequest

    with reader(settings) as con:
        running = con.execute(
            """SELECT campaign_id, list(channel ORDER BY channel) FROM (
                   SELECT campaign_id, channel FROM marts.events_daily WHERE channel IS NOT NULL GROUP BY ALL
                   HAVING sum(conversions) > 0 AND sum(spend) FILTER (
                       WHERE day >= (SELECT max(day) FROM marts.events_daily) - ?) > 0)
               GROUP BY 1 ORDER BY 1""", [RECENT_DAYS - 1]).fetchall()
    return [SimulationRequest(campaign=c, budget={ch: 20.0 for ch in channels}, creative_refresh=True, audience=25)
            for c, channels in running]


@flow(name="nothing")
def nothing() -> None:
    """Prefect's own cost of a flow run on the temporary server: the floor under every request's wall time."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="Reuse (or build) the world here.")
    parser.add_argument("--campaigns", type=int, default=8)
    parser.add_argument("--events-per-day", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-simulate-")) / "data"
    started = time.perf_counter()
    built = world(data_dir, args.campaigns, args.events_per_day, args.days)
    print(f"world ready in {time.perf_counter() - started:.0f} s ({data_dir})", file=sys.stderr)
    # A copy of the warehouse without earlier requests, so the first request of each campaign is really cold.
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-simulate-run-")) / "data")
    settings.ensure_dirs()
    shutil.copy(built.warehouse, settings.warehouse)
    with writer(settings, "bench: forgetting earlier requests") as con:
        con.execute("DROP TABLE IF EXISTS ml.simulations")
    os.environ["PULSECAST_DATA_DIR"] = str(settings.data_dir)

    from pulsecast.flows.simulate import simulate_what_if
    from pulsecast.ml.simulation_store import read

    asked = requests(settings)
    started = time.perf_counter()
    simulate_what_if(asked[0].model_copy(update={"horizon": 7}))  # starts the temporary server; not timed below
    print(f"warm-up request (the temporary server's start included): {time.perf_counter() - started:.1f} s")
    floor = []
    for _ in range(3):
        started = time.perf_counter()
        nothing()
        floor.append(time.perf_counter() - started)
    print(f"a flow that does nothing, for comparison: {np.median(floor):.3f} s (median of 3)")
    rows = []
    for request in asked:
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            state = simulate_what_if(request, return_state=True)
            wall = time.perf_counter() - started
            if state.is_failed():
                print(f"{request.campaign}: {state.message}", file=sys.stderr)
                break
            row = read(settings, state.result()).iloc[0]
            timings.append((wall, row["read_seconds"], row["compute_seconds"], bool(row["cache_hit"])))
        if len(timings) == 2:
            (cold, read_s, compute_s, _), (warm, warm_read, _, hit) = timings
            rows.append({"campaign": request.campaign, "channels": len(request.budget), "cold_s": cold,
                         "cold_read_s": read_s, "cold_compute_s": compute_s, "cached_s": warm,
                         "cached_read_s": warm_read, "cache_hit": hit})
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    numeric = table.drop(columns=["campaign", "cache_hit"])
    print("median:", ", ".join(f"{k} {v:.3f}" for k, v in numeric.median().items()))
    print(f"cache hits on repeat: {int(table['cache_hit'].sum())}/{len(table)}; "
          f"cold / cached wall time: {np.median(table['cold_s'] / table['cached_s']):.1f}x (median)")


if __name__ == "__main__":
    main()
