"""Who is asking: the API key on each request (a header, or a browser session's cookie), its principal's scope,
and its rate limit (a token bucket)."""

from __future__ import annotations

import math
import threading
import time

from fastapi import HTTPException, Request

from pulsecast.http.session import COOKIE, Sessions
from pulsecast.keys import KeyRecord, KeyStore, key_id_of

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pulsecast"'}
FAILED_RATE, FAILED_BURST = 2.0, 20.0
"""Failed key attempts allowed per client address: a burst of 20, then 2 a second. Each failure may cost a
scrypt, so a guesser is turned away before the hash is computed."""


class RateLimiter:
    """A token bucket per key holding one second's worth of its rate: bursts up to the rate, then the rate."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, key_id: str, rate: float, burst: float | None = None, take: bool = True) -> float:
        """Take a token (or only look, `take=False`): 0 when the request may go on, else the seconds until a
        token is back. The bucket holds `burst` tokens, by default one second's worth."""
        now = time.monotonic()
        capacity = max(1.0, burst or rate)
        with self._lock:
            tokens, then = self._buckets.get(key_id, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - take, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / rate


def failures_wait(request: Request) -> float:
    """Seconds until the request's address may present a key again (0: now)."""
    return request.app.state.limiter.wait(_failures(request), FAILED_RATE, FAILED_BURST, take=False)


def failed(request: Request) -> None:
    """Count a failed key attempt against the request's address."""
    request.app.state.limiter.wait(_failures(request), FAILED_RATE, FAILED_BURST)


def too_many(wait: float, reason: str) -> HTTPException:
    """429 with Retry-After in whole seconds."""
    retry = math.ceil(wait)
    return HTTPException(429, f"{reason}; retry in {retry} s", headers={"Retry-After": str(retry)})


def _failures(request: Request) -> str:
    return f"failed:{request.client.host if request.client else '-'}"


def presented(request: Request) -> KeyRecord | None:
    """The live key of a request: its Authorization header, else its browser session's cookie (`session.py`).

    An address past its failed attempts gets 429 before any key is hashed, and a request without a live key
    counts against it, whatever it asked for (data or a page). The key id is put on the request's state for the
    audit log; the key itself is never kept or logged."""
    if wait := failures_wait(request):
        raise too_many(wait, "too many failed key attempts from this address")
    record = _record(request)
    if record is None:
        failed(request)
    return record


def _record(request: Request) -> KeyRecord | None:
    store: KeyStore = request.app.state.keys
    header = request.headers.get("authorization")
    if header is None and COOKIE in request.cookies:
        sessions: Sessions = request.app.state.sessions
        token = request.cookies[COOKIE]
        request.state.key_id = sessions.key_id(token)
        return sessions.record(token, store)
    scheme, _, key = (header or "").partition(" ")
    request.state.key_id = key_id_of(key.strip())
    return store.verify(key.strip()) if scheme.lower() == "bearer" else None


async def caller(request: Request) -> KeyRecord:
    """The key's record (a FastAPI dependency): 401 without a live key, 429 with Retry-After over its rate or
    past its address's failed attempts."""
    record = presented(request)
    if record is None:
        raise HTTPException(401, "a live API key is required: Authorization: Bearer pck_...", headers=CHALLENGE)
    request.state.principal = record.principal
    if wait := request.app.state.limiter.wait(record.key_id, record.rate):
        raise too_many(wait, f"rate limit of {record.rate:g} requests/s for key {record.key_id} reached")
    return record
