"""Performance dips: the NAB standard score of `pulsecast detect-csv` beside NAB's published detectors, and the
dip findings' precision and recall against a generated world's tracking outages.

    .venv/bin/python bench/outlook_dips.py [--quick] [--world DATA_DIR]

1. NAB: `../shared/tools/nab_score.py --category realTraffic` runs `pulsecast detect-csv` (this worktree's venv)
   once per file and scores it with NAB's standard profile; its summary line holds our score and the published
   detectors' scores reproduced on the same files. Goal: above every one of them (Numenta HTM, ARTime, ...).
2. World (skipped with --quick): `dip_findings` over the whole history of a world (`--world`, a data folder
   such as a copy of the dev world; else a small generated one), every dip kept (no recency cut). A finding
   is right when a tracking outage of its campaign overlaps its window (within 3 hours, or a day for daily
   findings); recall counts the outages inside the campaign's data that some finding overlaps.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

from pulsecast.build import build
from pulsecast.generator import WorldConfig, generate_backfill
from pulsecast.ingest import ingest_run
from pulsecast.ml.outlook.dips import dip_findings, read_dip_inputs
from pulsecast.ml.outlook.findings import Finding
from pulsecast.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
NAB_SCORE = ROOT.parent / "shared" / "tools" / "nab_score.py"
COMMAND = f"{Path(sys.executable).parent / 'pulsecast'} detect-csv {{input}} --output {{output}}"
SUMMARY = re.compile(r"^realTraffic: project (?P<ours>[\d.]+) vs (?P<published>.+)$", re.MULTILINE)
TOLERANCE = {"hourly": pd.Timedelta(hours=3), "daily": pd.Timedelta(days=1)}


def nab_rows() -> list[dict]:
    """Our NAB score on realTraffic and each published detector's, from nab_score.py's summary line."""
    done = subprocess.run(
        [sys.executable, str(NAB_SCORE), "--category", "realTraffic", "--cmd", COMMAND],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    found = SUMMARY.search(done.stdout)
    if found is None:
        raise RuntimeError(f"nab_score.py printed no summary (exit {done.returncode}): {done.stderr[-300:]}")
    published = {name: float(value) for name, value in (part.rsplit(" ", 1) for part in found["published"].split(", "))}
    best = max(published.values())
    ours = float(found["ours"])
    rows = [
        {
            "name": "nab realTraffic standard score",
            "value": ours,
            "reference": f"best published {best:.1f}",
            "goal": f"> {best:.1f}",
            "ok": ours > best,
        }
    ]
    rows += [
        {"name": f"nab realTraffic: {name}", "value": value, "reference": "published", "goal": "", "ok": ours > value}
        for name, value in published.items()
    ]
    return rows


def world_rows(data_dir: Path) -> list[dict]:
    """Precision and recall of every dip finding in the world's history against its tracking outages."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        hourly, daily = read_dip_inputs(con)
    as_of = pd.Timestamp(hourly["event_hour"].max())
    findings = dip_findings(
        hourly, daily, as_of.to_pydatetime(), recent=as_of - pd.Timestamp(hourly["event_hour"].min())
    )
    outages = _outages(data_dir, hourly)
    right = [f for f in findings if any(_overlaps(f, o, as_of) for o in outages.itertuples())]
    caught = [o for o in outages.itertuples() if any(_overlaps(f, o, as_of) for f in findings)]
    precision = len(right) / len(findings) if findings else float("nan")
    recall = len(caught) / len(outages) if len(outages) else float("nan")
    return [
        {"name": "dip findings (world history)", "value": len(findings), "reference": "", "goal": "", "ok": True},
        {"name": "dip precision vs tracking outages", "value": precision, "reference": "", "goal": "", "ok": True},
        {
            "name": "dip recall of tracking outages",
            "value": recall,
            "reference": f"{len(caught)} of {len(outages)} outages",
            "goal": "",
            "ok": True,
        },
    ]


def _outages(data_dir: Path, hourly: pd.DataFrame) -> pd.DataFrame:
    """The truth's tracking outages that fall inside their campaign's hourly data."""
    truth = json.loads((data_dir / "truth" / "world.json").read_text())
    outages = pd.DataFrame(truth["anomalies"])
    for column in ("start", "end"):
        outages[column] = pd.to_datetime(outages[column]).dt.tz_localize(None)
    span = hourly.groupby("campaign_id")["event_hour"].agg(["min", "max"])
    outages = outages.join(span, on="campaign_id", how="inner")
    return outages[(outages["start"] >= outages["min"]) & (outages["end"] <= outages["max"])]


def _overlaps(finding: Finding, outage, as_of: pd.Timestamp) -> bool:
    tolerance = TOLERANCE[str(finding.evidence["grain"])]
    end = pd.Timestamp(finding.window_end) if finding.window_end else as_of
    return (
        finding.campaign_id == outage.campaign_id
        and pd.Timestamp(finding.window_start) <= outage.end + tolerance
        and end >= outage.start - tolerance
    )


def run(quick: bool = False, world: Path | None = None) -> list[dict]:
    """The NAB figures, and (unless quick) the world's dip precision and recall."""
    rows = nab_rows()
    if quick:
        return rows
    if world is not None:
        return rows + world_rows(world)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        settings.ensure_dirs()
        generate_backfill(
            WorldConfig(seed=7, days=60, campaigns=6, events_per_day=1500), settings.landing, settings.truth
        )
        ingest_run(settings)
        build(settings)
        return rows + world_rows(settings.data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="NAB only, no world")
    parser.add_argument("--world", type=Path, help="a data folder with warehouse.duckdb and truth/world.json")
    args = parser.parse_args()
    table = Table(title="Performance dips")
    for column in ("name", "value", "reference", "goal", "ok"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in run(args.quick, args.world):
        value = row["value"]
        table.add_row(row["name"], f"{value:.3g}", row["reference"], row["goal"], "yes" if row["ok"] else "no")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
