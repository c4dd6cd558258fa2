"""The `decide` flow's warehouse tables, `ml.<name>`, each declared once by the module that computes it.

A module declares `COLUMNS` (name -> (DuckDB type, description)); the DDL is derived from it here and the
dbt sources restate names, types and texts (dbt_project/models/ml/_outlook_sources.yml, checked by
tests/test_contract_docs.py). Every table but the alert log keeps each run's rows (a run's rows are replaced if it
is written again), so an outlook can be compared with what happened; `ml.risks` is the alert log itself,
rewritten whole each run by `risks.merge_findings`.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pandas as pd

from pulsecast.ml.outlook import benchmarks, goals, insights, market, pivots, risks, scenarios
from pulsecast.ml.outputs import replace
from pulsecast.settings import Settings
from pulsecast.warehouse import writer

Columns = Mapping[str, tuple[str, str]]

TABLES: dict[str, Columns] = {
    "scenarios": scenarios.COLUMNS,
    "goals": goals.COLUMNS,
    "risks": risks.COLUMNS,
    "market_effects": market.COLUMNS,
    "competitors": market.COMPETITOR_COLUMNS,
    "benchmarks": benchmarks.COLUMNS,
    "insights": insights.COLUMNS,
    "pivots": pivots.COLUMNS,
    "pivot_moves": pivots.MOVE_COLUMNS,
}
WHOLE = {"risks"}
"""Tables rewritten whole each run rather than appended per run (their rows carry their own run ids)."""


def ddl(table: str, columns: Columns) -> str:
    body = ", ".join(f'"{name}" {sql_type}' for name, (sql_type, _) in columns.items())
    return f"CREATE TABLE IF NOT EXISTS ml.{table} ({body})"


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    for table, columns in TABLES.items():
        con.execute(ddl(table, columns))


def write(settings: Settings, frames: Mapping[str, pd.DataFrame], run_id: str) -> dict[str, int]:
    """Every table of one run, under the writer lock; returns the rows written per table."""
    with writer(settings, "decide: writing the outlook") as con:
        prepare(con)
        for table, frame in frames.items():
            frame = frame.reindex(columns=list(TABLES[table]))  # an empty part may come without its columns
            if table in WHOLE:
                replace(con, table, frame)
            else:
                replace(con, table, frame.assign(run_id=run_id), run_id)
    return {table: len(frame) for table, frame in frames.items()}
