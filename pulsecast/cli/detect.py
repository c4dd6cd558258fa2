"""`pulsecast detect-csv`: score your own series with the causal anomaly detector of the outlook's dip risks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()


def detect_csv(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV with timestamp,value or ds,y."),
    output: Path = typer.Option(..., "--output", help="Where to write timestamp,value,anomaly_score,is_anomaly."),
    freq: str | None = typer.Option(None, "--freq", help="Pandas alias (5min, h, D, ...); inferred if omitted."),
) -> None:
    """Flag anomalies causally (a row's score uses rows up to it only); rows keep the input's order."""
    from pulsecast.ml.outlook.detect import detect_csv as run_detect_csv

    scored = run_detect_csv(input_path, output, freq)
    console.print(f"Wrote {len(scored):,} rows to {output}: {int(scored['is_anomaly'].sum())} flagged as anomalies.")
