"""A what-if request's latency, cold (fit and simulate) and cached (a look-up in `ml.simulations`).

A generated world is ingested and built (or an existing data folder reused) and its warehouse copied (no
earlier requests); then for each campaign one request
(every running channel with conversions +20 %, a creative refresh, the audience +25 %, 28 days) runs through the
`simulate` flow twice on Prefect's temporary server, as `pulsecast simulate` ran it before it looked requests up
itself, then once more as `pulsecast simulate` in a subprocess, which answers the repeat from the cache without a
flow. Reported per request: the flow calls' wall time (Prefect's run bookkeeping included; a flow that does
nothing is timed beside it), the seconds the flow recorded for reading the inputs and for computing, the CLI
repeat's wall time (the process's start and imports included) and the look-up it recorded; and once, a new
request through the CLI (a miss: the temporary server's start and the flow).

    PYTHONPATH=. python bench/simulate.py [--data-dir DIR] [--campaigns 8] [--events-per-day 20000] [--days 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
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


def command(request) -> list[str]:
    """The `pulsecast simulate` command line asking `request`."""
    budget = [arg for channel, change in request.budget.items() for arg in ("--budget", f"{channel}={change:+g}%")]
    return [str(Path(sys.executable).parent / "pulsecast"), "simulate", request.campaign, *budget,
            *["--creative-refresh"] * request.creative_refresh, "--audience", f"{request.audience:+g}%",
            "--horizon", str(request.horizon)]


def through_cli(request, settings: Settings) -> tuple[float, pd.Series]:
    """`pulsecast simulate` for `request` as a user runs it, without a Prefect server: its wall time and the row
    it recorded."""
    from pulsecast.ml.simulation_store import read

    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"COLUMNS": "200"}
    started = time.perf_counter()
    done = subprocess.run(command(request), env=environment, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    newest = read(settings, limit=1).iloc[0]
    return wall, newest


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
            cli, row = through_cli(request, settings)
            rows.append({"campaign": request.campaign, "channels": len(request.budget), "cold_s": cold,
                         "cold_read_s": read_s, "cold_compute_s": compute_s, "cached_flow_s": warm,
                         "cached_read_s": warm_read, "cached_cli_s": cli, "cli_look_up_s": row["read_seconds"],
                         "cache_hit": hit and bool(row["cache_hit"])})
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    numeric = table.drop(columns=["campaign", "cache_hit"])
    print("median:", ", ".join(f"{k} {v:.3f}" for k, v in numeric.median().items()))
    print(f"cache hits on repeat (flow and CLI): {int(table['cache_hit'].sum())}/{len(table)}; cold / cached "
          f"flow call: {np.median(table['cold_s'] / table['cached_flow_s']):.1f}x (median)")
    started = time.perf_counter()
    subprocess.run([command(asked[0])[0], "--help"], capture_output=True, check=True)
    print(f"`pulsecast --help` (the CLI's start and imports alone): {time.perf_counter() - started:.2f} s")
    wall, row = through_cli(asked[0].model_copy(update={"horizon": 27}), settings)
    print(f"a new request through the CLI (a miss: the temporary server's start, the flow): {wall:.1f} s "
          f"(cache hit {bool(row['cache_hit'])}, computing {row['compute_seconds']:.2f} s); through the CLI, miss / "
          f"hit: {wall / table['cached_cli_s'].median():.1f}x")


if __name__ == "__main__":
    main()
