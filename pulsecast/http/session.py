"""Browser sessions: a login form exchanges an API key for an HttpOnly, SameSite=Strict session cookie.

Why a cookie: the dashboard's push channel is an `EventSource`, which cannot send an Authorization header, and a
key in the URL would land in every log and the browser's history. The key is posted once (a form body, never a
query string), checked by the key store, and the browser keeps only a random session token it cannot read from
scripts (HttpOnly) and never sends from another site's page (SameSite=Strict, which also keeps the dashboard's
POSTs safe from cross-site forgery). The server keeps a hash of the token with the key id and the key's rotation
time: each request reads the key's row again, so a rotation or revocation ends its sessions at once. Every data
request then goes through `access.caller` like a header key does: same scope, rate limit and audit entry.
Sessions live in the server's memory: a restart signs everyone out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from pulsecast.keys import KeyRecord, KeyStore, UnknownKey

COOKIE = "pulsecast_session"
LIFETIME_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    key_id: str
    rotated_at: str | None
    expires: float


class Sessions:
    """Session tokens (kept hashed) -> the key they were opened with."""

    def __init__(self, lifetime_s: float = LIFETIME_S) -> None:
        self._lifetime_s = lifetime_s
        self._sessions: dict[bytes, Session] = {}
        self._lock = threading.Lock()

    def open(self, record: KeyRecord) -> str:
        """A new session for a verified key; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[_digest(token)] = Session(
                record.key_id, record.rotated_at, time.monotonic() + self._lifetime_s
            )
        return token

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(_digest(token), None)

    def key_id(self, token: str) -> str | None:
        """The key id a token's session claims (for the audit log), live or not."""
        session = self._sessions.get(_digest(token))
        return session.key_id if session else None

    def record(self, token: str, store: KeyStore) -> KeyRecord | None:
        """The live key behind a session, or None: unknown or expired token, key revoked or rotated since."""
        digest = _digest(token)
        session = self._sessions.get(digest)
        if session is None:
            return None
        try:
            record = store.get(session.key_id)
        except UnknownKey:
            record = None
        stale = record is None or record.revoked_at or record.rotated_at != session.rotated_at
        if stale or time.monotonic() > session.expires:
            with self._lock:
                self._sessions.pop(digest, None)
            return None
        return record


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
