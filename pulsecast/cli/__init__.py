"""`pulsecast`: run the pipeline, generate a campaign world, ingest, and see what the warehouse holds."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulsecast.cli.api import api, keys_app, tenant_app
from pulsecast.cli.detect import detect_csv
from pulsecast.cli.metrics import app as metrics_app
from pulsecast.cli.metrics import sql
from pulsecast.cli.outlook import decide, outlook
from pulsecast.cli.quiet import print_error
from pulsecast.cli.render import show
from pulsecast.cli.simulate import simulate, simulations
from pulsecast.contract import FileFormat
from pulsecast.flows.console import debugging, quiet_prefect_console
from pulsecast.generator import GenerationMode, WorldConfig
from pulsecast.metrics.freshness import freshness
from pulsecast.ml.series import Metric
from pulsecast.ml.training import TrainConfig
from pulsecast.report import UI_HINT, build_report, ingest_report, status_report
from pulsecast.settings import get_settings

app = typer.Typer(
    help="Pulsecast: campaign analytics and forecasting on an embedded warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(metrics_app, name="metrics")
app.add_typer(keys_app, name="keys")
app.add_typer(tenant_app, name="tenant")
app.command()(api)
app.command("sql")(sql)
app.command()(decide)
app.command()(outlook)
app.command("detect-csv")(detect_csv)
app.command()(simulate)
app.command()(simulations)
console = Console()


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    with Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        yield progress


def option(model: type[BaseModel], field: str, *names: str, **extra: Any) -> Any:
    """A CLI option whose default and help come from the pydantic model that validates it."""
    info = model.model_fields[field]
    return typer.Option(info.default, *names, help=info.description, **extra)


@app.command()
def run(
    seed: int = option(WorldConfig, "seed"),
    days: int = option(WorldConfig, "days", min=1),
    campaigns: int = option(WorldConfig, "campaigns", min=1),
    events_per_day: int = option(WorldConfig, "events_per_day", min=1),
    forecast: bool = typer.Option(True, help="Also train the forecasters and write the campaign outlook."),
) -> None:
    """Run the whole pipeline (Prefect flow `pipeline`): demo world if empty, ingest, dbt build, forecasts."""
    from pulsecast.flows.pipeline import pipeline
    from pulsecast.flows.recorded import run_recorded

    quiet_prefect_console()
    world = WorldConfig(seed=seed, days=days, campaigns=campaigns, events_per_day=events_per_day)
    run_recorded(pipeline, world=world, forecast=forecast)
    show_status()


@app.command()
def generate(
    mode: GenerationMode = typer.Argument(
        GenerationMode.backfill, help="backfill: N days of history; live: one micro-batch up to now."
    ),
    seed: int = option(WorldConfig, "seed"),
    days: int = option(WorldConfig, "days", min=1),
    campaigns: int = option(WorldConfig, "campaigns", min=1),
    events_per_day: int = option(WorldConfig, "events_per_day", min=1),
    high_growth: float = option(WorldConfig, "high_growth", min=0.1),
    file_format: FileFormat = option(WorldConfig, "file_format", "--format"),
) -> None:
    """Write a generated campaign world (events, dimensions, market signals) into the landing folder."""
    from pulsecast.generator import generate as generate_world

    settings = get_settings()
    config = WorldConfig(
        seed=seed,
        days=days,
        campaigns=campaigns,
        events_per_day=events_per_day,
        high_growth=high_growth,
        file_format=file_format,
    )
    with _progress("generating days") as progress:
        bar = progress.add_task("days", total=days if mode is GenerationMode.backfill else 1)
        report = generate_world(settings, mode, config, lambda done, total: progress.update(bar, completed=done))
        progress.update(bar, completed=progress.tasks[bar].total)
    console.print(f"Wrote {report.describe()} to {settings.landing}")


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
    console.print(ingest_report(summary, freshness(settings)).text(), highlight=False)


@app.command()
def transform(
    full_refresh: bool = typer.Option(False, help="Rebuild incremental models from scratch."),
    retry_failed: bool = typer.Option(False, help="Re-run only the nodes that failed last time."),
) -> None:
    """`dbt build` and publish the marts for readers (without Prefect; the flow `transform` does the same)."""
    from pulsecast.build import build

    settings = get_settings()
    result = build(settings, full_refresh, retry_failed)
    show(console, build_report(result, freshness(settings)))


@app.command()
def train(
    metric: list[Metric] = typer.Option([], "--metric", help="Target metric (repeatable). Default: all of them."),
    horizon: int = option(TrainConfig, "horizon", min=1, max=90),
    windows: int = option(TrainConfig, "windows", min=3, max=10),
) -> None:
    """Forecast every active campaign, brand and the total (Prefect flow `train`); track and register in MLflow."""
    from pulsecast.flows.recorded import run_recorded
    from pulsecast.flows.train import train as train_flow

    quiet_prefect_console()
    config = TrainConfig(horizon=horizon, windows=windows, **({"metrics": metric} if metric else {}))
    runs = run_recorded(train_flow, config)
    console.print(f"Trained {len(runs)} metric(s): {', '.join(runs) or 'none'}. Browse the runs with `make mlflow`.")


@app.command()
def serve(port: int = typer.Option(4200, help="Port of the Prefect server and UI on 127.0.0.1.")) -> None:
    """Start a Prefect server with its UI, the work pool, the deployments of prefect.yaml and a worker."""
    from pulsecast.flows.serve import serve as serve_deployments

    serve_deployments(port)


@app.command()
def docs(port: int = typer.Option(8080, help="Port of the docs site on 127.0.0.1.")) -> None:
    """Generate the dbt docs from the warehouse and serve them on 127.0.0.1 (works offline)."""
    from pulsecast.build import DEFAULT_TARGET, generate_docs
    from pulsecast.site import serve_static

    generate_docs(get_settings())
    console.print(f"dbt docs on http://127.0.0.1:{port} (Ctrl-C stops)")
    with suppress(KeyboardInterrupt):
        serve_static(DEFAULT_TARGET, port)


@app.command("data-docs")
def data_docs(
    port: int = typer.Option(8081, help="Port of the Data Docs site on 127.0.0.1."),
    check: bool = typer.Option(False, "--check", help="Run the checkpoint over the last day's loads first."),
) -> None:
    """Serve Great Expectations' Data Docs (the daily checkpoint's results) on 127.0.0.1 (works offline)."""
    from pulsecast.ingest.checkpoint import run_checkpoint, site
    from pulsecast.site import serve_static

    settings = get_settings()
    if check or not site(settings).exists():
        console.print(run_checkpoint(settings).summary)
    console.print(f"Great Expectations Data Docs on http://127.0.0.1:{port} (Ctrl-C stops)")
    with suppress(KeyboardInterrupt):
        serve_static(site(settings).parent, port)


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
    """Forecast your own series with every model (seasonal naive, AutoETS, Theta, AutoARIMA, MSTL, Prophet, LSTM
    and their ensemble) after backtests."""
    from pulsecast.ml.forecast_csv import forecast_csv as run_forecast_csv
    from pulsecast.models.ensemble import default_members

    with console.status(f"backtesting and fitting {', '.join(default_members(horizon))} and their ensemble"):
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
    if pruned := sorted(ensemble.pruned_):
        console.print(
            f"{', '.join(pruned)}: backtests stopped early, too far behind the best member to earn weight "
            "(scored above on those windows only; not forecast)."
        )
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
    show(console, status_report(state, str(settings.warehouse), freshness(settings)))
    console.print(UI_HINT)


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
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # its INFO lines restate the training report
        # The temporary server of `pulsecast run` needs more than Prefect's 20 s on a busy 2-core machine.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        app()
    except Exception as error:  # the CLI's contract: one line on stderr, non-zero exit
        if debugging():
            raise
        print_error(error)
        sys.exit(1)
