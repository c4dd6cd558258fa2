"""Writing landing and truth files atomically, in the formats the ingestion accepts.

A file appears under its final name only when complete (temp name starting with `.tmp-`, which matches
no routing prefix, then os.replace), so a reader polling the landing directory never sees half a file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pulsecast.contract import FileFormat
from pulsecast.generator.tables import plain

TEMP_PREFIX = ".tmp-"


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}")
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def stamp(moment: datetime) -> str:
    """File-name-safe UTC timestamp, e.g. 20261121T090000Z."""
    return f"{moment:%Y%m%dT%H%M%SZ}"


def events_file_name(start: datetime, end: datetime, sequence: int, file_format: FileFormat) -> str:
    return f"events_{stamp(start)}_{stamp(end)}_{sequence:06d}.{file_format.value}"


def write_events(table: pa.Table, path: Path, file_format: FileFormat) -> Path:
    writers = {FileFormat.jsonl: _write_jsonl, FileFormat.csv: _write_csv, FileFormat.parquet: _write_parquet}
    return atomic_write(path, lambda temp: writers[file_format](table, temp))


def write_rows_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Small dimension files; None becomes an empty field."""

    def write(temp: Path) -> None:
        with temp.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows([["" if v is None else v for v in row] for row in rows])

    return atomic_write(path, write)


def write_json(path: Path, payload: Any) -> Path:
    return atomic_write(path, lambda temp: temp.write_text(json.dumps(payload, indent=2, default=str) + "\n"))


def write_parquet(path: Path, table: pa.Table) -> Path:
    return atomic_write(path, lambda temp: pq.write_table(table, temp))


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Dictionary columns are written as Parquet dictionary pages; without the stored Arrow schema,
    readers see plain strings, a UTC timestamp and decimals. Unique ids are not worth a dictionary."""
    coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    pq.write_table(table, path, compression="zstd", use_dictionary=coded, store_schema=False)


def _write_csv(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(_with_text_timestamps(plain(table)), path)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    """One JSON object per line, null fields left out, built column-wise with Arrow string kernels.

    Text values are ids and slugs generated from [a-z0-9-] catalogs, so they need no JSON escaping.
    """
    table = _with_text_timestamps(plain(table))
    pieces = []
    for i, field in enumerate(table.schema):
        text = table.column(i).combine_chunks().cast(pa.large_string())
        quote = '"' if pa.types.is_string(field.type) else ""
        lead = "{" if i == 0 else ","
        piece = pc.binary_join_element_wise(_large(f'{lead}"{field.name}":{quote}'), text, _large(quote), _large(""))
        pieces.append(piece if i == 0 else pc.fill_null(piece, _large("")))
    lines = pc.binary_join_element_wise(*pieces, _large("}\n"), _large(""))
    with path.open("wb") as handle:
        if len(lines):  # the lines are contiguous in the value buffer: write it in one go
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
            first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
            handle.write(memoryview(lines.buffers()[2])[first:last])


def _large(text: str) -> pa.Scalar:
    """Arrow string kernels want all arguments of one type; large strings keep >2 GiB files possible."""
    return pa.scalar(text, pa.large_string())


def _with_text_timestamps(table: pa.Table) -> pa.Table:
    """ISO-8601 with millisecond precision and a Z suffix, for the text formats."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.binary_join_element_wise(pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%S"), "Z", "")
            table = table.set_column(i, pa.field(field.name, pa.string(), nullable=field.nullable), text)
    return table
