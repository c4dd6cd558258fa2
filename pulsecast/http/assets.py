"""The dashboard's scripts, styles and vendored chart library, served from memory under versioned URLs.

Pages name each file as `/static/NAME?v=HASH` (`versioned`), so a browser keeps it for a year without asking
again, and a release that changes a file changes its URL. Why not Starlette's `StaticFiles`: it stats and reads
the file on a worker thread per request, which under the dashboard's load cost 25 ms at the median for a 304.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

STATIC = Path(__file__).parent / "static"
SERVED = {".js", ".css", ".LICENSE"}
"""The page templates (`*.html`) are the pages' own business: only these are files a browser fetches."""
CACHED = "public, max-age=31536000, immutable"
router = APIRouter()


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every served file under static/, by its path there, read once."""
    found = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in SERVED:
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "text/plain"
            found[path.relative_to(STATIC).as_posix()] = Asset(body, media_type, hashlib.sha256(body).hexdigest()[:12])
    return found


def versioned(html: str) -> str:
    """Every `/static/NAME` a page names, with `?v=` its content hash."""
    return re.sub(r"/static/([\w./-]+)", lambda m: f"{m[0]}?v={assets()[m[1]].version}", html)


@router.get("/static/{name:path}", include_in_schema=False)
async def asset(name: str, request: Request) -> Response:
    """A file under static/: for a year when the URL names its current version, else revalidated by ETag."""
    found = assets().get(name)
    if found is None:
        raise HTTPException(404, f"no static file {name!r}")
    current = request.query_params.get("v") == found.version
    headers = {"ETag": f'"{found.version}"', "Cache-Control": CACHED if current else "no-cache"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
