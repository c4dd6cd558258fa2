"""Every figure of the campaign outlook side by side, in one run: scenario calibration and goal odds, dips on NAB,
fatigue and competitor threats against the threshold rules, market effects, and what a `decide` run costs.

usage: .venv/bin/python bench/outlook.py [--quick] [--only scenarios|dips|risks|market|cost] [--data DIR]

--data: a trained data folder for the cost figure (default data/, what `make run` leaves); it is copied first.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import outlook_dips  # noqa: E402
import outlook_market  # noqa: E402
import outlook_risks  # noqa: E402
import outlook_scenarios  # noqa: E402

PULSECAST = Path(sys.executable).with_name("pulsecast")


def decide_cost(data: Path) -> list[dict]:
    """Wall time of `pulsecast decide --no-llm` on a copy of a trained data folder, in total and per campaign."""
    if not (data / "warehouse.duckdb").exists():
        missing = f"no trained world in {data}"
        return [{"name": "decide cost", "value": None, "reference": missing, "goal": "", "ok": None}]
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "data"
        shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.lock", "snapshots"))
        with duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True) as con:
            query = "SELECT count(DISTINCT unique_id) FROM ml.forecasts WHERE unique_id LIKE 'campaign/%'"
            campaigns = con.execute(query).fetchone()[0]
        started = time.perf_counter()
        subprocess.run([str(PULSECAST), "decide", "--no-llm"], check=True, capture_output=True,
                       env={"PULSECAST_DATA_DIR": str(copy), "PATH": "/usr/bin:/bin"})  # fmt: skip
        seconds = time.perf_counter() - started
    return [
        {"name": f"decide wall s ({campaigns} campaigns)", "value": round(seconds, 1), "reference": "",
         "goal": "<= 60", "ok": seconds <= 60},
        {"name": "decide s per campaign", "value": round(seconds / max(campaigns, 1), 2), "reference": "", "goal": "",
         "ok": None},
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["scenarios", "dips", "risks", "market", "cost"])
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args()
    parts: dict[str, Callable[[], list[dict]]] = {
        "scenarios": lambda: outlook_scenarios.run(args.quick),
        "dips": lambda: outlook_dips.run(args.quick),
        "risks": lambda: outlook_risks.run(args.quick),
        "market": lambda: outlook_market.run(args.quick),
        "cost": lambda: decide_cost(args.data.resolve()),
    }
    table = Table("part", "figure", "value", "reference", "goal", "ok", title="Campaign outlook benchmark")
    for part, run in parts.items():
        if args.only and part != args.only:
            continue
        for row in run():
            ok = {True: "yes", False: "NO", None: ""}[row.get("ok")]
            table.add_row(part, str(row["name"]), str(row["value"]), str(row.get("reference", "")),
                          str(row.get("goal", "")), ok)  # fmt: skip
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
