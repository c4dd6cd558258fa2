"""The FastAPI app: routers (the API, the what-ifs, the live simulation's switch, the dashboard's pages and
assets), the reader, the key store, the rate limiter, the audit log and error answers.

Errors are one JSON shape, `{"detail": "..."}`: 401 without a live key, 403 for a question the key's
principal may not ask, 404 for a name the key cannot see (whether it exists or not: the same answer), 400 for
a contradictory request, 422 for a malformed one, 429 over the rate, 503 before anything is published.

The interactive docs (/docs, /redoc) are off: FastAPI's pages load Swagger UI and ReDoc from a CDN, and
Pulsecast makes no network calls nobody configured. The schema is at /openapi.json.
"""

from __future__ import annotations

import contextlib

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pulsecast.http import assets, events, live_control, pages, questions, simulations
from pulsecast.http.access import RateLimiter
from pulsecast.http.audit import Audited, AuditLog
from pulsecast.http.formats import Rendered
from pulsecast.http.session import Sessions
from pulsecast.keys import KeyStore
from pulsecast.metrics.api import Metrics, NotFound, UnknownName
from pulsecast.metrics.scope import OutOfScope
from pulsecast.metrics.snapshot import NoSnapshot
from pulsecast.settings import Settings

STATUSES = ((NotFound, 404), (OutOfScope, 403), (NoSnapshot, 503), (UnknownName, 400))
"""Read-API errors and their HTTP status (a handler is found along the exception's classes: NotFound before
UnknownName)."""


def create_app(settings: Settings) -> FastAPI:
    metrics = Metrics(settings, prewarm=True)  # a publish warms the changed questions before they are served
    watcher = events.SnapshotWatcher(metrics)
    audit = AuditLog(settings.audit)
    jobs = simulations.Jobs(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with events.watching(watcher):
            yield
        jobs.close()
        metrics.close()
        audit.close()

    app = FastAPI(
        title="Pulsecast API",
        summary="Dashboard questions from the published marts, scoped to each API key.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.keys = KeyStore(settings.key_store)
    app.state.limiter = RateLimiter()
    app.state.rendered = Rendered()
    app.state.watcher = watcher
    app.state.settings = settings
    app.state.sessions = Sessions()
    app.state.jobs = jobs
    for module in (questions, events, simulations, live_control, pages, assets):
        app.include_router(module.router)
    for error, status in STATUSES:
        app.add_exception_handler(error, _answer_with(status))
    app.add_middleware(Audited, log=audit)
    return app


def _answer_with(status: int):
    async def handler(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status)

    return handler
