"""The DDL of an `ml.*` table from its declared columns (name -> SQL type and description), kept apart from the
modules that declare them so a light reader (the CLI's what-if look-up) records a row without importing them."""

from __future__ import annotations

from collections.abc import Mapping

Columns = Mapping[str, tuple[str, str]]


def ddl(table: str, columns: Columns) -> str:
    body = ", ".join(f'"{name}" {sql_type}' for name, (sql_type, _) in columns.items())
    return f"CREATE TABLE IF NOT EXISTS ml.{table} ({body})"
