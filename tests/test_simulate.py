"""What-if simulations: the model against the generated world's truth and planted CTR laws, the `simulate` flow
under Prefect (its record, its cache, its bad requests), the CLI, and the priority queues it is served from."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from cli_support import admin_client, api_process, free_port, pulsecast
from levers_support import planted
from pydantic import ValidationError
from simulate_support import small_world

from pulsecast.generator import WorldConfig
from pulsecast.generator.dynamics import creative_age_factor, saturation_factor
from pulsecast.generator.intervention import Intervention, SpendChange
from pulsecast.generator.replay import baseline, replay
from pulsecast.keys import KeyStore
from pulsecast.metrics.scope import Scope
from pulsecast.ml import levers
from pulsecast.ml.simulation import Inputs, simulate
from pulsecast.ml.simulation_request import SimulationRequest
from pulsecast.settings import PROJECT_ROOT, Settings

HORIZON = 28
CONFIG = WorldConfig(seed=3, days=90, campaigns=4, events_per_day=40_000, end=datetime(2026, 11, 21, tzinfo=UTC))
NO_FORECASTS = pd.DataFrame(columns=["run_id", "metric", "ds", "yhat", "yhat_lo_80", "yhat_hi_80"])
NO_CREATIVES = pd.DataFrame(columns=["campaign_id", "creative_id", "day", "impressions", "clicks"])


@pytest.fixture(scope="module")
def world():
    """The world's history up to a cutoff as the marts would hold it, and its baseline replay after it."""
    last = CONFIG.resolved_end().date() - timedelta(days=1)
    cutoff = last - timedelta(days=HORIZON - 1)
    history = baseline(CONFIG, last - timedelta(days=CONFIG.days - 1), cutoff - timedelta(days=1)).replay
    realised = history.realised
    n_days, n_pairs = realised.spend.shape
    daily = pd.DataFrame({
        "campaign_id": np.tile(history.campaign_ids, n_days), "channel": np.tile(history.channels, n_days),
        "day": np.repeat(history.days.astype("datetime64[D]"), n_pairs), "spend": realised.spend.ravel(),
        "conversions": realised.conversions.ravel(), "revenue": realised.revenue.ravel(),
        "clicks": realised.clicks.ravel(),
    })
    daily = daily[daily["spend"] > 0]
    return daily, baseline(CONFIG, cutoff, last)


def inputs_of(daily: pd.DataFrame, campaign: str, forecasts: pd.DataFrame = NO_FORECASTS) -> Inputs:
    return Inputs(daily[daily["campaign_id"] == campaign], NO_CREATIVES, forecasts,
                  tuple(sorted(daily["campaign_id"].unique())))


def true_lift(future, campaign: str, multipliers: dict[str, float]) -> float:
    """Expected conversions the world gains over the horizon under the spend multipliers (its own truth)."""
    changed = replay(future, Intervention(spend=tuple(SpendChange(campaign_id=campaign, channel=channel,
                                                                  multiplier=m) for channel, m in multipliers.items())))
    mine = np.array(future.replay.campaign_ids) == campaign
    return float((changed.expected.conversions - future.replay.expected.conversions)[:, mine].sum())


def test_a_budget_move_changes_conversions_the_way_the_true_curves_do(world):
    daily, future = world
    campaign = "cmp-003"  # search, social and display, hundreds of conversions
    predicted, truth = {}, {}
    for gaining, losing in (("search", "social"), ("social", "search")):
        budget = {gaining: 30.0, losing: -30.0}
        result = simulate(SimulationRequest(campaign=campaign, budget=budget, horizon=HORIZON),
                          inputs_of(daily, campaign), samples=20)
        predicted[gaining] = result.totals.set_index("measure").loc["conversions", "lift_p50"]
        truth[gaining] = true_lift(future, campaign, {gaining: 1.3, losing: 0.7})
    best = max(truth, key=truth.get)
    assert truth[best] > 0 and predicted[best] > 0, (truth, predicted)
    assert predicted[best] > min(predicted.values()), "the move the truth prefers is the one predicted to gain more"

    more = simulate(SimulationRequest(campaign=campaign, budget={"search": 50.0}, horizon=HORIZON),
                    inputs_of(daily, campaign), samples=20).totals.set_index("measure")
    assert more.loc["conversions", "lift_p10"] > 0 and true_lift(future, campaign, {"search": 1.5}) > 0
    assert more.loc["clicks", "lift_p50"] > 0 and more.loc["revenue", "lift_p50"] > 0


def test_an_empty_what_if_is_the_baseline_and_the_forecast_is_the_baseline_where_it_exists(world):
    daily, _ = world
    start = pd.to_datetime(daily["day"]).max() + pd.Timedelta(days=1)
    forecasts = pd.DataFrame({"run_id": "r1", "metric": "conversions", "ds": pd.date_range(start, periods=5),
                              "yhat": 40.0, "yhat_lo_80": 30.0, "yhat_hi_80": 50.0})
    result = simulate(SimulationRequest(campaign="cmp-001", horizon=10), inputs_of(daily, "cmp-001", forecasts),
                      samples=20)
    trajectory = result.trajectory
    for measure in ("conversions", "revenue", "clicks"):
        assert np.allclose(trajectory[f"{measure}_p50"], trajectory[f"{measure}_baseline"])
    assert (result.totals[["lift_p10", "lift_p50", "lift_p90"]].abs() < 1e-9).all().all()
    assert trajectory["baseline_source"].tolist() == ["forecast"] * 5 + ["response"] * 5
    assert trajectory["conversions_p50"].head(5).between(36, 44).all(), "the forecast's median, 40"
    assert 27 < trajectory["conversions_p10"].head(5).mean() < 35, "the forecast's own P10, 30"
    assert 45 < trajectory["conversions_p90"].head(5).mean() < 53, "the forecast's own P90, 50"
    assert (trajectory["conversions_p50"].tail(5) < 20).all(), "then the curves' own expectation"
    assert (trajectory["spend"] == trajectory["spend_current"]).all()


def test_creative_refresh_and_audience_effects_are_positive_where_planted_and_nil_where_not():
    law = levers.ctr_law(planted(rate=1 / 15, spread=0.02), "c1")
    refresh = levers.creative_refresh_effect(law, 14)
    ages = np.array([79.0, 54.0, 29.0])  # on the last day; the clicks mix weighs them by their CTR
    truth = float(np.mean([np.average(creative_age_factor(np.array(h - 1.0), 15.0) / creative_age_factor(ages + h, 15),
                                      weights=creative_age_factor(ages, 15.0)) for h in range(1, 15)]))
    low, mid, high = refresh.quantiles()
    assert 1 < low <= mid <= high and mid == pytest.approx(truth, rel=0.15), (low, mid, high, truth)

    audience = levers.audience_expansion_effect(law, 1.25, 14)
    shown = (80 + np.arange(14)) * 0.02 * 15  # the world's impressions per pool user, whose saturation scale is 15
    true_gain = float(np.mean(saturation_factor(shown / 1.25) / saturation_factor(shown)))
    low, mid, high = audience.quantiles()
    assert mid > 1 and low <= true_gain * 1.1 and mid == pytest.approx(true_gain, rel=0.1), (low, mid, high, true_gain)

    flat = levers.ctr_law(planted(rate=0.0, spread=0.0), "c1")
    assert levers.creative_refresh_effect(flat, 14).quantiles()[1] < 1.05
    assert levers.audience_expansion_effect(flat, 1.25, 14).quantiles()[1] < 1.02
    with pytest.raises(levers.TooLittleData, match="has 0 clicks on 0 days"):
        levers.ctr_law(planted(rate=0.0, spread=0.0), "c2")
    with pytest.raises(ValueError, match="above zero"):
        levers.audience_expansion_effect(flat, 0.0, 14)


def test_bad_requests_are_refused_naming_what_exists(world):
    daily, _ = world
    with pytest.raises(ValueError, match=r"unknown campaign 'cmp-404'; campaigns with spend: cmp-001, cmp-002, cmp-0"):
        simulate(SimulationRequest(campaign="cmp-404"), inputs_of(daily, "cmp-404"))
    with pytest.raises(ValueError, match=r"does not run tv; channels with spend in its last 14 days: ctv, video"):
        simulate(SimulationRequest(campaign="cmp-002", budget={"tv": 10}), inputs_of(daily, "cmp-002"))
    with pytest.raises(ValidationError, match="budget change for display is -120 %, which puts its budget below zero"):
        SimulationRequest(campaign="cmp-001", budget={"display": -120})
    for horizon in (0, 91):
        with pytest.raises(ValidationError, match="horizon"):
            SimulationRequest(campaign="cmp-001", horizon=horizon)
    with pytest.raises(ValidationError, match="audience"):
        SimulationRequest(campaign="cmp-001", audience=-100)


def test_only_a_busy_warehouse_is_worth_retrying_the_write() -> None:
    from prefect.states import Failed

    from pulsecast.flows.simulate import record
    from pulsecast.warehouse import WarehouseBusy

    retry = record.retry_condition_fn
    assert record.retries == 3
    assert retry(record, None, Failed(data=WarehouseBusy("the warehouse stayed locked")))
    assert not retry(record, None, Failed(data=ValueError("unknown campaign 'x'")))


@pytest.fixture(scope="module")
def served(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small world in the warehouse, the environment pointing at it for the module's tests."""
    data_dir = tmp_path_factory.mktemp("simulate") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PULSECAST_DATA_DIR", str(data_dir))
        yield small_world(data_dir)


def recorded(settings: Settings, request_id: str) -> pd.Series:
    from pulsecast.ml.simulation_store import read

    return read(settings, request_id).iloc[0]


@pytest.mark.slow
def test_simulate_flow_records_its_result_and_serves_a_repeat_from_the_cache(served: Settings) -> None:
    from pulsecast.flows.simulate import simulate_what_if

    request = SimulationRequest(campaign="cmp-002", budget={"search": 20.0}, creative_refresh=True, audience=25,
                                horizon=7)
    first = recorded(served, simulate_what_if(request))
    assert first["status"] == "completed" and not first["cache_hit"] and first["cached_from"] == first["request_id"]
    assert first["compute_seconds"] > 0 and first["finished_at"] >= first["created_at"]
    trajectory = pd.DataFrame(json.loads(first["trajectory"]))
    assert len(trajectory) == 7 and (trajectory["conversions_p10"] <= trajectory["conversions_p90"]).all()
    totals = {row["measure"]: row for row in json.loads(first["totals"])}
    assert totals["clicks"]["lift_p50"] > 0, "more search, a fresh creative and a larger audience: more clicks"
    assert json.loads(first["parameters"])["budget"] == {"search": 20.0}

    again = recorded(served, simulate_what_if(request))
    assert again["request_id"] != first["request_id"] and again["cache_hit"]
    assert again["cached_from"] == first["request_id"] and again["compute_seconds"] == 0
    assert again["trajectory"] == first["trajectory"] and again["cache_key"] == first["cache_key"]
    other = recorded(served, simulate_what_if(request.model_copy(update={"horizon": 8})))
    assert not other["cache_hit"], "other parameters, another key"


@pytest.mark.slow
def test_simulate_flow_fails_a_bad_request_and_records_why(served: Settings) -> None:
    from prefect.client.orchestration import get_client

    from pulsecast.flows.simulate import simulate_what_if

    state = simulate_what_if(SimulationRequest(campaign="cmp-001", budget={"tv": 10.0}), return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="campaign 'cmp-001' does not run tv; channels with spend"):
        state.result()
    row = recorded(served, str(state.state_details.flow_run_id))
    assert row["status"] == "failed" and "does not run tv" in row["error"]
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs()
    reads = [t for t in tasks if t.flow_run_id == state.state_details.flow_run_id and t.name.startswith("read")]
    assert reads and all(t.run_count == 1 for t in reads), "a bad request is not retried"


@pytest.mark.slow
def test_cli_simulates_here_without_a_deployment_and_reads_it_back(served: Settings) -> None:
    """With a server but no `simulate` deployment the CLI runs the flow itself."""
    from prefect.settings import get_current_settings

    server = {"PREFECT_API_URL": str(get_current_settings().api.url)}
    asked = pulsecast("simulate", "cmp-001", "--budget", "social=+10%", "--budget", "email=-10%", "--horizon", "5",
                      data_dir=served.data_dir, **server)
    assert asked.returncode == 0, asked.stderr
    assert "What if: cmp-001, email -10%, social +10% over 5 days. Request " in asked.stdout
    request_id = re.search(r"Request (\S+?)\.\n", asked.stdout).group(1)
    shown = pulsecast("simulations", request_id, data_dir=served.data_dir)
    assert shown.returncode == 0 and "Per day" in shown.stdout and request_id in shown.stdout
    assert request_id in pulsecast("simulations", data_dir=served.data_dir).stdout
    for budget, reason in (("search=-150%", "budget below zero"), ("search+10", "is not CHANNEL=CHANGE")):
        refused = pulsecast("simulate", "cmp-002", "--budget", budget, data_dir=served.data_dir, **server)
        assert refused.returncode == 2 and reason in refused.stderr
    unknown = pulsecast("simulate", "cmp-404", data_dir=served.data_dir, **server)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines()[-1].startswith("error: unknown campaign 'cmp-404'; campaigns with")


@pytest.mark.slow
def test_cli_answers_a_repeat_from_the_cache_without_starting_a_flow(served: Settings) -> None:
    """The CLI looks the request up under the flow's own key first: a repeat is recorded as a cache hit and shown,
    and no flow run is created; a changed request still runs the flow."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    server = {"PREFECT_API_URL": str(get_current_settings().api.url)}
    asked = ("simulate", "cmp-002", "--budget", "display=+10%", "--creative-refresh", "--horizon", "6")

    def flow_runs() -> int:
        with get_client(sync_client=True) as client:
            return client.count_flow_runs()

    first = pulsecast(*asked, data_dir=served.data_dir, **server)
    assert first.returncode == 0 and "(cached)" not in first.stdout, first.stderr
    runs = flow_runs()
    again = pulsecast(*asked, data_dir=served.data_dir, **server)
    assert again.returncode == 0 and "(cached)" in again.stdout, again.stderr
    assert flow_runs() == runs, "a repeat costs a look-up, not a flow run"
    origin, repeat = (re.search(r"Request (\S+?)[ .]", out.stdout).group(1) for out in (first, again))
    row = recorded(served, repeat)
    assert row["cache_hit"] and row["cached_from"] == origin and row["compute_seconds"] == 0
    assert row["trajectory"] == recorded(served, origin)["trajectory"]
    changed = pulsecast(*asked[:-1], "7", data_dir=served.data_dir, **server)
    assert changed.returncode == 0 and "(cached)" not in changed.stdout and flow_runs() == runs + 1


@pytest.mark.slow
def test_the_simulate_deployments_sit_on_the_priority_queues_serve_creates(prefect_harness: None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from pulsecast.flows.serve import POOL, QUEUES, ensure_queues

    deployments = {d["name"]: d for d in yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"]}
    assert deployments["simulate"]["work_pool"]["work_queue_name"] == "interactive"
    assert deployments["simulate-batch"]["work_pool"]["work_queue_name"] == "batch"
    assert deployments["simulate"]["entrypoint"] == "flows/simulate.py:simulate_what_if"
    from prefect.utilities.callables import parameter_schema

    from pulsecast.flows.simulate import simulate_what_if

    form = parameter_schema(simulate_what_if.fn).model_dump()
    assert set(form["definitions"]["SimulationRequest"]["properties"]) == set(SimulationRequest.model_fields)
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"), overwrite=True)
        ensure_queues(client)
        client.update_work_queue(client.read_work_queue_by_name("batch", POOL).id, priority=1, concurrency_limit=9)
        ensure_queues(client)  # a restart puts them back
        queues = {q.name: q for q in client.read_work_queues(work_pool_name=POOL)}
    assert {name: (queues[name].priority, queues[name].concurrency_limit) for name in QUEUES} == QUEUES
    assert queues["interactive"].priority < queues["batch"].priority < queues["default"].priority


@pytest.mark.slow
def test_served_simulate_answers_the_cli_from_the_interactive_queue(
    served: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make serve`'s machinery for real: server, pool, queues, deployments and a worker; `--wait` gets the answer."""
    from pulsecast.flows.serve import local_prefect

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with local_prefect(free_port()) as local, local.worker():
        deployment = local.client.read_deployment_by_name("simulate/simulate")
        assert (deployment.work_pool_name, deployment.work_queue_name) == ("pulsecast", "interactive")
        assert "request" in deployment.parameter_openapi_schema["properties"], "a typed form in the UI"
        queues = {q.name: q.priority for q in local.client.read_work_queues(work_pool_name="pulsecast")}
        assert queues["interactive"] < queues["batch"] < queues["default"]
        asked = pulsecast("simulate", "cmp-002", "--budget", "display=+30%", "--horizon", "4", "--wait",
                          data_dir=served.data_dir, PREFECT_API_URL=local.env["PREFECT_API_URL"])
        assert asked.returncode == 0, asked.stderr
        request_id = re.search(r"Request (\S+?)\.\n", asked.stdout).group(1)
        run = local.client.read_flow_run(UUID(request_id))
        assert run.work_queue_name == "interactive" and run.state.is_completed(), "the worker ran it, not the CLI"

        _, key = KeyStore(served.key_store).create(Scope(), "what-if")
        beside_serve = {"PREFECT_API_URL": local.env["PREFECT_API_URL"]}
        with api_process(served.data_dir, **beside_serve) as api, admin_client(api.url, key) as client:
            answer = what_if_over_http(client, {"campaign": "cmp-002", "budget": {"display": -20.0}, "horizon": 4})
        assert answer["status"] == "completed" and len(answer["trajectory"]) == 4, answer
        run = local.client.read_flow_run(UUID(answer["request_id"]))
        assert run.work_queue_name == "interactive" and run.state.is_completed(), "the worker ran it, not the API"


def what_if_over_http(client: httpx.Client, request: dict, timeout_s: float = 180.0) -> dict:
    """POST a what-if; poll its job until it is done."""
    submitted = client.post("/api/simulations", json=request)
    assert submitted.status_code == 202, submitted.text
    deadline = time.monotonic() + timeout_s
    while (answer := client.get(f"/api/simulations/{submitted.json()['job']}").json())["status"] == "running":
        assert time.monotonic() < deadline, "the what-if did not finish"
        time.sleep(0.5)
    return answer


def test_the_dbt_docs_declare_every_column_of_ml_simulations() -> None:
    from pulsecast.ml.simulation_store import COLUMNS, TABLE

    path = PROJECT_ROOT / "dbt_project" / "models" / "ml" / "_simulations_sources.yml"
    (source,) = yaml.safe_load(path.read_text())["sources"]
    (table,) = source["tables"]
    assert (source["schema"], table["name"]) == ("ml", TABLE)
    assert [(c["name"], c["data_type"], c["description"]) for c in table["columns"]] == [
        (name, sql_type.lower(), text) for name, (sql_type, text) in COLUMNS.items()
    ]
