"""`pulsecast simulate` and `pulsecast simulations`: ask a what-if, and read the answers back.

The path is `pulsecast.flows.what_if`'s, shared with the HTTP API. A request is first looked up in
`ml.simulations` under the flow's own cache key (`simulation_store.look_up`): a
repeat is recorded as a cache hit and shown without starting any flow (a flow run costs a second here, and the
first one of a process the temporary server's start). A miss runs the `simulate` flow here without a Prefect
server (like `pulsecast decide`); with `PREFECT_API_URL` set and the `simulate` deployment served (`make serve`),
it goes to its `interactive` work queue, ahead of the `batch` queue's work, and `--wait` waits for the worker's
answer.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console

from pulsecast.cli.render import show
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.report import Report, Table
from pulsecast.settings import get_settings

console = Console()

_CHANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%?\s*$")
_FIELDS = SimulationRequest.model_fields


def percent(text: str, what: str) -> float:
    """'+20%', '-20 %', '15' -> the change in percent."""
    match = _CHANGE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a change in percent such as +20% or -15%", param_hint=what)
    return float(match.group(1))


def budget_changes(items: list[str]) -> dict[str, float]:
    """['search=+20%', 'display=-20%'] -> {'search': 20.0, 'display': -20.0}."""
    changes = {}
    for item in items:
        channel, sep, change = item.partition("=")
        if not sep or not channel.strip():
            raise typer.BadParameter(f"{item!r} is not CHANNEL=CHANGE such as search=+20%", param_hint="--budget")
        changes[channel.strip()] = percent(change, "--budget")
    return changes


def simulate(
    campaign: str = typer.Argument(..., help="Campaign id."),
    budget: list[str] = typer.Option(
        [], "--budget", help="CHANNEL=CHANGE, e.g. search=+20% or display=-20% (repeatable; -100% stops a channel)."
    ),
    creative_refresh: bool = typer.Option(False, "--creative-refresh", help=_FIELDS["creative_refresh"].description),
    audience: str = typer.Option("0%", "--audience", help="Change of the audience pool, e.g. +25%."),
    horizon: int = typer.Option(_FIELDS["horizon"].default, min=1, max=90, help=_FIELDS["horizon"].description),
    wait: bool = typer.Option(False, "--wait", help="With a served deployment: wait for the answer and show it."),
) -> None:
    """What if this campaign's budgets, creatives or audience change? Its trajectory with P10 / P50 / P90."""
    try:
        request = SimulationRequest(campaign=campaign, budget=budget_changes(budget),
                                    creative_refresh=creative_refresh, audience=percent(audience, "--audience"),
                                    horizon=horizon)
    except ValidationError as error:
        raise typer.BadParameter("; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        )) from None
    from pulsecast.flows import what_if  # the look-up without Prefect's import; flows only on a miss

    request_id = what_if.from_cache(get_settings(), request)
    if request_id is None:
        from pulsecast.flows.console import quiet_prefect_console

        quiet_prefect_console()
        request_id = what_if.submitted(request, wait)
        if request_id is None:
            request_id = what_if.run_here(request)
        elif not wait:
            console.print(f"Submitted {request_id} to the {what_if.QUEUE} queue; `pulsecast simulations {request_id}` "
                          "shows it.")
            return
    _show_one(request_id)


def simulations(
    request_id: str | None = typer.Argument(None, metavar="[ID]", help="A request id. Default: the newest requests."),
) -> None:
    """The newest what-if requests, or one request's trajectory, from `ml.simulations`."""
    if request_id is not None:
        _show_one(request_id)
        return
    from pulsecast.ml.simulation_store import read

    rows = read(get_settings())
    if rows.empty:
        console.print("No simulation yet: ask one with `pulsecast simulate CAMPAIGN --budget search=+20%`.")
        return
    show(console, Report("Simulations", [], [Table("Newest simulations", [_summary(r) for _, r in rows.iterrows()])]))


def _show_one(request_id: str) -> None:
    from pulsecast.ml.simulation_store import read

    try:
        row = read(get_settings(), request_id).iloc[0]
    except KeyError as error:
        raise typer.BadParameter(error.args[0], param_hint="ID") from None
    if row["status"] == "failed":
        raise RuntimeError(f"simulation {request_id} failed: {row['error']}")
    trajectory = pd.DataFrame(json.loads(row["trajectory"]))
    columns = ["day", "spend", "conversions_baseline", "conversions_p10", "conversions_p50", "conversions_p90",
               "clicks_p50", "revenue_p50"]
    trajectory["day"] = pd.to_datetime(trajectory["day"]).dt.date
    cached = " (cached)" if row["cache_hit"] else ""
    show(console, Report(
        f"What if: {row['campaign_id']}",
        [f"What if: {row['campaign_id']}, {_described(json.loads(row['parameters']))}. Request {request_id}{cached}.",
         *(f"- {note}" for note in json.loads(row["notes"]))],
        [Table("Over the horizon", json.loads(row["totals"])),
         Table("Per day", trajectory[columns].to_dict("records"))],
    ))


def _described(parameters: dict) -> str:
    parts = [f"{channel} {change:+g}%" for channel, change in parameters["budget"].items()]
    parts += ["creative refresh"] * bool(parameters["creative_refresh"])
    parts += [f"audience {parameters['audience']:+g}%"] * bool(parameters["audience"])
    return f"{', '.join(parts) or 'no change'} over {parameters['horizon']} days"


def _summary(row: pd.Series) -> dict:
    totals = json.loads(row["totals"]) if isinstance(row["totals"], str) else []  # a failed request has none
    lift = next((t for t in totals if t["measure"] == "conversions"), {})
    return {"request_id": row["request_id"], "campaign": row["campaign_id"], "created_at": row["created_at"],
            "status": row["status"], "cached": bool(row["cache_hit"]),
            "what_if": _described(json.loads(row["parameters"])),
            "conversions_lift_p50": lift.get("lift_p50"), "seconds": row["read_seconds"] + row["compute_seconds"]}
