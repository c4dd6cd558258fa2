"""Read one landing file into the temp table `_staged`: one row per record, values as found.

Nothing is typed or judged here; that is the contract rules' job. Each format keeps every record it
reads, so the accounting can hold: a record that cannot even be parsed (a truncated JSON line, a CSV line
with the wrong number of fields) is staged with `_parse_error` set. `_row` is the JSONL line number or
the record's position in a CSV or Parquet file (for a malformed CSV line: its line number, as DuckDB reports
it); `_raw` is the text of what arrived, where there is one.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from pulsecast.contract import Contract, FileFormat
from pulsecast.ingest.landing import LandingFile

MAX_RAW_CHARS = 4000
"""Quarantine keeps this much of a bad record; enough to read it, bounded for huge values."""


class FileRejected(Exception):
    """The file as a whole cannot be used; the message is the reason stored in the manifest."""


@dataclass
class Staged:
    columns: dict[str, str]
    """Contract columns found in the file, with the DuckDB type they arrived as."""
    ignored: list[str] = field(default_factory=list)
    """Columns or fields the contract does not know; they are not loaded."""
    source: str = "_staged"
    """What the contract checks read: the `_staged` temp table, or a query straight over the file."""


def stage(con: duckdb.DuckDBPyConnection, landing_file: LandingFile, contract: Contract) -> Staged:
    if landing_file.size_bytes == 0:
        raise FileRejected("file is empty (0 bytes)")
    readers = {FileFormat.jsonl: _stage_jsonl, FileFormat.csv: _stage_csv, FileFormat.parquet: _stage_parquet}
    return readers[landing_file.file_format](con, landing_file, contract)


def _stage_jsonl(con: duckdb.DuckDBPyConnection, landing_file: LandingFile, contract: Contract) -> Staged:
    data = landing_file.path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} cannot be decoded"
        ) from None
    numbers, lines = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            numbers.append(number)
            lines.append(line.rstrip("\r"))
    con.register("_lines", pa.table({"_row": pa.array(numbers, pa.int64()), "line": pa.array(lines, pa.string())}))
    names = [c.name for c in contract.columns]
    paths = ", ".join(f"'$.\"{name}\"'" for name in names)
    extracted = ", ".join(f"_v[{i + 1}] AS {name}" for i, name in enumerate(names))
    nested = ", ".join(  # json_extract_string gives an object or array as its JSON text; only look at those
        f"""CASE WHEN left(_v[{i + 1}], 1) IN ('{{', '[')
                  AND json_type(line, '$."{c.name}"') IN ('OBJECT', 'ARRAY') THEN '{c.name}' END"""
        for i, c in enumerate(contract.columns)
        if c.kind in ("text", "event_type")
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _staged AS
        SELECT _row, line AS _raw,
            CASE WHEN NOT json_valid(line) THEN 'not valid JSON (truncated or malformed line)'
                 WHEN json_type(line) <> 'OBJECT' THEN 'JSON value is not an object'
                 WHEN _nested <> '' THEN _nested || ': a JSON object or array where text is expected' END
                AS _parse_error,
            {extracted}
        FROM (
            SELECT *, concat_ws(', ', {nested}) AS _nested
            FROM (
                SELECT _row, line,
                    CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT'
                         THEN json_extract_string(line, [{paths}])
                         ELSE [{", ".join("NULL" for _ in names)}]::VARCHAR[] END AS _v
                FROM _lines
            )
        )
        """
    )
    con.unregister("_lines")
    ignored = con.execute(
        """SELECT DISTINCT unnest(json_keys(line)) AS k FROM
           (SELECT _raw AS line FROM _staged WHERE _parse_error IS NULL LIMIT 10000) ORDER BY k"""
    ).fetchall()
    return Staged(
        columns={name: "VARCHAR" for name in names},
        ignored=[k for (k,) in ignored if k not in names],
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, landing_file: LandingFile, contract: Contract) -> Staged:
    """Parse with the header read here and no dialect sniffing, then check that no line went missing.

    The sniffer fails on small files with an unclosed quote and misreads a non-UTF-8 header, and DuckDB's
    reader silently drops everything after a quote that never closes; `_check_csv_lines` catches the last.
    """
    data = landing_file.path.read_bytes()
    header = _csv_header(data)
    names = [c.name for c in contract.columns]
    _require_columns(contract, header, hint=" (is the delimiter a comma?)" if len(header) == 1 else "")
    present = [name for name in names if name in header]
    columns = "{" + ", ".join(f"'{_sql_text(name)}': 'VARCHAR'" for name in header) + "}"
    source = f"""read_csv(?, header = true, auto_detect = false, columns = {columns}, delim = ',', quote = '"',
        escape = '"', store_rejects = true, rejects_scan = '_rejects_scan', rejects_table = '_rejects',
        max_line_size = 10000000, null_padding = false, parallel = false)"""
    path = str(landing_file.path)
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _staged AS
            SELECT row_number() OVER () AS _row, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _parse_error,
                   {", ".join(f'"{name}"' for name in present)}
            FROM (SELECT * FROM {source})
            """,
            [path],
        )
        rejected = con.execute(
            """SELECT line, any_value(left(csv_line, ?)), string_agg(DISTINCT error_message, '; '),
                      max(length(csv_line) - length(replace(csv_line, chr(10), '')))
               FROM _rejects GROUP BY line ORDER BY line""",
            [MAX_RAW_CHARS],
        ).fetchall()
        (parsed,) = con.execute("SELECT count(*) FROM _staged").fetchone()
        _check_csv_lines(con, data, source, path, header, parsed, rejected)
    except duckdb.Error as error:
        raise FileRejected(f"cannot be read as CSV: {_first_line(error)}") from None
    if rejected:
        con.executemany(
            "INSERT INTO _staged (_row, _raw, _parse_error) VALUES (?, ?, ?)",
            [(line, raw, f"malformed CSV line {line}: {message}") for line, raw, message, _ in rejected],
        )
    return Staged(columns={name: "VARCHAR" for name in present}, ignored=[h for h in header if h not in names])


def _csv_header(data: bytes) -> list[str]:
    """Column names from the first line; a header that is not UTF-8 or names a column twice rejects the file."""
    first = re.split(rb"\r\n|\r|\n", data, maxsplit=1)[0]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"CSV header is not UTF-8 text: byte 0x{first[error.start]:02x} at offset {error.start} cannot be decoded"
        ) from None
    names = [name.strip() or f"column{i}" for i, name in enumerate(next(csv.reader([text])), start=1)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRejected(f"CSV header names column(s) more than once: {', '.join(repeated)}")
    return names


def _check_csv_lines(
    con: duckdb.DuckDBPyConnection,
    data: bytes,
    source: str,
    path: str,
    header: list[str],
    parsed: int,
    rejected: list[tuple],
) -> None:
    """Every physical line must be the header, a record, part of a rejected line, blank or inside a quoted value.

    The cheap count settles the usual file; blank lines and quoted line breaks are only counted when it does not.
    """
    newline = b"\n" if b"\n" in data else b"\r"
    lines = data.count(newline) + (0 if data.endswith(newline) else 1)
    unexplained = lines - 1 - parsed - len(rejected)
    if unexplained <= 0:
        return
    unexplained -= sum(1 for line in data.split(newline)[1:-1] if line in (b"", b"\r"))
    unexplained -= sum(breaks for *_, breaks in rejected)
    if unexplained <= 0:
        return
    if parsed:
        breaks = " + ".join(
            f"coalesce(length({_ident(n)}) - length(replace({_ident(n)}, chr(10), '')), 0)" for n in header
        )
        (quoted_breaks,) = con.execute(f"SELECT coalesce(sum({breaks}), 0) FROM {source}", [path]).fetchone()
        unexplained -= quoted_breaks
    if unexplained > 0:
        raise FileRejected(
            f"{unexplained} line(s) of the CSV were neither read as records nor reported as malformed: "
            f'a quote (") that never closes swallows the rest of the file{_odd_quote_hint(data, newline)}'
        )


def _odd_quote_hint(data: bytes, newline: bytes) -> str:
    for number, line in enumerate(data.split(newline), start=1):
        if line.count(b'"') % 2:
            return f" (first line with an odd number of quotes: {number})"
    return ""


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stage_parquet(con: duckdb.DuckDBPyConnection, landing_file: LandingFile, contract: Contract) -> Staged:
    path = str(landing_file.path)
    try:
        schema = dict(
            (row[0], row[1]) for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
        )
    except duckdb.Error as error:
        raise FileRejected(f"cannot be read as Parquet: {_first_line(error)}") from None
    names = [c.name for c in contract.columns]
    _require_columns(contract, list(schema))
    present = [name for name in names if name in schema]
    # Parquet is already columnar and typed: the checks read the file directly instead of a copy of it.
    literal = "'" + path.replace("'", "''") + "'"
    source = f"""(
        SELECT file_row_number + 1 AS _row, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _parse_error,
               {", ".join(_ident(name) for name in present)}
        FROM read_parquet({literal}, file_row_number = true)
    )"""
    return Staged(
        columns={name: schema[name] for name in present},
        ignored=[s for s in schema if s not in names],
        source=source,
    )


def _require_columns(contract: Contract, found: list[str], hint: str = "") -> None:
    missing = [name for name in contract.required if name not in found]
    if missing:
        shown = ", ".join(found)[:200]
        raise FileRejected(f"missing required column(s) {', '.join(missing)}; found: {shown}{hint}")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300]
