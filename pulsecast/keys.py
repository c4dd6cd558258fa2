"""API keys: who may read what over HTTP. Stored hashed in a small SQLite file beside the data, never the warehouse.

A key reads `pck_<key id>_<secret>`. The key id is public (listed, audited, what `rotate` and `revoke` name);
the secret is 32 random bytes, shown once at creation and stored only as its scrypt hash (hashlib, i.e.
OpenSSL's maintained implementation) with a per-key salt. A secret of 256 random bits cannot be guessed, so the
KDF is there for a leaked store, not for weak secrets: its cost is paid once per key and process, after which a
keyed BLAKE2b of the presented key (the key a random one per process) is what a request compares.

Why SQLite: the CLI writes while the server reads, from two processes; DuckDB allows a single process to open
a file that another writes, and the warehouse is the pipeline's (readers never open it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pulsecast.metrics.scope import Kind, Scope

PREFIX = "pck"
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 2**20, "dklen": 32}
DEFAULT_RATE = 50.0
"""Requests per second a key may make (a token bucket holding one second's worth)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    brands TEXT NOT NULL,
    owners TEXT NOT NULL,
    rate REAL NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT
)
"""


class UnknownKey(LookupError):
    """No key with that id."""


@dataclass(frozen=True)
class KeyRecord:
    """A key as listed: its principal and state, never its secret or hash."""

    key_id: str
    name: str
    scope: Scope
    rate: float
    created_at: str
    rotated_at: str | None
    revoked_at: str | None

    @property
    def principal(self) -> str:
        """Who the key speaks for, as the audit log and `keys list` say it."""
        members = sorted(self.scope.brands | self.scope.owners)
        return self.scope.kind.value + (f":{','.join(members)}" if members else "")


class KeyStore:
    """Create, list, rotate, revoke and verify keys. One SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._pepper = secrets.token_bytes(32)
        self._verified: dict[str, tuple[bytes, bytes]] = {}
        """key id -> (stored hash, keyed digest of the key that matched it): the KDF once per key and process."""

    def _db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(SCHEMA)
            self._local.con = con
        return con

    def create(self, scope: Scope, name: str, rate: float = DEFAULT_RATE) -> tuple[KeyRecord, str]:
        """A new key for `scope`: its record and the key itself, which is never retrievable again."""
        key_id = secrets.token_hex(6)
        key, salt, digest = _new_secret(key_id)
        self._db().execute(
            "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [key_id, name, scope.kind.value, _joined(scope.brands), _joined(scope.owners), rate, salt, digest, _now()],
        )
        return self.get(key_id), key

    def list(self) -> list[KeyRecord]:
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM keys ORDER BY created_at, key_id").fetchall()
        return [_record(row) for row in rows]

    def get(self, key_id: str) -> KeyRecord:
        row = self._db().execute(f"SELECT {_COLUMNS} FROM keys WHERE key_id = ?", [key_id]).fetchone()
        if row is None:
            raise UnknownKey(f"no key {key_id!r}; `pulsecast keys list` shows them")
        return _record(row)

    def rotate(self, key_id: str) -> tuple[KeyRecord, str]:
        """A new secret for the same key id and principal; the old key stops working at once."""
        if self.get(key_id).revoked_at:
            raise UnknownKey(f"key {key_id!r} is revoked; create a new one")
        key, salt, digest = _new_secret(key_id)
        self._db().execute(
            "UPDATE keys SET salt = ?, hash = ?, rotated_at = ? WHERE key_id = ?", [salt, digest, _now(), key_id]
        )
        return self.get(key_id), key

    def revoke(self, key_id: str) -> KeyRecord:
        self.get(key_id)
        self._db().execute("UPDATE keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?", [_now(), key_id])
        return self.get(key_id)

    def verify(self, key: str) -> KeyRecord | None:
        """The live (not revoked) record a presented key belongs to, else None. Read fresh on every call, so a
        rotation or revocation takes effect on the next request."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        row = self._db().execute(f"SELECT {_COLUMNS}, salt, hash FROM keys WHERE key_id = ?", [key_id]).fetchone()
        if row is None or row[8] is not None:
            return None
        salt, stored = row[-2], row[-1]
        presented = hashlib.blake2b(key.encode(), key=self._pepper).digest()
        known = self._verified.get(key_id)
        if known is None or known[0] != stored or not hmac.compare_digest(known[1], presented):
            if not hmac.compare_digest(_hash(key, salt), stored):
                return None
            self._verified[key_id] = (stored, presented)
        return _record(row[:-2])


def key_id_of(key: str) -> str | None:
    """The key id a presented key claims, or None when it is not shaped like one of ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


_COLUMNS = "key_id, name, kind, brands, owners, rate, created_at, rotated_at, revoked_at"


def _record(row: tuple) -> KeyRecord:
    key_id, name, kind, brands, owners, rate, created_at, rotated_at, revoked_at = row
    scope = Scope(Kind(kind), _members(brands), _members(owners))
    return KeyRecord(key_id, name, scope, rate, created_at, rotated_at, revoked_at)


def _new_secret(key_id: str) -> tuple[str, bytes, bytes]:
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    return key, salt, _hash(key, salt)


def _hash(key: str, salt: bytes) -> bytes:
    return hashlib.scrypt(key.encode(), salt=salt, **SCRYPT)


def _joined(members: frozenset[str]) -> str:
    return ",".join(sorted(members))


def _members(text: str) -> frozenset[str]:
    return frozenset(member for member in text.split(",") if member)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
