"""The parts the site could not deliver yet, kept on disk so a site restart loses none.

When the site answers a TMS upload with ``pending`` for a line that is down, that part is
in :class:`PendingParts` (SQLite in the site's data folder, ``pending-parts.sqlite``)
before the answer goes out, and leaves it only once the line took it or refused it. A
site service started again sends them on, in the order they came. Every call does file
I/O: the distributor runs them in a worker thread, never on the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PENDING_FILE = "pending-parts.sqlite"
"""In the site's data folder."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_parts(
    id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, kind TEXT NOT NULL,
    method TEXT NOT NULL, path TEXT NOT NULL, body BLOB NOT NULL, media_type TEXT NOT NULL,
    rows INTEGER NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT)
"""


@dataclass
class Part:
    """One line's part of an upload, as sent: method, path, body and how many rows."""

    kind: str
    """``manifest`` or ``route-plan``."""
    method: str
    path: str
    body: bytes
    media_type: str
    rows: int
    created: float = field(default_factory=time.time)
    attempts: int = 0
    last_error: str | None = None
    key: int | None = None
    """Its row in :class:`PendingParts` (None: not kept)."""

    def summary(self) -> dict[str, Any]:
        """The part as listed among pending ones (never its body)."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


class PendingParts:
    """Parts waiting for their line, by line, oldest first (thread-safe, one connection)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # the TMS was told it is kept
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()

    def add(self, line: str, part: Part) -> None:
        """Keep ``part`` for ``line`` (its ``key`` is set)."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO pending_parts(line, kind, method, path, body, media_type, rows,"
                " created, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    line,
                    part.kind,
                    part.method,
                    part.path,
                    part.body,
                    part.media_type,
                    part.rows,
                    part.created,
                    part.attempts,
                    part.last_error,
                ),
            )
            part.key = cur.lastrowid

    def remove(self, parts: list[Part]) -> None:
        """Forget parts that were delivered, refused or replaced."""
        keys = [(p.key,) for p in parts if p.key is not None]
        with self._lock:
            self._conn.executemany("DELETE FROM pending_parts WHERE id = ?", keys)

    def note_attempt(self, part: Part) -> None:
        """Keep a part's attempts and last error (shown among the pending parts)."""
        with self._lock:
            self._conn.execute(
                "UPDATE pending_parts SET attempts = ?, last_error = ? WHERE id = ?",
                (part.attempts, part.last_error, part.key),
            )

    def load(self) -> dict[str, list[Part]]:
        """Every kept part by line, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, line, kind, method, path, body, media_type, rows, created, attempts,"
                " last_error FROM pending_parts ORDER BY id"
            ).fetchall()
        out: dict[str, list[Part]] = {}
        for key, line, kind, method, path, body, media_type, rows_, created, tries, error in rows:
            part = Part(kind, method, path, bytes(body), media_type, rows_, created, tries, error)
            part.key = key
            out.setdefault(line, []).append(part)
        return out

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
