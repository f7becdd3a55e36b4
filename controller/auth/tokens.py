"""API bearer tokens: created by the CLI, stored hashed, checked on every request.

A token reads ``lst_<id>_<secret>``: ``id`` (8 hex digits) finds the row, the
256-bit random ``secret`` is never stored; the row keeps ``sha256(id:secret)``
and a constant-time comparison checks it. The plain token is shown once, when
it is created, and can never be printed again (create a new one and revoke the
old one instead).

Roles (:class:`Role`):

=========== ===================================================================
tms          upload and query the manifest, read and change the sort plan, read
supervisor   start/stop/reset the line, enable/disable chutes, read
viewer       read only
=========== ===================================================================

The store is a small SQLite file; its methods are synchronous and meant to run
in a thread. :meth:`TokenStore.authenticate` keeps a short cache so a request
costs a hash and a dict lookup; a revoked token stops working within
``cache_s`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from controller.errors import TokenError

_TOKEN = re.compile(r"^lst_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens(
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL,
    created REAL NOT NULL, revoked REAL);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_token_per_name ON tokens(name)
    WHERE revoked IS NULL;
"""


class Role(StrEnum):
    """What a token may do."""

    TMS = "tms"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: str
    name: str
    role: Role
    created: float
    revoked: float | None = None


def in_data_dir(data_dir: Path, configured: str) -> Path:
    """A configured file path: absolute as given, else relative to the line's data dir."""
    path = Path(configured)
    return path if path.is_absolute() else data_dir / path


def tokens_path(data_dir: Path, tokens_file: str) -> Path:
    """Where the line's token store lives (``api.tokens_path``, relative to the data dir)."""
    return in_data_dir(data_dir, tokens_file)


def _hash(token_id: str, secret: str) -> str:
    return hashlib.sha256(f"{token_id}:{secret}".encode()).hexdigest()


class TokenStore:
    """Hashed tokens in one SQLite file."""

    def __init__(self, path: str | Path, cache_s: float = 5.0):
        self.path = Path(path)
        self.cache_s = cache_s
        self._cache: dict[str, tuple[TokenInfo | None, float]] = {}
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise TokenError(f"{self.path}: cannot open the token store: {err}") from err
        return conn

    def create(self, name: str, role: Role | str) -> str:
        """Create a token; returns the plain token, which is not stored anywhere."""
        try:
            role = Role(role)
        except ValueError as err:
            raise TokenError(
                f"unknown role {role!r}; expected one of {', '.join(r.value for r in Role)}"
            ) from err
        if not _NAME.match(name):
            raise TokenError(
                f"token name {name!r}: expected 1-64 letters, digits or _.@- "
                "(starting with a letter or digit)"
            )
        token_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT INTO tokens(id, name, role, hash, created) VALUES(?, ?, ?, ?, ?)",
                    (token_id, name, role.value, _hash(token_id, secret), time.time()),
                )
        except sqlite3.IntegrityError as err:
            raise TokenError(
                f"a token named {name!r} exists already (revoke it or choose another name)"
            ) from err
        finally:
            conn.close()
        return f"lst_{token_id}_{secret}"

    def list(self) -> list[TokenInfo]:
        """Every token ever created, revoked ones included, oldest first."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT id, name, role, created, revoked FROM tokens ORDER BY created"
            ).fetchall()
        finally:
            conn.close()
        return [TokenInfo(r[0], r[1], Role(r[2]), r[3], r[4]) for r in rows]

    def revoke(self, name_or_id: str) -> TokenInfo:
        """Revoke a token by its name or id."""
        conn = self._connect()
        try:
            with conn:
                cur = conn.execute(
                    "UPDATE tokens SET revoked = ? WHERE (name = ? OR id = ?) AND revoked IS NULL",
                    (time.time(), name_or_id, name_or_id),
                )
            if cur.rowcount == 0:
                raise TokenError(f"no active token named {name_or_id!r}")
        finally:
            conn.close()
        with self._lock:
            self._cache.clear()
        return next(t for t in reversed(self.list()) if name_or_id in (t.name, t.id))

    def authenticate(self, token: str, now: float | None = None) -> TokenInfo | None:
        """The token's identity, or None when it is malformed, unknown, wrong or revoked."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None and now - cached[1] < self.cache_s:
            return cached[0]
        token_id = match.group(1)
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT id, name, role, hash, created, revoked FROM tokens WHERE id = ?",
                (token_id,),
            ).fetchone()
        finally:
            conn.close()
        info = None
        if (
            row is not None
            and row[5] is None
            and hmac.compare_digest(row[3], _hash(*match.groups()))
        ):
            info = TokenInfo(row[0], row[1], Role(row[2]), row[4])
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (info, now)
        return info
