"""`pulsecast`: run the pipeline, generate a campaign world, ingest, and see what the warehouse holds."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ml.series import Metric
from pulsecast.contract import FileFormat
from pulsecast.generator.config import GenerationMode
from pulsecast.metrics.cli import app as metrics_app
from pulsecast.settings import get_settings

app = typer.Typer(
    help="Pulsecast: campaign analytics and forecasting on an embedded warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(metrics_app, name="metrics")
console = Console()


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    with Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        yield progress


@app.command()
def run(
    seed: int = typer.Option(7, help="Seed of the demo world generated when the data folder is empty."),
    days: int = typer.Option(90, min=1, help="Days of history in the demo world."),
    campaigns: int = typer.Option(30, min=1, help="Campaigns in the demo world."),
    events_per_day: int = typer.Option(12_000, min=1, help="Base event rate of the demo world."),
) -> None:
    """Run the whole pipeline (Prefect flow `pipeline`): demo world if empty, ingest, dbt build, summary."""
    from flows.pipeline import pipeline
    from pulsecast.generator import WorldConfig

    pipeline(world=WorldConfig(seed=seed, days=days, campaigns=campaigns, events_per_day=events_per_day))
    show_status()


@app.command()
def generate(
    mode: GenerationMode = typer.Argument(
        GenerationMode.backfill, help="backfill: N days of history; live: one micro-batch up to now."
    ),
    seed: int = typer.Option(7),
    days: int = typer.Option(90, min=1),
    campaigns: int = typer.Option(30, min=1),
    events_per_day: int = typer.Option(12_000, min=1),
    high_growth: float = typer.Option(1.0, min=0.1, help="Multiplies the event rate."),
    file_format: FileFormat = typer.Option(FileFormat.jsonl, "--format"),
) -> None:
    """Write a generated campaign world (events, dimensions, market signals) into the landing folder."""
    from pulsecast.generator import WorldConfig, generate_backfill, generate_live

    settings = get_settings()
    settings.ensure_dirs()
    config = WorldConfig(
        seed=seed,
        days=days,
        campaigns=campaigns,
        events_per_day=events_per_day,
        high_growth=high_growth,
        file_format=file_format,
    )
    if mode is GenerationMode.live:
        report = generate_live(config, settings.landing, settings.truth, settings.simulation_state)
    else:
        with _progress("generating days") as progress:
            bar = progress.add_task("days", total=days)
            report = generate_backfill(
                config,
                settings.landing,
                settings.truth,
                progress=lambda done, total: progress.update(bar, completed=done),
            )
    console.print(
        f"Wrote {report.events_written:,} events ({report.duplicates_written:,} re-sent, {report.late_events:,} late) "
        f"in {len(report.files)} files to {settings.landing}"
    )


@app.command()
def ingest() -> None:
    """Load new landing files into the warehouse exactly once (without Prefect; the flow `ingest` does the same)."""
    from pulsecast.ingest import ingest_file, ingest_run
    from pulsecast.ingest.landing import pending_files

    settings = get_settings()
    settings.ensure_dirs()  # fail on an unusable data folder before drawing anything
    with _progress("ingesting files") as progress:
        bar = progress.add_task("files", total=len(pending_files(settings.landing)))

        def load_and_advance(con, settings, path: Path, run_id: str):
            result = ingest_file(con, settings, path, run_id)
            progress.advance(bar)
            return result

        summary = ingest_run(settings, load_file=load_and_advance)
    console.print(
        f"{len(summary.files)} file(s): {summary.total('rows_loaded'):,} loaded, "
        f"{summary.total('rows_quarantined'):,} quarantined, {summary.total('rows_duplicate'):,} duplicates. "
        f"Audit: {summary.audit.summary}"
    )


@app.command()
def transform(full_refresh: bool = typer.Option(False, help="Rebuild incremental models from scratch.")) -> None:
    """Run `dbt build` (Prefect flow `transform`)."""
    from flows.transform import transform as transform_flow

    transform_flow(full_refresh=full_refresh)


@app.command()
def train(
    metric: list[Metric] = typer.Option([], "--metric", help="Target metric (repeatable). Default: all of them."),
    horizon: int = typer.Option(14, min=1, max=90, help="Days ahead to forecast."),
    windows: int | None = typer.Option(
        None, min=3, max=10, help="Rolling-origin backtest windows, half a horizon apart from 4 up. Default: 6."
    ),
) -> None:
    """Forecast every active campaign, brand and the total (Prefect flow `train`); track and register in MLflow."""
    from flows.train import train as train_flow
    from ml.training import TrainConfig

    chosen = {"metrics": metric, "windows": windows}
    config = TrainConfig(horizon=horizon, **{key: value for key, value in chosen.items() if value})
    runs = train_flow(config)
    console.print(f"Trained {len(runs)} metric(s): {', '.join(runs) or 'none'}. Browse the runs with `make mlflow`.")


@app.command()
def serve(port: int = typer.Option(4200, help="Port of the Prefect server and UI on 127.0.0.1.")) -> None:
    """Start a Prefect server with its UI, the work pool, the deployments of prefect.yaml and a worker."""
    from flows.serve import serve as serve_deployments

    serve_deployments(port)


@app.command()
def docs(port: int = typer.Option(8080, help="Port of the docs site on 127.0.0.1.")) -> None:
    """Generate the dbt docs from the warehouse and serve them on 127.0.0.1 (works offline)."""
    from pulsecast.dbt_docs import serve_docs

    serve_docs(get_settings(), port)


@app.command()
def status() -> None:
    """Row counts, the ingestion accounting per file, recent runs and quarantine reasons."""
    show_status()


@app.command("forecast-csv")
def forecast_csv(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV with ds,y or unique_id,ds,y (any row order)."),
    horizon: int = typer.Option(..., "--horizon", min=1, help="Steps to forecast."),
    output: Path = typer.Option(..., "--output", help="Where to write one row per model per step."),
    freq: str | None = typer.Option(None, "--freq", help="Pandas alias (h, D, W-SUN, MS, ...); inferred if omitted."),
    metrics_json: Path | None = typer.Option(None, "--metrics-json", help="Also write the backtest metrics here."),
    windows: int | None = typer.Option(
        None, "--windows", min=2, help="Rolling-origin backtest windows, half a horizon apart from 4 up. Default: 6."
    ),
) -> None:
    """Forecast your own series with every model (seasonal naive, Prophet, LSTM, ensemble) after backtests."""
    from ml.forecast_csv import forecast_csv as run_forecast_csv

    with console.status("backtesting and fitting seasonal_naive, prophet, lstm, ensemble"):
        result = run_forecast_csv(
            input_path, horizon, output, freq, metrics_json, **({"windows": windows} if windows else {})
        )
    ensemble = result.ensemble
    table = Table(
        title=f"Backtest: {ensemble.n_windows} rolling origins {ensemble.step} steps apart x {horizon} steps, "
        f"frequency {result.series.freq}",
        box=box.SIMPLE_HEAD,  # no column rules or edge padding: the eight columns fit an 80-column terminal uncut
        pad_edge=False,
    )
    for column in result.summary.columns:
        label = column.replace("coverage_", "cover\n").replace("winkler_", "winkler\n")
        table.add_column(label, justify="left" if column == "model" else "right", no_wrap=True)
    for row in result.summary.itertuples(index=False):
        table.add_row(*(value if isinstance(value, str) else f"{value:.3g}" for value in row))
    console.print(table if table.row_count else "No series could be backtested.")
    for uid, reason in result.ensemble.fallbacks.items():
        console.print(f"{uid}: seasonal-naive fallback ({reason})")
    console.print(
        f"Wrote {len(result.forecasts):,} rows to {output} "
        f"({result.series.duplicates} duplicate rows merged, {result.series.filled} missing steps filled)."
    )


def show_status() -> None:
    from pulsecast.status import warehouse_status

    settings = get_settings()
    state = warehouse_status(settings)
    if state is None:
        console.print(f"Nothing ingested yet; the warehouse would be {settings.warehouse}. Try `pulsecast run`.")
        return
    counts = Table(title=f"Warehouse {settings.warehouse}")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for table, n in state.counts.items():
        counts.add_row(table, f"{n:,}")
    console.print(counts)
    acc = state.accounting
    verdict = "[green]holds for every file" if acc.holds else f"[red]BROKEN for {', '.join(acc.unbalanced_files)}"
    console.print(
        f"Files: {acc.files_loaded} loaded, {acc.files_rejected} rejected, {acc.redeliveries} re-deliveries ignored.\n"
        f"Rows read {acc.rows_read:,} = loaded {acc.rows_loaded:,} + quarantined {acc.rows_quarantined:,} "
        f"+ duplicates {acc.rows_duplicate:,}: accounting {verdict}[/]"
    )
    if state.top_reasons:
        reasons = Table(title="Top quarantine reasons")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for reason, n in state.top_reasons:
            reasons.add_row(reason, f"{n:,}")
        console.print(reasons)
    runs = Table(title="Recent ingest runs")
    for column in ("run", "started", "files", "rows loaded", "audit"):
        runs.add_column(column)
    for run_id, started, _finished, files, rows, audit in state.recent_runs:
        runs.add_row(run_id[:12], f"{started:%Y-%m-%d %H:%M:%S}", str(files), f"{rows or 0:,}", audit or "unfinished")
    console.print(runs)
    console.print(
        "Open: Prefect UI `make serve` (http://127.0.0.1:4200), dbt docs `make docs`, MLflow UI `make mlflow`."
    )


def main() -> None:
    """Entry point: errors are one clear line (set PULSECAST_DEBUG=1 for the traceback)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(get_settings().data_dir.resolve() / "prefect")))
        prefect_home.mkdir(parents=True, exist_ok=True)
        # No calls home: the server's telemetry is network traffic nobody configured (and it raced the
        # ephemeral server's SQLite at start-up, printing "database is locked" tracebacks).
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # bars per registered model
        app()
    except Exception as error:  # the CLI's contract: one line, non-zero exit
        if os.environ.get("PULSECAST_DEBUG"):
            raise
        console.print(f"[red]error:[/] {error}", highlight=False)
        sys.exit(1)
