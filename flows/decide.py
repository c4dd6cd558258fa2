"""Flow `decide`: the campaign outlook, from the marts and the newest forecasts.

1. market: the measured effect of competitor share of voice and search interest on each campaign (kept only
   where it holds out of sample), each brand's competitor position, each campaign's gap to its benchmarks;
2. scenarios: the cumulative outcome's distribution per campaign and metric, three bands with measured
   probabilities, market adjustments applied; the goal odds and dates;
3. risks: dips, fatigue, competitor threats, data and pacing risks, merged into the alert log;
4. insights: three to five per campaign, every number checked against the facts sent;
5. pivots: response curves fitted on the marts (tracked in MLflow), budget reallocations within campaigns and
   across each brand's campaigns, channel shifts, ranked by impact x confidence;
6. write `ml.*`, rebuild the outlook marts and publish them; the outlook as a markdown artifact.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pulsecast.build import build
from pulsecast.flows.artifacts import publish
from pulsecast.flows.transform import prefect_runner
from pulsecast.ml import response
from pulsecast.ml.outlook import benchmarks, detectors, goals, insights, market, pivots, risks, scenarios, store
from pulsecast.ml.outlook.config import DecideConfig
from pulsecast.ml.outlook.facts import campaign_facts
from pulsecast.ml.outlook.report import OUTLOOK_MARTS, outlook_report, read_outlook
from pulsecast.ml.outlook.scope import Scope
from pulsecast.ml.response_tracking import log_fit
from pulsecast.settings import Settings, get_settings
from pulsecast.warehouse import reader


@task(name="measure-market", cache_policy=NO_CACHE)
def measure_market(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with reader(settings) as con:
        return market.market_effects(con), market.competitor_position(con), benchmarks.benchmark_gaps(con)


@task(name="project-scenarios", cache_policy=NO_CACHE)
def project_scenarios(
    settings: Settings, config: DecideConfig, effects: pd.DataFrame, run_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with reader(settings) as con:
        outlook = scenarios.build_outlook(scenarios.read_inputs(con), market.adjustments(effects))
    return scenarios.scenario_rows(outlook, run_id, config.horizon), goals.goal_rows(outlook, run_id), outlook.pacing


@task(name="find-risks", cache_policy=NO_CACHE)
def find_risks(
    settings: Settings,
    scope: Scope,
    goal_rows: pd.DataFrame,
    scenario_rows: pd.DataFrame,
    pacing: pd.DataFrame,
    run_id: str,
) -> pd.DataFrame:
    """Every detector's findings of this run, merged into the alert log (only the scope's campaigns change)."""
    with reader(settings) as con:
        found = detectors.find_risks(con)
        previous = risks.read_open_risks(con)
    found += goals.pacing_findings(goal_rows, scenario_rows, pacing)
    return scope.merge_risks(previous, found, run_id, datetime.now(UTC).replace(tzinfo=None))


@task(name="write-insights", cache_policy=NO_CACHE, timeout_seconds=600)
def write_insights(settings: Settings, config: DecideConfig, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    facts = campaign_facts(
        frames["pacing"], frames["goals"], frames["scenarios"], frames["risks"], frames["benchmarks"]
    )
    rows, log = insights.write_insights(facts, settings, use_llm=config.llm)
    print(log.describe())
    return rows


@task(name="recommend-pivots", cache_policy=NO_CACHE)
def recommend_pivots(settings: Settings, config: DecideConfig, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit the scope's response curves on the complete days (logged to MLflow), then rank its budget pivots."""
    with reader(settings) as con:
        daily = pivots.complete_days(response.read_daily(con))
        flights = pivots.read_flights(con)
    frame = daily[daily["campaign_id"].isin(scope.campaigns)]
    started = time.perf_counter()
    curves = response.fit(frame) if not frame.empty else {}
    if not curves:
        print("No campaign has spend and conversions to fit response curves on: no budget pivots.")
        return pivots.pivot_rows([], {}, None)
    run_id = log_fit(settings, frame, curves, time.perf_counter() - started)
    found = pivots.recommend_pivots(curves, frame, flights, scope.campaigns, config.horizon, config.bound)
    brands = dict(zip(flights["campaign_id"], flights["brand_id"], strict=True))
    print(f"Fitted {len(curves)} response curves in {time.perf_counter() - started:.1f} s; {len(found)} pivots.")
    return pivots.pivot_rows(found, brands, run_id)


@flow(name="decide", log_prints=True)
def decide(config: DecideConfig = DecideConfig()) -> dict[str, int]:
    """Scenarios, goal odds, risks, market and benchmark position and insights for every forecast campaign (or
    those named), written to `ml.*` and the outlook marts. Returns the rows written per table."""
    settings = get_settings()
    run_id = flow_run.get_id() or "local"
    with reader(settings) as con:
        scope = Scope.of(con, config.campaigns)
    if scope.empty:
        print("No campaign has a forecast yet: nothing to decide. Run `train` first?")
        return {}
    effects, competitors, gaps = measure_market(settings)
    scenario_rows, goal_rows, pacing = project_scenarios(settings, config, effects, run_id)
    frames = scope.only(
        {
            "scenarios": scenario_rows,
            "goals": goal_rows,
            "market_effects": effects,
            "benchmarks": gaps,
            "pacing": pacing,
        }
    )
    frames["competitors"] = competitors
    frames["risks"] = find_risks(settings, scope, goal_rows, scenario_rows, pacing, run_id)
    frames["insights"] = write_insights(settings, config, frames)
    frames["pivots"], frames["pivot_moves"] = recommend_pivots(settings, config, scope)
    written = store.write(settings, {table: frames[table] for table in store.TABLES}, run_id)
    build(settings, select=OUTLOOK_MARTS, runner=prefect_runner())
    publish(outlook_report(read_outlook(settings), written), key="decide-outlook")
    return written
