"""The dashboard's pages: the login form, the overview (`/`) and a campaign's page (`/campaigns/{id}`).

The pages are static HTML shipped in the package (`static/`); their scripts ask the same `/api/...` endpoints
as any client, with the session cookie (`session.py`), so the scope, rate limit and audit log are the API's. A
page shell says nothing about the data: a campaign outside the key's scope is a page whose requests all answer
404, exactly as a campaign that does not exist.
"""

from __future__ import annotations

import functools
import html
import math
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from pulsecast.http.access import RateLimiter, caller, failed, failures_wait, presented
from pulsecast.http.assets import STATIC, versioned
from pulsecast.http.session import COOKIE, LIFETIME_S, Sessions
from pulsecast.keys import KeyRecord, KeyStore, key_id_of

LOGIN_RATE = 1.0
"""Failed logins allowed per second per claimed key id (each costs a scrypt)."""
router = APIRouter()


PAGES = {
    "overview": ("Overview", ("common.js", "overview.js")),
    "campaign": ("Campaign", ("vendor/uPlot.iife.min.js", "common.js", "charts.js", "campaign.js")),
}
"""Each page: its title and scripts; its <main> is static/<page>.main.html, inside static/shell.html."""


@functools.cache
def _html(page: str) -> str:
    title, scripts = PAGES[page]
    tags = "".join(f'  <script src="/static/{script}"></script>\n' for script in scripts)
    shell = (STATIC / "shell.html").read_text()
    main = (STATIC / f"{page}.main.html").read_text()
    return versioned(shell.replace("{{title}}", title).replace("{{main}}", main).replace("{{scripts}}", tags))


def _page(request: Request, page: str) -> Response:
    if presented(request) is None:
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(_html(page), headers={"Cache-Control": "no-store"})


@router.get("/", include_in_schema=False)
async def overview(request: Request) -> Response:
    return _page(request, "overview")


@router.get("/campaigns/{campaign}", include_in_schema=False)
async def campaign(request: Request, campaign: str) -> Response:
    return _page(request, "campaign")


@router.get("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    return _login_page("")


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """Exchange a posted key (form body, never the URL) for a session cookie."""
    key = parse_qs((await request.body()).decode(errors="replace")).get("key", [""])[0].strip()
    claimed = key_id_of(key)
    request.state.key_id = claimed
    limiter: RateLimiter = request.app.state.limiter
    wait = max(limiter.wait(f"login:{claimed}", LOGIN_RATE, take=False), failures_wait(request))
    if wait:
        retry = str(math.ceil(wait))
        return _login_page(f"Too many attempts: retry in {retry} s.", 429, {"Retry-After": retry})
    store: KeyStore = request.app.state.keys
    record = store.verify(key)
    if record is None:
        failed(request)
        limiter.wait(f"login:{claimed}", LOGIN_RATE)
        return _login_page("That key is not a live API key.", 401)
    request.state.principal = record.principal
    sessions: Sessions = request.app.state.sessions
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE, sessions.open(record), max_age=LIFETIME_S, httponly=True, samesite="strict", path="/"
    )
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    sessions: Sessions = request.app.state.sessions
    if COOKIE in request.cookies:
        sessions.close(request.cookies[COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/me", summary="Who the key or session speaks for.")
async def me(request: Request, record: KeyRecord = Depends(caller)) -> Response:
    request.state.rows = 1
    scope = record.scope
    body = {"key_id": record.key_id, "name": record.name, "kind": scope.kind.value,
            "brands": sorted(scope.brands), "owners": sorted(scope.owners)}
    return Response(orjson.dumps(body), media_type="application/json")


def _login_page(message: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    text = _login_html().replace("{{message}}", html.escape(message))
    return HTMLResponse(text, status_code=status, headers=headers)


@functools.cache
def _login_html() -> str:
    return versioned((STATIC / "login.html").read_text())
