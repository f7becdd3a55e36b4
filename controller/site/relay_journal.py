"""The site relay's side of the line's journal: one read-only SQLite connection of its
own, and each cycle's batches read from one snapshot of the journal.

Runs in the relay's thread only (never on the event loop).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controller.site.streams import (
    STREAM_DEFS,
    Row,
    changed_containers,
    wall_state_select,
    wall_states,
)

_MAX_IDS = 500  # SQLite host parameters per wall_containers look-up


@dataclass
class JournalBatch:
    """What one snapshot of the journal holds for the relay."""

    rows: dict[str, list[Row]]
    """Each stream's next rows after the site's position (at most ``batch_rows``)."""
    tops: dict[str, int]
    """Each stream's highest row id in the journal (0 when the table does not exist)."""
    wall_states: list[Row] = field(default_factory=list)
    """Site ``containers`` rows of the wall containers the batch's wall events changed,
    as the journal holds them now (:func:`~controller.site.streams.wall_states`)."""


class JournalReader:
    """Reads the journal at ``path`` read-only (``mode=ro``), opening it when first needed."""

    def __init__(self, path: Path, line: str, batch_rows: int):
        self.path = path
        self.line = line
        self.batch_rows = batch_rows
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise sqlite3.OperationalError(f"{self.path} does not exist (yet)")
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, timeout=10, isolation_level=None
            )
            conn.execute("PRAGMA busy_timeout=10000")
            self._conn = conn
        return self._conn

    def _tables(self, db: sqlite3.Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def read(self, positions: Mapping[str, int]) -> JournalBatch:
        """Each stream's next batch after ``positions``, the highest row ids, and the current
        rows of the wall containers changed in the batch, from one snapshot."""
        db = self._db()
        batch = JournalBatch({}, {})
        db.execute("BEGIN")
        try:
            tables = self._tables(db)
            for stream in STREAM_DEFS:
                if stream.table not in tables:
                    batch.rows[stream.name], batch.tops[stream.name] = [], 0
                    continue
                after = positions.get(stream.name, 0)
                batch.rows[stream.name] = db.execute(
                    stream.select, (after, self.batch_rows)
                ).fetchall()
                (batch.tops[stream.name],) = db.execute(
                    f"SELECT coalesce(max(rowid), 0) FROM {stream.table}"
                ).fetchone()
            changed = changed_containers(batch.rows.get("wall_events", ()))
            if changed and "wall_containers" in tables:
                ids = list(changed)
                for start in range(0, len(ids), _MAX_IDS):
                    chunk = ids[start : start + _MAX_IDS]
                    found = db.execute(wall_state_select(len(chunk)), chunk).fetchall()
                    batch.wall_states += wall_states(self.line, found, changed)
        finally:
            db.execute("COMMIT")
        return batch

    def tops(self) -> dict[str, int]:
        """Each stream's highest row id (for the backlog while the site is away)."""
        db = self._db()
        tables = self._tables(db)
        tops: dict[str, int] = {}
        for stream in STREAM_DEFS:
            tops[stream.name] = 0
            if stream.table in tables:
                (tops[stream.name],) = db.execute(
                    f"SELECT coalesce(max(rowid), 0) FROM {stream.table}"
                ).fetchone()
        return tops

    def close(self) -> None:
        """Close the connection (the next read opens it again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
