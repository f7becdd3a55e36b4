"""HMI user accounts: a name, a role and a password, checked at the HMI's login page.

Users are managed on the controller host with ``lanesort user add|list|remove|passwd|role``
and kept in one small SQLite file (``hmi.users_path``, relative to ``line.data_dir``).
A user's role is a :class:`controller.auth.tokens.Role`, but only ``supervisor`` or
``viewer``: the ``tms`` role belongs to API tokens, never to a person.

Passwords are never stored. Each row keeps ``scrypt(password, salt)`` with a 16-byte
random salt and the scrypt parameters it was made with (``scrypt:N:r:p``), so the
parameters can be raised later: a successful :meth:`UserStore.verify` of a password
hashed with other parameters hashes it again with the current ones. Passwords are
NFKC-normalised first, so the same word typed on two keyboards gives the same hash,
and compared in constant time.

:meth:`UserStore.verify` is slow on purpose (one scrypt, some tens of milliseconds
and 16 MiB of memory): like every method here it is synchronous and must be called in
a thread (``await asyncio.to_thread(store.verify, name, password)``), never on the
event loop. An unknown name costs the same hash as a known one and gets the same
answer, so the login page does not tell which names exist. After ``max_attempts``
wrong passwords in a row for one name, that name is refused for ``lockout_s``
seconds, right password or not; the count is kept in memory only (a restart clears
it) and a successful login, a new password or removing the user resets it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from controller.auth.tokens import Role, in_data_dir
from controller.errors import LoginRefused, UserError

__all__ = [
    "MIN_PASSWORD",
    "USER_ROLES",
    "LoginRefused",
    "Role",
    "UserError",
    "UserInfo",
    "UserStore",
    "users_path",
]

MIN_PASSWORD = 8
"""Shortest password accepted, in characters."""
_MAX_PASSWORD = 1024
USER_ROLES = (Role.SUPERVISOR, Role.VIEWER)
"""The roles an HMI user may have."""

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""scrypt parameters of new hashes (raise them here; old hashes upgrade at next login)."""
_SALT_BYTES = 16
_KEY_BYTES = 32

WRONG = "wrong user name or password"
"""The one answer for an unknown name and for a wrong password."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, salt TEXT NOT NULL,
    params TEXT NOT NULL, created REAL NOT NULL, disabled REAL);
"""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as listed: never the password's hash."""

    name: str
    role: Role
    created: float
    disabled: float | None = None


def users_path(data_dir: Path, users_file: str) -> Path:
    """Where the line's user store lives (``hmi.users_path``, relative to the data dir)."""
    return in_data_dir(data_dir, users_file)


def _params_text(n: int, r: int, p: int) -> str:
    return f"scrypt:{n}:{r}:{p}"


def _scrypt(password: str, salt: bytes, params: str) -> str:
    kind, n, r, p = params.split(":")
    if kind != "scrypt":
        raise ValueError(f"unknown password hash {kind!r}")
    ni, ri, pi = int(n), int(r), int(p)
    return hashlib.scrypt(
        unicodedata.normalize("NFKC", password).encode(),
        salt=salt,
        n=ni,
        r=ri,
        p=pi,
        maxmem=min(2 * 128 * ri * (ni + pi + 2), 2**31 - 1),
        dklen=_KEY_BYTES,
    ).hex()


def _new_hash(password: str) -> tuple[str, str, str]:
    """``(hash, salt, params)`` of ``password`` with a fresh salt and the current params."""
    salt = secrets.token_bytes(_SALT_BYTES)
    params = _params_text(SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return _scrypt(password, salt, params), salt.hex(), params


def _check_password(password: str) -> None:
    length = len(unicodedata.normalize("NFKC", password))
    if length < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters, got {length}")
    if length > _MAX_PASSWORD:
        raise UserError(f"password too long: at most {_MAX_PASSWORD} characters")


def _user_role(role: Role | str) -> Role:
    expected = " or ".join(r.value for r in USER_ROLES)
    try:
        role = Role(role)
    except ValueError as err:
        raise UserError(f"unknown role {role!r}; expected {expected}") from err
    if role not in USER_ROLES:
        raise UserError(
            f"role {role.value!r} is for API tokens, not HMI users; expected {expected}"
        )
    return role


class UserStore:
    """HMI users with scrypt-hashed passwords in one SQLite file (methods: call in a thread)."""

    def __init__(self, path: str | Path, max_attempts: int = 5, lockout_s: float = 60.0):
        self.path = Path(path)
        self.max_attempts = max_attempts
        self.lockout_s = lockout_s
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._dummy_salt = secrets.token_bytes(_SALT_BYTES)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.executescript(_SCHEMA)
            if new:
                os.chmod(self.path, 0o600)  # password hashes: for the controller's user only
        except (sqlite3.Error, OSError) as err:
            raise UserError(f"{self.path}: cannot open the user store: {err}") from err
        return conn

    def _row(self, conn: sqlite3.Connection, name: str) -> tuple | None:
        return conn.execute(
            "SELECT name, role, hash, salt, params, created, disabled FROM users WHERE name = ?",
            (name,),
        ).fetchone()

    def _update(self, name: str, sql: str, args: tuple) -> UserInfo:
        conn = self._connect()
        try:
            with conn:
                cur = conn.execute(f"UPDATE users SET {sql} WHERE name = ?", (*args, name))
                if cur.rowcount == 0:
                    raise UserError(f"no user named {name!r}")
                row = self._row(conn, name)
        finally:
            conn.close()
        return UserInfo(row[0], Role(row[1]), row[5], row[6])

    def _forget(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._locked_until.pop(name, None)

    def add(self, name: str, role: Role | str, password: str) -> UserInfo:
        """Add a user; :class:`UserError` for a bad name, role or password or a taken name."""
        if not _NAME.match(name):
            raise UserError(
                f"user name {name!r}: expected 1-64 letters, digits or _.@- "
                "(starting with a letter or digit)"
            )
        role = _user_role(role)
        _check_password(password)
        digest, salt, params = _new_hash(password)
        created = time.time()
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT INTO users(name, role, hash, salt, params, created) "
                    "VALUES(?, ?, ?, ?, ?, ?)",
                    (name, role.value, digest, salt, params, created),
                )
        except sqlite3.IntegrityError as err:
            raise UserError(f"a user named {name!r} exists already") from err
        finally:
            conn.close()
        self._forget(name)
        return UserInfo(name, role, created)

    def set_password(self, name: str, password: str) -> UserInfo:
        """Give ``name`` a new password (and clear its lockout)."""
        _check_password(password)
        info = self._update(name, "hash = ?, salt = ?, params = ?", _new_hash(password))
        self._forget(name)
        return info

    def set_role(self, name: str, role: Role | str) -> UserInfo:
        """Change the role of ``name`` (supervisor or viewer)."""
        return self._update(name, "role = ?", (_user_role(role).value,))

    def set_disabled(self, name: str, disabled: bool) -> UserInfo:
        """Disable ``name`` (its logins are refused, its row is kept) or enable it again."""
        return self._update(name, "disabled = ?", (time.time() if disabled else None,))

    def remove(self, name: str) -> UserInfo:
        """Remove ``name``; returns what it was."""
        conn = self._connect()
        try:
            with conn:
                row = self._row(conn, name)
                if row is None:
                    raise UserError(f"no user named {name!r}")
                conn.execute("DELETE FROM users WHERE name = ?", (name,))
        finally:
            conn.close()
        self._forget(name)
        return UserInfo(row[0], Role(row[1]), row[5], row[6])

    def list(self) -> list[UserInfo]:
        """Every user, by name (never a hash)."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT name, role, created, disabled FROM users ORDER BY name"
            ).fetchall()
        finally:
            conn.close()
        return [UserInfo(r[0], Role(r[1]), r[2], r[3]) for r in rows]

    def has_users(self) -> bool:
        """True when at least one user can log in (exists and is not disabled)."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT 1 FROM users WHERE disabled IS NULL LIMIT 1").fetchone()
        finally:
            conn.close()
        return row is not None

    def verify(self, name: str, password: str, now: float | None = None) -> UserInfo:
        """The user when ``password`` is right, else :class:`LoginRefused` saying why.

        Slow on purpose (one scrypt): call it in a thread. ``now`` is a monotonic time
        (default ``time.monotonic()``) for the lockout.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            until = self._locked_until.get(name)
            if until is not None and now < until:
                raise LoginRefused(
                    f"too many wrong passwords; try again in {math.ceil(until - now)} s"
                )
        conn = self._connect()
        try:
            row = self._row(conn, name)
        finally:
            conn.close()
        if row is None:
            self._dummy_hash(password)
            ok = False
        else:
            try:
                ok = hmac.compare_digest(row[2], _scrypt(password, bytes.fromhex(row[3]), row[4]))
            except ValueError as err:
                raise UserError(
                    f"the stored password of {name!r} cannot be read ({err}); "
                    f"set it again with lanesort user passwd {name}"
                ) from err
        if not ok:
            self._failed(name, now)
            raise LoginRefused(WRONG)
        self._forget(name)
        if row[6] is not None:
            raise LoginRefused(f"user {name!r} is disabled")
        if row[4] != _params_text(SCRYPT_N, SCRYPT_R, SCRYPT_P):
            self._rehash(name, password, row[2])
        return UserInfo(row[0], Role(row[1]), row[5], row[6])

    def _rehash(self, name: str, password: str, old_hash: str) -> None:
        """Hash a right password again with the current parameters (unless changed meanwhile)."""
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "UPDATE users SET hash = ?, salt = ?, params = ? WHERE name = ? AND hash = ?",
                    (*_new_hash(password), name, old_hash),
                )
        finally:
            conn.close()

    def _dummy_hash(self, password: str) -> None:
        """As slow as checking a real user's password, so unknown names do not show."""
        _scrypt(password, self._dummy_salt, _params_text(SCRYPT_N, SCRYPT_R, SCRYPT_P))

    def _failed(self, name: str, now: float) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # names tried at random: keep memory bounded
                self._failures.clear()
                self._locked_until = {n: t for n, t in self._locked_until.items() if t > now}
            count = self._failures.get(name, 0) + 1
            if count >= self.max_attempts:
                self._locked_until[name] = now + self.lockout_s
                self._failures.pop(name, None)
            else:
                self._failures[name] = count
