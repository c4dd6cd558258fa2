"""`ml.pivots` and `ml.pivot_moves`: the `decide` run's recommendations, one row each, ranked by predicted
impact x confidence, and the per-line spend of every budget move.

Budget rows come from the response curves (`ml/response.py`) fitted on the complete days of the marts: a
reallocation within each campaign (`ml/pivots.py`), one across each brand's campaigns at the brand's total, and
a channel shift where marginal returns differ (`ml/channel_shift.py`). Each campaign spends until its flight
ends (`campaign_pacing.end_date`). The creative and audience kinds share the table: they have no moves.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd

from pulsecast.ml.channel_shift import recommend_shifts
from pulsecast.ml.pivots import Line, Pivot, current_spend, recommend, recommend_brands
from pulsecast.ml.response import Curve

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "pivot_id": ("VARCHAR", "kind/scope, e.g. channel_shift/cmp-001 or budget_reallocation/brand/brd-01."),
    "rank": ("INTEGER", "Order within the run by impact (predicted median lift x confidence), 1 first."),
    "kind": ("VARCHAR", "budget_reallocation, channel_shift, creative_refresh or audience_expansion."),
    "level": ("VARCHAR", "campaign (one campaign's channels) or brand (across a brand's campaigns)."),
    "campaign_id": ("VARCHAR", "Campaign; null for a move across a brand's campaigns (see ml.pivot_moves)."),
    "brand_id": ("VARCHAR", "Brand of the campaign, or the brand whose campaigns the move spans."),
    "summary": ("VARCHAR", "The recommendation in one sentence."),
    "current": ("VARCHAR", "What is done now, in words (budget kinds: USD/day per line)."),
    "recommended": ("VARCHAR", "What to do instead, in words (budget kinds: USD/day per line)."),
    "spend_moved": ("DOUBLE", "USD per day moved between lines (the sum of the increases); 0 for other kinds."),
    "horizon_days": ("INTEGER", "Days ahead the lift is predicted over, from the day after the last complete day."),
    "conversions": ("DOUBLE", "Conversions expected over the horizon as things are (median over the curves)."),
    "lift_p10": ("DOUBLE", "Predicted extra conversions over the horizon, P10 (after the curse correction)."),
    "lift_p50": ("DOUBLE", "Predicted extra conversions over the horizon, median."),
    "lift_p90": ("DOUBLE", "Predicted extra conversions over the horizon, P90."),
    "confidence": ("DOUBLE", "Share of the bootstrap curves under which the move gains."),
    "impact": ("DOUBLE", "lift_p50 x confidence: what the rank orders by."),
    "extrapolated": ("BOOLEAN", "Some recommended spend lies outside the line's observed range: interval widened."),
    "assumptions": ("VARCHAR", "What the prediction takes for granted."),
    "response_run_id": ("VARCHAR", "The MLflow run of the response fit behind the prediction (null: none)."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}
MOVE_COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "pivot_id": ("VARCHAR", "The recommendation (ml.pivots.pivot_id) the move belongs to."),
    "campaign_id": ("VARCHAR", "Campaign of the line."),
    "channel": ("VARCHAR", "Channel of the line."),
    "current_spend": ("DOUBLE", "USD per day now: the line's mean over its last 14 days."),
    "recommended_spend": ("DOUBLE", "USD per day recommended."),
    "change": ("DOUBLE", "recommended_spend / current_spend - 1: 0.2 = 20 % more."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}

_FLIGHTS_SQL = "SELECT campaign_id, brand_id, end_date FROM marts.campaign_pacing ORDER BY campaign_id"


def complete_days(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without its newest day, which is still receiving events (its spend would read as a cut)."""
    day = pd.to_datetime(frame["day"])
    return frame[day < day.max()].reset_index(drop=True)


def read_flights(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each campaign's brand and flight end (null: open ended)."""
    return con.execute(_FLIGHTS_SQL).df()


def running_days(flights: pd.DataFrame, last_day: pd.Timestamp, horizon: int) -> dict[str, int]:
    """Days of the horizon after `last_day` each campaign still delivers, from its flight's end date."""
    ends = pd.to_datetime(flights["end_date"])
    days = ((ends - last_day).dt.days).fillna(horizon).clip(0, horizon).astype(int)
    return dict(zip(flights["campaign_id"].astype(str), days.tolist(), strict=True))


def recommend_pivots(curves: dict[Line, Curve], frame: pd.DataFrame, flights: pd.DataFrame,
                     campaigns: Iterable[str], horizon: int, bound: float) -> list[Pivot]:
    """Every budget pivot of the `campaigns` that have curves, ranked by impact; moves only."""
    chosen = sorted({c for c, _ in curves} & set(campaigns))
    current = current_spend(frame)
    running = running_days(flights, pd.to_datetime(frame["day"]).max(), horizon)
    brands = {c: str(b) for c, b in zip(flights["campaign_id"], flights["brand_id"], strict=True)
              if c in chosen and b is not None}
    options = {"horizon": horizon, "bound": bound, "running": running}
    reallocations = recommend(curves, current, chosen, **options)
    same = {p.scope: p.recommended for p in reallocations}
    shifts = [s for s in recommend_shifts(curves, current, chosen, **options)
              if not np.allclose(s.recommended, same.get(s.scope, np.nan))]  # a two-channel shift is often the same
    pivots = reallocations + shifts + recommend_brands(curves, current, brands, **options)
    return sorted((p for p in pivots if p.moved), key=lambda p: -p.impact)


def pivot_rows(pivots: list[Pivot], brands: dict[str, str], response_run_id: str | None,
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`ml.pivots` and `ml.pivot_moves` rows (without run_id, which the store adds)."""
    created = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows, moves = [], []
    for rank, pivot in enumerate(sorted(pivots, key=lambda p: -p.impact), start=1):
        level = "campaign" if pivot.campaign_id else "brand"
        pivot_id = f"{pivot.kind}/{pivot.scope}" if pivot.campaign_id else f"{pivot.kind}/brand/{pivot.scope}"
        rows.append({
            "pivot_id": pivot_id, "rank": rank, "kind": str(pivot.kind), "level": level,
            "campaign_id": pivot.campaign_id,
            "brand_id": brands.get(pivot.campaign_id) if pivot.campaign_id else pivot.scope,
            "summary": summary(pivot), "current": _spends(pivot, pivot.current),
            "recommended": _spends(pivot, pivot.recommended),
            "spend_moved": float(np.clip(pivot.recommended - pivot.current, 0, None).sum()),
            "horizon_days": pivot.horizon, "conversions": pivot.conversions, "lift_p10": pivot.lift_p10,
            "lift_p50": pivot.lift_p50, "lift_p90": pivot.lift_p90, "confidence": pivot.confidence,
            "impact": pivot.impact, "extrapolated": pivot.extrapolated, "assumptions": pivot.assumptions,
            "response_run_id": response_run_id, "created_at": created,
        })
        moves += [{"pivot_id": pivot_id, "campaign_id": c, "channel": ch, "current_spend": float(now),
                   "recommended_spend": float(then), "change": float(then / now - 1), "created_at": created}
                  for (c, ch), now, then in zip(pivot.lines, pivot.current, pivot.recommended, strict=True)]
    return (pd.DataFrame(rows, columns=list(COLUMNS)[1:]), pd.DataFrame(moves, columns=list(MOVE_COLUMNS)[1:]))


def summary(pivot: Pivot) -> str:
    """One sentence: the biggest move, and what it is predicted to give."""
    change = pivot.recommended - pivot.current
    up, down = int(np.argmax(change)), int(np.argmin(change))
    where = pivot.scope if pivot.campaign_id else f"brand {pivot.scope}"
    return (f"{where}: move {change[up]:,.2f} USD/day to {_line(pivot, up)} from {_line(pivot, down)}"
            f"{' and others' if (np.abs(change) > 1e-9).sum() > 2 else ''}: {pivot.lift_p50:+,.1f} conversions "
            f"over {pivot.horizon} days (P10 {pivot.lift_p10:+,.1f}, P90 {pivot.lift_p90:+,.1f}), "
            f"confidence {pivot.confidence:.0%}.")


def _line(pivot: Pivot, index: int) -> str:
    campaign, channel = pivot.lines[index]
    return channel if pivot.campaign_id else f"{campaign} {channel}"


def _spends(pivot: Pivot, spend: np.ndarray) -> str:
    return ", ".join(f"{_line(pivot, i)} {s:,.2f}" for i, s in enumerate(spend)) + " USD/day"
