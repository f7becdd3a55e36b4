"""The audit log: who did what to the line, when, and through which door (API, HMI, console).

Every operator action (line commands, chute changes, sort-plan edits, container
close-outs, alarm acknowledgements and shelves, logins) is one row of the
journal's ``audit`` table, written by the journal's writer thread like every
other record, so recording never blocks the event loop. Supervisors read it in
the HMI and through ``GET /api/v1/audit``; :meth:`AuditLog.query` runs its SQL in
a thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.journal.schema import reading

log = logging.getLogger("lanesort.audit")

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL,
    user TEXT NOT NULL, role TEXT NOT NULL, via TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, detail TEXT, ok INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time);
"""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user (HMI), a token's name (API) or the local console."""

    name: str
    role: str
    via: str = "api"

    def __str__(self) -> str:
        return f"{self.name} ({self.role}, {self.via})"


#: The operator at the controller's own terminal (stdin console, CLI).
CONSOLE = Actor("console", "supervisor", "console")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action; ``ok`` False for a refused one (the detail says why)."""

    time: float
    actor: Actor
    action: str
    target: str | None = None
    detail: str | None = None
    ok: bool = True

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the row (journal writer thread); never adds upstream events."""
        conn.execute(
            "INSERT INTO audit(session, time, user, role, via, action, target, detail, ok)"
            " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session,
                self.time + wall_offset,
                self.actor.name,
                self.actor.role,
                self.actor.via,
                self.action,
                self.target,
                self.detail,
                int(self.ok),
            ),
        )
        return False


class AuditLog:
    """Records actions through the journal and reads them back."""

    def __init__(
        self,
        append: Callable[[AuditEntry], None],
        journal_path: str | Path,
        clock: Callable[[], float],
        committed: Callable[[], Awaitable[None]] | None = None,
    ):
        """``committed()`` (the journal's barrier) resolves once what was appended so far
        is committed: a query awaits it first, so it sees every entry recorded before it."""
        self._append = append
        self.path = Path(journal_path)
        self.clock = clock
        self._committed = committed

    def record(
        self,
        actor: Actor,
        action: str,
        target: str | None = None,
        detail: str | None = None,
        *,
        ok: bool = True,
    ) -> None:
        """Write one entry (queued to the journal; never blocks) and log it."""
        log.warning(
            "%s %s %s%s%s",
            actor,
            action if ok else f"was refused {action}",
            target or "",
            ": " if detail else "",
            detail or "",
        )
        self._append(AuditEntry(self.clock(), actor, action, target, detail, ok))

    async def query(
        self,
        since: float | None = None,
        until: float | None = None,
        user: str | None = None,
        action: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Entries newest first, filtered; times are wall-clock epoch seconds."""
        if self._committed is not None:
            await self._committed()
        return await asyncio.to_thread(self._query, since, until, user, action, limit)

    def _query(
        self,
        since: float | None,
        until: float | None,
        user: str | None,
        action: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        where, args = ["1"], []
        for clause, value in (
            ("time >= ?", since),
            ("time < ?", until),
            ("user = ?", user),
            ("action = ?", action),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        with reading(self.path, "the audit log") as conn:
            rows = conn.execute(
                "SELECT time, user, role, via, action, target, detail, ok FROM audit"
                f" WHERE {' AND '.join(where)} ORDER BY time DESC, id DESC LIMIT ?",
                (*args, max(1, min(limit, 10_000))),
            ).fetchall()
        return [dict(row) | {"ok": bool(row["ok"])} for row in rows]
