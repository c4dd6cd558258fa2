"""Pause and resume of the live simulation from the dashboard (admins only), through the Prefect API
(`flows.live_control`); 503 with the reason when no Prefect server is configured."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from pulsecast.flows.live_control import NoPrefectServer, live_paused, set_live_paused
from pulsecast.http.access import caller
from pulsecast.keys import KeyRecord

router = APIRouter(prefix="/api/live")


async def _answer(request: Request, record: KeyRecord, call, *args) -> Response:
    """`call(*args)` for an admin key (403 for any other), its answer the deployment's paused state."""
    if not record.scope.unrestricted:
        raise HTTPException(403, "only an admin key may pause or resume the live simulation")
    try:
        paused = await run_in_threadpool(call, *args)
    except NoPrefectServer as error:
        raise HTTPException(503, str(error)) from None
    request.state.rows = 1
    return Response(orjson.dumps({"paused": paused}), media_type="application/json")


@router.get("", summary="Whether the live simulation (the live-simulation deployment) is paused.")
async def state(request: Request, record: KeyRecord = Depends(caller)) -> Response:
    return await _answer(request, record, live_paused)


@router.post("/pause", summary="Pause the live simulation (its deployment's schedule).")
async def pause(request: Request, record: KeyRecord = Depends(caller)) -> Response:
    return await _answer(request, record, set_live_paused, True)


@router.post("/resume", summary="Resume the live simulation.")
async def resume(request: Request, record: KeyRecord = Depends(caller)) -> Response:
    return await _answer(request, record, set_live_paused, False)
