"""What-if simulations: a campaign's daily trajectory under budget changes per channel, a creative refresh and an
audience change, with P10 / P50 / P90 intervals.

The baseline is the newest ensemble forecast of the campaign (`ml.forecasts`) on the days it covers, else the
response model's own expectation at the current spend. The what-if adjusts it per bootstrap draw:

- conversions and revenue by the response curves (`ml/response.py`): the ratio of the changed plan's expectation
  to the current plan's, draw by draw, so the interval carries the curves' uncertainty; a budget beyond a
  channel's observed spend widens it as `predict` does;
- clicks by the budget (impressions follow spend at the channel's price, so a channel's clicks scale with its
  spend), the creative refresh and the audience change (`ml/levers.py`, each with its own uncertainty).

No Prefect: `read_inputs` takes what a request needs from the warehouse, `simulate` computes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml import levers
from pulsecast.ml.response import fit, outside_ratio, widening
from pulsecast.ml.simulation_request import SimulationRequest

SAMPLES = 50
"""Bootstrap refits per response curve; the lever draws and the baseline draws match them."""
RECENT_DAYS = 14
"""A channel's current daily spend (and its share of clicks) is its mean over these days; it runs if it spent."""
Z80 = 1.2815515655446004
"""The standard normal's 90th percentile: an 80 % interval's half-width in standard deviations."""
MEASURES = ("conversions", "revenue", "clicks")
QUANTILES = (0.1, 0.5, 0.9)
_CODE = [Path(__file__).resolve().parent / name for name in ("simulation.py", "levers.py", "response.py")]

_DAILY_SQL = """
SELECT campaign_id, channel, day, sum(spend)::DOUBLE AS spend, sum(conversions)::DOUBLE AS conversions,
       sum(revenue)::DOUBLE AS revenue, sum(clicks)::DOUBLE AS clicks
FROM marts.events_daily
WHERE channel IS NOT NULL AND campaign_id = ? AND day < (SELECT max(day) FROM marts.events_daily)
GROUP BY ALL ORDER BY channel, day
"""
_CREATIVES_SQL = """
SELECT campaign_id, creative_id, day, impressions::DOUBLE AS impressions, clicks::DOUBLE AS clicks
FROM marts.creative_daily WHERE campaign_id = ? AND day < (SELECT max(day) FROM marts.creative_daily)
ORDER BY creative_id, day
"""
_FORECASTS_SQL = """
WITH newest AS (SELECT metric, arg_max(run_id, trained_at) AS run_id FROM ml.forecasts GROUP BY metric)
SELECT f.run_id, f.metric, f.ds, f.yhat, f.yhat_lo_80, f.yhat_hi_80
FROM ml.forecasts f JOIN newest USING (metric, run_id)
WHERE f.model = 'ensemble' AND f.unique_id = 'campaign/' || ? AND list_contains(?, f.metric)
ORDER BY f.metric, f.ds
"""


@dataclass(frozen=True)
class Inputs:
    """What one campaign's simulation reads: its complete days per channel (spend, conversions, revenue, clicks),
    its creatives' days, the newest forecasts of its conversions, revenue and clicks, and which campaigns exist."""

    daily: pd.DataFrame
    creatives: pd.DataFrame
    forecasts: pd.DataFrame
    campaigns: tuple[str, ...]

    def fingerprint(self) -> str:
        """A content hash of everything the simulation reads: the cache's data key."""
        digest = hashlib.sha256()
        for frame in (self.daily, self.creatives, self.forecasts):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Simulation:
    """`trajectory`: one row per day; `totals`: one row per measure over the horizon (with the lift over the
    baseline); `notes`: what the numbers rest on."""

    trajectory: pd.DataFrame
    totals: pd.DataFrame
    notes: list[str]


def code_version() -> str:
    """A hash of the simulation's code: a cached result is reused only by the code that made it."""
    return hashlib.sha256(b"".join(path.read_bytes() for path in _CODE)).hexdigest()[:12]


def campaigns_with_spend(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    return tuple(c for (c,) in con.execute(
        "SELECT DISTINCT campaign_id FROM marts.events_daily WHERE channel IS NOT NULL AND spend > 0 ORDER BY 1"
    ).fetchall())


def read_inputs(con: duckdb.DuckDBPyConnection, campaign: str) -> Inputs:
    """The campaign's inputs from the warehouse (read-only is enough); forecasts only if training has run."""
    has_forecasts = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'forecasts'"
    ).fetchall()[0][0]
    forecasts = (con.execute(_FORECASTS_SQL, [campaign, list(MEASURES)]).df() if has_forecasts
                 else pd.DataFrame(columns=["run_id", "metric", "ds", "yhat", "yhat_lo_80", "yhat_hi_80"]))
    return Inputs(con.execute(_DAILY_SQL, [campaign]).df(), con.execute(_CREATIVES_SQL, [campaign]).df(), forecasts,
                  campaigns_with_spend(con))


def running_channels(request: SimulationRequest, inputs: Inputs) -> dict[str, float]:
    """Each channel's current daily spend, once the request is checked against what exists: an unknown campaign
    or a budget change on a channel the campaign does not run is refused, naming what there is."""
    if request.campaign not in inputs.campaigns:
        raise ValueError(f"unknown campaign {request.campaign!r}; campaigns with spend: {', '.join(inputs.campaigns)}")
    day = pd.to_datetime(inputs.daily["day"])
    recent = inputs.daily[day > day.max() - pd.Timedelta(days=RECENT_DAYS)]
    spend = recent.groupby("channel")["spend"].sum() / RECENT_DAYS
    current = {str(channel): float(value) for channel, value in spend.items() if value > 0}
    unknown = sorted(set(request.budget) - set(current))
    if unknown:
        raise ValueError(f"campaign {request.campaign!r} does not run {', '.join(unknown)}; channels with spend in "
                         f"its last {RECENT_DAYS} days: {', '.join(sorted(current)) or 'none'}")
    return current


def simulate(request: SimulationRequest, inputs: Inputs, samples: int = SAMPLES, seed: int = 0) -> Simulation:
    """The request's trajectory; bad requests are refused before anything is fitted."""
    current = running_channels(request, inputs)
    multiplier = {channel: 1 + request.budget.get(channel, 0.0) / 100 for channel in current}
    last_day = pd.to_datetime(inputs.daily["day"]).max()
    days = pd.date_range(last_day + pd.Timedelta(days=1), periods=request.horizon, freq="D")
    response = _response(inputs.daily, current, multiplier, last_day, request.horizon, samples, seed)
    rng = np.random.default_rng(seed)
    notes = [response.note]
    draws, baselines, sources = {}, {}, {}
    for measure in ("conversions", "revenue"):
        now, changed = response.now[measure], response.changed[measure]
        base, sources[measure] = _baseline(inputs.forecasts, measure, days, now, rng)
        baselines[measure] = base
        draws[measure] = base * np.divide(changed, now, out=np.ones_like(now), where=now > 0)
    clicks_ratio, lever_notes = _click_ratio(request, inputs, current, multiplier, samples, seed)
    notes += lever_notes
    baselines["clicks"], sources["clicks"] = _baseline(
        inputs.forecasts, "clicks", days, _recent_clicks(inputs.daily, samples + 1, request.horizon, rng), rng
    )
    draws["clicks"] = baselines["clicks"] * clicks_ratio
    notes.append(_baseline_note(inputs.forecasts, sources))
    widen = {"conversions": response.widen, "revenue": response.widen, "clicks": 1.0}
    trajectory = pd.DataFrame({"day": days, "spend": sum(current[c] * multiplier[c] for c in current),
                               "spend_current": sum(current.values())})
    totals = []
    for measure in MEASURES:
        trajectory[f"{measure}_baseline"] = np.median(baselines[measure], axis=0)
        for name, values in zip(("p10", "p50", "p90"), _widened(draws[measure], widen[measure]), strict=True):
            trajectory[f"{measure}_{name}"] = values
        total, base_total = draws[measure].sum(axis=1), baselines[measure].sum(axis=1)
        row = {"measure": measure, "baseline": float(np.median(base_total))}
        for prefix, values, floor in (("", total, 0.0), ("lift_", total - base_total, None)):
            quantiles = _widened(values[:, None], widen[measure], floor)
            row |= {f"{prefix}{name}": float(q[0]) for name, q in zip(("p10", "p50", "p90"), quantiles, strict=True)}
        totals.append(row)
    trajectory["extrapolated"] = response.widen > 1
    trajectory["baseline_source"] = sources["conversions"]
    return Simulation(trajectory, pd.DataFrame(totals), notes)


@dataclass(frozen=True)
class _Response:
    now: dict[str, np.ndarray]  # measure -> [draws, days] at the current spend
    changed: dict[str, np.ndarray]  # measure -> [draws, days] under the request's budget
    widen: float
    note: str


def _response(daily: pd.DataFrame, current: dict[str, float], multiplier: dict[str, float], last_day: pd.Timestamp,
              horizon: int, samples: int, seed: int) -> _Response:
    """Expected conversions and revenue of the campaign's running channels at the current and the changed
    spend, per bootstrap draw. A channel that never converted has no curve and adds none (refused if its
    budget changes); a channel whose data stops before the campaign's last day spent nothing on the days
    between."""
    curves = fit(daily[daily["channel"].isin(list(current))], samples=samples, seed=seed)
    fitted = {channel: curve for (_, channel), curve in curves.items()}
    moved = sorted(c for c in current if multiplier[c] != 1 and c not in fitted)
    if moved:
        raise ValueError(f"no response curve for {', '.join(moved)}: spend without a single conversion to fit")
    zeros = np.zeros((samples + 1, horizon))
    now = {"conversions": zeros, "revenue": zeros}
    changed = dict(now)
    widen, beyond = 1.0, []
    for channel, curve in fitted.items():
        gap = (last_day - curve.last_day).days
        for plan, scale in ((now, 1.0), (changed, multiplier[channel])):
            spend = np.r_[np.zeros(gap), np.full(horizon, current[channel] * scale)]
            conversions = curve.expected(spend)[:, gap:]
            plan["conversions"] = plan["conversions"] + conversions
            plan["revenue"] = plan["revenue"] + conversions * curve.value_per_conversion[:, None]
        outside = float(outside_ratio(np.array([current[channel] * multiplier[channel]]), curve.spend_range)[0])
        if outside > 1:
            widen = max(widen, float(widening(outside)))
            beyond.append(channel)
    note = f"response curves of {', '.join(sorted(fitted)) or 'no channel'} ({samples} bootstrap refits each)"
    if beyond:
        note += f"; the new budget of {', '.join(beyond)} is beyond its observed spend: interval widened x{widen:.2f}"
    return _Response(now, changed, widen, note)


def _click_ratio(request: SimulationRequest, inputs: Inputs, current: dict[str, float],
                 multiplier: dict[str, float], samples: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """[draws, days] multiplier on clicks: each channel's clicks follow its spend; then the levers."""
    day = pd.to_datetime(inputs.daily["day"])
    recent = inputs.daily[day > day.max() - pd.Timedelta(days=RECENT_DAYS)].groupby("channel")["clicks"].sum()
    shares = {c: float(recent.get(c, 0.0)) for c in current}
    total = sum(shares.values())
    budget = sum(shares[c] * multiplier[c] for c in current) / total if total > 0 else 1.0
    ratio = np.full((samples + 1, request.horizon), budget)
    notes = []
    if request.creative_refresh or request.audience:
        law = levers.ctr_law(inputs.creatives, request.campaign, samples=samples, seed=seed)
        effects = []
        if request.creative_refresh:
            effects.append(levers.creative_refresh_effect(law, request.horizon))
        if request.audience:
            effects.append(levers.audience_expansion_effect(law, 1 + request.audience / 100, request.horizon))
        for effect in effects:
            ratio = ratio * effect.ratio
            p10, p50, p90 = effect.quantiles()
            notes.append(f"{effect.lever}: clicks x{p50:.3f} (P10-P90 {p10:.3f}-{p90:.3f}); conversions follow "
                         "the spend, not the CTR")
    return ratio, notes


def _baseline(forecasts: pd.DataFrame, metric: str, days: pd.DatetimeIndex, fallback: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """[draws, days]: the forecast's days as normal draws matching its 80 % interval, the other days the
    fallback's draws; and each day's source."""
    rows = forecasts[forecasts["metric"] == metric].assign(ds=lambda f: pd.to_datetime(f["ds"])).set_index("ds")
    rows = rows.reindex(days)
    known = rows["yhat"].notna().to_numpy()
    spread = ((rows["yhat_hi_80"] - rows["yhat_lo_80"]) / (2 * Z80)).to_numpy(float)
    drawn = rows["yhat"].to_numpy(float) + rng.standard_normal(fallback.shape) * spread
    base = np.where(known, np.maximum(drawn, 0.0), fallback)
    return base, ["forecast" if k else "response" for k in known]


def _recent_clicks(daily: pd.DataFrame, draws: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Without a forecast, clicks stay at their recent daily mean (normal draws with its standard error)."""
    per_day = daily.groupby("day")["clicks"].sum().tail(RECENT_DAYS)
    mean, error = float(per_day.mean()), float(per_day.std(ddof=1) / np.sqrt(len(per_day))) if len(per_day) > 1 else 0
    return np.maximum(mean + error * rng.standard_normal((draws, 1)), 0.0) * np.ones((1, horizon))


def _widened(draws: np.ndarray, widen: float, floor: float | None = 0.0) -> tuple[np.ndarray, ...]:
    """P10 / P50 / P90 over the draws (axis 0), the half-widths multiplied by `widen` (P10 kept above `floor`)."""
    p10, p50, p90 = np.quantile(draws, QUANTILES, axis=0)
    low = p50 - (p50 - p10) * widen
    return (low if floor is None else np.maximum(low, floor)), p50, p50 + (p90 - p50) * widen


def _baseline_note(forecasts: pd.DataFrame, sources: dict[str, list[str]]) -> str:
    parts = []
    for measure, days in sources.items():
        n = days.count("forecast")
        run = forecasts.loc[forecasts["metric"] == measure, "run_id"]
        parts.append(f"{measure}: forecast run {run.iloc[0]} on {n} day(s)" if n else f"{measure}: no forecast")
    return "baseline " + "; ".join(parts) + "; other days the current spend's expectation"
