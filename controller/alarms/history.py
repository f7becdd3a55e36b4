"""Alarm history: every alarm transition the journal recorded, filtered, newest first.

The journal's ``alarms`` table has one row per transition (``raised``,
``cleared``, ``acknowledged``, ``shelved``, ``unshelved``) with the user for the
operator's actions; it is indexed by time. :meth:`AlarmHistory.query` runs its
SQL in a thread on a read-only connection, so it never blocks the event loop
nor the journal's writer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from controller.journal.schema import reading

#: The most rows one query returns.
MAX_ROWS = 10_000


class AlarmHistory:
    """Reads the journal's alarm transitions."""

    def __init__(self, journal_path: str | Path):
        self.path = Path(journal_path)

    async def query(
        self,
        since: float | None = None,
        until: float | None = None,
        severity: str | None = None,
        device: str | None = None,
        key: str | None = None,
        text: str | None = None,
        state: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Transitions newest first; ``since`` inclusive, ``until`` exclusive (epoch seconds).

        ``text`` matches a case-insensitive substring of the alarm text; the other
        filters match exactly. Each row: ``time`` (epoch s), ``key``, ``device``,
        ``severity``, ``state``, ``text``, ``user``.
        """
        where, args = ["1"], []
        for clause, value in (
            ("time >= ?", since),
            ("time < ?", until),
            ("severity = ?", severity),
            ("device = ?", device),
            ("key = ?", key),
            ("instr(lower(text), lower(?)) > 0", text),
            ("state = ?", state),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = (
            "SELECT time, key, device, severity, state, text, user FROM alarms"
            f" WHERE {' AND '.join(where)} ORDER BY time DESC, id DESC LIMIT ?"
        )
        return await asyncio.to_thread(self._query, sql, [*args, max(1, min(limit, MAX_ROWS))])

    def _query(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        with reading(self.path, "the alarm history") as conn:
            return [dict(row) for row in conn.execute(sql, args)]
