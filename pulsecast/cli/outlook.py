"""`pulsecast decide` and `pulsecast outlook`: compute the campaign outlook, and read it back."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console

from pulsecast.cli.metrics import json_value
from pulsecast.cli.render import show
from pulsecast.ml.outlook.config import DecideConfig
from pulsecast.report import Report, Table
from pulsecast.settings import get_settings

console = Console()


def decide(
    campaign: list[str] = typer.Option([], "--campaign", help="Campaign id (repeatable). Default: every forecast one."),
    horizon: int = typer.Option(
        DecideConfig.model_fields["horizon"].default,
        min=1,
        max=90,
        help=DecideConfig.model_fields["horizon"].description,
    ),
    bound: float = typer.Option(
        DecideConfig.model_fields["bound"].default, min=0, max=0.99, help=DecideConfig.model_fields["bound"].description
    ),
    llm: bool = typer.Option(True, "--llm/--no-llm", help=DecideConfig.model_fields["llm"].description),
) -> None:
    """Scenarios, goal odds, risks, market and benchmark position, insights and pivots (Prefect flow `decide`)."""
    from pulsecast.cli.quiet import quiet_prefect_console
    from pulsecast.flows.decide import decide as decide_flow
    from pulsecast.flows.recorded import run_recorded

    quiet_prefect_console()
    written = run_recorded(decide_flow, DecideConfig(campaigns=campaign, horizon=horizon, bound=bound, llm=llm))
    console.print(
        f"Wrote {', '.join(f'{n:,} {t}' for t, n in written.items()) or 'nothing'}. "
        "Read it with `pulsecast outlook [CAMPAIGN]`."
    )


def outlook(
    campaign: str | None = typer.Argument(None, help="Campaign id. Default: every campaign with an outlook."),
    as_json: bool = typer.Option(False, "--json", help="Everything, raw values, as JSON on stdout."),
) -> None:
    """The newest campaign outlook from the published marts: pace, goal odds, scenarios, risks, insights, pivots."""
    from pulsecast.ml.outlook.report import PIVOT_COLUMNS, outlook_report, read_outlook

    try:
        outlooks = read_outlook(get_settings(), campaign)
    except KeyError as error:
        raise typer.BadParameter(error.args[0], param_hint="CAMPAIGN") from None
    if as_json:
        print(json.dumps({cid: asdict(o) for cid, o in outlooks.items()}, default=json_value, indent=1))
    elif not outlooks:
        console.print("No outlook yet: run `pulsecast decide` (or `pulsecast run`).")
    elif campaign is None:
        show(console, outlook_report(outlooks, {}))
    else:
        one = outlooks[campaign]
        show(
            console,
            Report(
                f"Outlook of {campaign}",
                one.lines()[1:],
                [
                    Table("Conversions scenarios", [_scenario(s) for s in one.scenarios]),
                    Table("Open risks", [_risk(r) for r in one.risks]),
                    Table("Insights", [{k: i[k] for k in ("key", "value", "trend", "source")} for i in one.insights]),
                    Table("Pivots", [{k: p[k] for k in PIVOT_COLUMNS} for p in _unique(one.pivots)]),
                    Table("Pivot moves", [_move(p) for p in one.pivots if p["channel"] is not None]),
                ],
            ),
        )


def _scenario(row: dict) -> dict:
    return {
        key: row[key]
        for key in (
            "span",
            "scenario",
            "through_date",
            "lower",
            "value",
            "upper",
            "stated_probability",
            "measured_probability",
            "extrapolated",
        )
    }


def _risk(row: dict) -> dict:
    return {key: row[key] for key in ("risk_type", "subject", "severity", "window_start", "confidence", "summary")}


def _unique(pivots: list[dict]) -> list[dict]:
    """One row per recommendation (the mart has one per line it moves)."""
    return list({p["pivot_id"]: p for p in pivots}.values())


def _move(row: dict) -> dict:
    return {
        key: row[key]
        for key in ("rank", "kind", "campaign_id", "channel", "current_spend", "recommended_spend", "change")
    }
