"""The dashboard questions as endpoints: `/api/metrics/{question}` for each question of the catalog (its filters
as typed query parameters, a filter with fixed values an enum), `/api/metrics/trend` and `/api/freshness`.

Every endpoint passes the key's scope to `Metrics`, which adds it to the SQL it builds: the request cannot
widen it. The handlers are coroutines: a warm answer is a dictionary look-up, not worth a hop to the threadpool,
and the reader's pre-warming thread asks the cold ones after a publish on its own connection.
"""

from __future__ import annotations

import inspect
from datetime import date, datetime
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from pulsecast.contract import Channel, Device
from pulsecast.http.access import caller
from pulsecast.http.formats import Format, negotiate, respond
from pulsecast.keys import KeyRecord
from pulsecast.metrics.api import LOOKUP_LIMIT, Metrics
from pulsecast.metrics.catalog import QUESTIONS, Dimension, Grain, Question

router = APIRouter(prefix="/api")
FORMAT = Query(None, description="json (default), csv or arrow (Arrow IPC stream); else the Accept header decides.")
Moment = datetime | date | None


def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


@router.get("/metrics/trend", summary="Volumes, spend and rates per hour, day or month, any filter combination.")
async def trend(
    request: Request,
    record: KeyRecord = Depends(caller),
    grain: Grain = Grain.day,
    by: list[Dimension] = Query([], description="Break down by (repeatable)."),
    campaign: list[str] = Query([], description="Only these campaigns (repeatable)."),
    brand: list[str] = Query([], description="Only these brands (repeatable)."),
    channel: list[Channel] = Query([], description="Only these channels (repeatable)."),
    device: list[Device] = Query([], description="Only these devices (repeatable)."),
    start: Moment = Query(None, description="Inclusive start, ISO date or time."),
    end: Moment = Query(None, description="Exclusive end, ISO date or time."),
    format: Format | None = FORMAT,
) -> Response:
    output = negotiate(request, format)
    answer = _metrics(request).trend(
        grain,
        by=by,
        campaigns=campaign,
        brands=brand,
        channels=channel,
        devices=device,
        start=start,
        end=end,
        scope=record.scope,
    )
    return respond(request, answer, output)


@router.get("/freshness", summary="How fresh the answers are: the snapshot's age and what landed that it lacks.")
async def freshness(request: Request, record: KeyRecord = Depends(caller)) -> Response:
    figures = _metrics(request).freshness().figures()
    if not record.scope.unrestricted:
        figures.pop("events")  # every advertiser's events together
    request.state.rows = 1
    return Response(orjson.dumps(figures), media_type="application/json")


def _question_endpoint(name: str, question: Question):
    """An endpoint whose query parameters are exactly the question's filters (so the OpenAPI schema tells the
    truth), a filter with fixed values an enum of them."""

    async def endpoint(request: Request, record: KeyRecord, format: Format | None, limit: int, **filters):
        output = negotiate(request, format)
        answer = _metrics(request).ask(name, scope=record.scope, limit=limit, **filters)
        return respond(request, answer, output)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter("record", keyword, annotation=KeyRecord, default=Depends(caller)),
        *(
            inspect.Parameter(
                option,
                keyword,
                annotation=(Literal[question.choices[option]] if option in question.choices else str) | None,
                default=Query(None, description=f"Only rows whose {column} is this."),
            )
            for option, column in question.filters.items()
        ),
        *(
            inspect.Parameter(bound, keyword, annotation=Moment, default=Query(None, description=f"{label}."))
            for bound, label in (("start", "Inclusive start, ISO date or time"), ("end", "Exclusive end"))
            if question.time_column
        ),
        inspect.Parameter("format", keyword, annotation=Format | None, default=FORMAT),
        inspect.Parameter("limit", keyword, annotation=int, default=Query(LOOKUP_LIMIT, ge=1, le=LOOKUP_LIMIT)),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)
    endpoint.__name__ = name.replace("-", "_")
    return endpoint


for _name, _question in QUESTIONS.items():
    router.add_api_route(
        f"/metrics/{_name}", _question_endpoint(_name, _question), methods=["GET"], summary=_question.description
    )
