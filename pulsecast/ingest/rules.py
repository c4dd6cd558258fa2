"""The contract as SQL: typed values and, for each record that breaks a rule, a reason a person can read.

Each column's value arrives as text (JSONL, CSV) or in a native type (Parquet). One conversion per column
turns it into the contract type; a value that is present but does not convert is reported with the value
itself, so the quarantine says what was wrong, not just that something was.
"""

from __future__ import annotations

from pulsecast.contract import Column, Contract, EventType
from pulsecast.ingest.staging import MAX_RAW_CHARS, Staged

MAX_TEXT_CHARS = 1000
WHITESPACE = " \t\n\r\v\f\u00a0"
"""Trimmed from text values (SQL's trim() alone strips only spaces); a value of nothing else counts as missing."""
EDGE_CHARACTERS = ", ".join(f"chr({ord(c)})" for c in WHITESPACE)
EARLIEST_TS = "2000-01-01"
NUMERIC_PREFIXES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
NESTED_PREFIXES = ("STRUCT", "MAP", "UNION")


def _nested(source_type: str) -> bool:
    """Parquet structs, maps and lists: never a valid value for a scalar contract column."""
    return source_type.startswith(NESTED_PREFIXES) or source_type.endswith("]")


def _cleaned_text(value: str) -> str:
    """Trimmed text, NULL when nothing is left.

    Most values neither start nor end with whitespace: a look at their first and last character keeps them as
    they are, and trim() with the character list (about three plain trims) runs on the rest only. Looking for
    the rare characters anywhere in the value instead (six contains() per value) cost twice as much: 0.47 s
    against 0.22 s for the seven text columns of a million Parquet events (`bench/ingest.py`'s file).
    """
    first_is_space = f"ascii({value}) < 33 OR ascii({value}) = 160"  # also '' (0), and control characters
    last_is_space = f"array_extract({value}, -1) IN ({EDGE_CHARACTERS})"
    return (
        f"CASE WHEN {first_is_space} OR {last_is_space} THEN NULLIF(trim({value}, '{WHITESPACE}'), '') "
        f"ELSE {value} END"
    )


def _shown(expr: str) -> str:
    """A value quoted for a message, cut short so a huge field cannot flood the quarantine."""
    return f"""'"' || left(CAST({expr} AS VARCHAR), 60) || '"'"""


def _typed(column: Column, source: str, source_type: str) -> str:
    """SQL converting the staged value to the contract type; NULL where it does not convert."""
    if column.kind == "timestamp":
        if source_type == "VARCHAR":
            return (
                f"CASE WHEN regexp_full_match({source}, '-?[0-9]+') THEN "
                f"CASE WHEN TRY_CAST({source} AS BIGINT) BETWEEN -1e14 AND 1e14 "
                f"THEN epoch_ms(CAST({source} AS BIGINT)) END "
                f"ELSE CAST(TRY_CAST({source} AS TIMESTAMPTZ) AS TIMESTAMP) END"
            )
        if source_type.startswith(NUMERIC_PREFIXES):
            return f"CASE WHEN {source} BETWEEN -1e14 AND 1e14 THEN epoch_ms(CAST({source} AS BIGINT)) END"
        return f"TRY_CAST({source} AS TIMESTAMP)"
    if column.kind in ("text", "event_type"):
        if _nested(source_type):
            return "NULL::VARCHAR"
        value = f"CAST({source} AS VARCHAR)"
        return f"lower({value})" if column.kind == "event_type" else value
    if source_type == "BOOLEAN":  # a flag is no amount, though TRY_CAST would make true 1
        return "NULL"
    return f"TRY_CAST({source} AS {column.sql_type})"


def _reasons(column: Column, source: str, source_type: str, typed: str, future_hours: float) -> list[str]:
    name = column.name
    checks: list[tuple[str, str]] = []
    if column.required:
        checks.append((f"{source} IS NULL", f"'missing required field {name}'"))
    if column.kind in ("text", "event_type"):
        if _nested(source_type):
            shape = source_type.replace("'", "''")
            checks.append((f"{source} IS NOT NULL", f"'{name} ' || {_shown(source)} || ' is a {shape}, not text'"))
        checks.append((f"length({typed}) > {MAX_TEXT_CHARS}", f"'{name} is longer than {MAX_TEXT_CHARS} characters'"))
    else:
        what = {
            "timestamp": "an ISO-8601 timestamp or epoch milliseconds",
            "date": "a date (YYYY-MM-DD)",
            "integer": "a whole number",
        }.get(column.kind, "a number")
        message = f"' is not {what}'"
        if column.kind in ("money", "integer") and source_type != "BOOLEAN":  # a number too big for the column
            message = (
                f"CASE WHEN isfinite(TRY_CAST({source} AS DOUBLE)) "
                f"THEN ' is out of range for {column.sql_type}' ELSE {message} END"
            )
        checks.append((f"{source} IS NOT NULL AND {typed} IS NULL", f"'{name} ' || {_shown(source)} || {message}"))
    if column.kind == "event_type":
        accepted = ", ".join(f"'{t.value}'" for t in EventType)
        checks.append(
            (
                f"{typed} NOT IN ({accepted})",
                f"'unknown {name} ' || {_shown(source)} || ' (expected {', '.join(t.value for t in EventType)})'",
            )
        )
    if column.kind == "number":
        checks.append((f"NOT isfinite({typed})", f"'{name} ' || {_shown(source)} || ' is not a finite number'"))
    if column.non_negative:
        checks.append((f"{typed} < 0", f"'{name} is negative (' || CAST({typed} AS VARCHAR) || ')'"))
    if column.kind == "timestamp":
        checks += [
            (
                f"{typed} > CAST(now() AS TIMESTAMP) + INTERVAL '{future_hours} hours'",
                f"'{name} ' || CAST({typed} AS VARCHAR) || ' is more than {future_hours:g} h in the future'",
            ),
            (
                f"{typed} < TIMESTAMP '{EARLIEST_TS}'",
                f"'{name} ' || CAST({typed} AS VARCHAR) || ' is before {EARLIEST_TS} (epoch seconds, not ms?)'",
            ),
        ]
    return [f"CASE WHEN {condition} THEN {message} END" for condition, message in checks]


def checked_select(contract: Contract, staged: Staged, future_hours: float) -> str:
    """SELECT over the staged records: `_row`, the typed contract columns, `_reason` and `_raw` for bad rows.

    Three levels, so that each cleaned source value and each conversion is computed once per row and the
    checks only compare ready values: `_src_<name>`, then `_typed_<name>`, then the reasons.
    """
    columns, source = staged.columns, staged.source
    sources, typed_list, output, reasons, raw_fields = [], [], [], [], []
    for column in contract.columns:
        name = column.name
        if name in columns:
            source_type = columns[name]
            value = f'"{name}"'
            if source_type == "VARCHAR":
                value = _cleaned_text(value)
            raw_fields.append(f"'{name}', \"{name}\"")
        else:
            value, source_type = "NULL::VARCHAR", "VARCHAR"
        sources.append(f"{value} AS _src_{name}")
        typed_list.append(f"CAST({_typed(column, f'_src_{name}', source_type)} AS {column.sql_type}) AS _typed_{name}")
        output.append(f"_typed_{name} AS {name}")
        reasons += _reasons(column, f"_src_{name}", source_type, f"_typed_{name}", future_hours)
    reason = f"COALESCE(_parse_error, NULLIF(concat_ws('; ', {', '.join(reasons)}), ''))"
    raw = f"COALESCE(_raw, CAST(json_object({', '.join(raw_fields)}) AS VARCHAR))" if raw_fields else "_raw"
    return f"""
        SELECT _row, {", ".join(output)}, _reason,
               CASE WHEN _reason IS NOT NULL THEN left({raw}, {MAX_RAW_CHARS}) END AS _raw_text
        FROM (
            SELECT *, {reason} AS _reason
            FROM (
                SELECT *, {", ".join(typed_list)}
                FROM (SELECT *, {", ".join(sources)} FROM {source})
            )
        )
    """
