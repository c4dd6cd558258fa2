"""Answers as HTTP responses: JSON by default, CSV or Arrow IPC on request, the snapshot id as the ETag.

The format is `?format=` when given, else the Accept header's first type we speak. A client that sends back
the ETag it has (`If-None-Match`) gets `304 Not Modified` until a newer snapshot is published.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from decimal import Decimal
from enum import StrEnum

import orjson
import pyarrow as pa
import pyarrow.csv
from fastapi import HTTPException, Request, Response

from pulsecast.metrics.api import ANSWER_CACHE_SIZE, Answer


class Format(StrEnum):
    json = "json"
    csv = "csv"
    arrow = "arrow"


MEDIA_TYPES = {
    Format.json: "application/json",
    Format.csv: "text/csv; charset=utf-8",
    Format.arrow: "application/vnd.apache.arrow.stream",
}
ACCEPTED = {media_type.split(";")[0]: output for output, media_type in MEDIA_TYPES.items()}
ANY = {"*/*", "application/*", "text/*"}


def negotiate(request: Request, asked: Format | None) -> Format:
    """`asked` (the format parameter) wins; else the first Accept type we speak; anything (or nothing) is JSON."""
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    types = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    for media_type in types:
        if media_type in ACCEPTED:
            return ACCEPTED[media_type]
    if not types or ANY & set(types):
        return Format.json
    raise HTTPException(
        406, f"cannot answer as {accept!r}; accepted: {', '.join(ACCEPTED)} (or ?format={'|'.join(Format)})"
    )


class Rendered:
    """The bytes of recent answers per format. The reader caches answers per snapshot; converting one from
    Arrow to Python values for JSON is what a cached answer would otherwise cost on every request."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self._size = size
        self._bytes: OrderedDict[tuple[int, Format], tuple[Answer, bytes]] = OrderedDict()

    def __call__(self, answer: Answer, output: Format) -> bytes:
        key = (id(answer), output)  # the entry holds the answer, so its id is not reused while cached
        cached = self._bytes.get(key)
        if cached is not None:
            self._bytes.move_to_end(key)
            return cached[1]
        body = render(answer, output)
        self._bytes[key] = (answer, body)
        if len(self._bytes) > self._size:
            self._bytes.popitem(last=False)
        return body


def respond(request: Request, answer: Answer, output: Format) -> Response:
    """The answer in `output`, or 304 when the client already holds this snapshot's answer."""
    request.state.rows = answer.data.num_rows
    headers = {"ETag": f'"{answer.snapshot}"', "Vary": "Accept, Authorization", "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    body = request.app.state.rendered(answer, output)
    return Response(body, media_type=MEDIA_TYPES[output], headers=headers)


def render(answer: Answer, output: Format) -> bytes:
    if output is Format.csv:
        buffer = io.BytesIO()
        pa.csv.write_csv(answer.data, buffer)
        return buffer.getvalue()
    if output is Format.arrow:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, answer.data.schema) as writer:
            writer.write_table(answer.data)
        return sink.getvalue().to_pybytes()
    return orjson.dumps(
        {
            "table": answer.table,
            "snapshot": answer.snapshot,
            "rows": answer.data.num_rows,
            "empty": answer.empty,
            "data": answer.records(),
        },
        default=_number,
    )


def _number(value: object) -> float:
    """Money (DECIMAL) as a JSON number, as `pulsecast metrics --format json` writes it."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
