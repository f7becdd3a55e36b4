"""An import job's record: the frozen snapshot the API shows, and its ``import_jobs`` row.

The job manager (:mod:`controller.manifest.jobs`) and the importer process
(:mod:`controller.manifest.importer`) both write it; the store
(:mod:`controller.manifest.store`) reads it back.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from controller.manifest.rows import BadRow

#: How many bad rows a job keeps (and reports).
MAX_BAD_ROWS = 1000


JOB_COLUMNS = (
    "id, created, started, finished, state, format, partial, rows_read, rows_loaded, "
    "rows_bad, duplicates, bad_rows, error, actor"
)

_SAVE_JOB = f"""
INSERT INTO import_jobs({JOB_COLUMNS}) VALUES({", ".join("?" * 14)})
ON CONFLICT(id) DO UPDATE SET
    started = coalesce(excluded.started, started), finished = excluded.finished,
    state = excluded.state, format = excluded.format, partial = excluded.partial,
    rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded,
    rows_bad = excluded.rows_bad, duplicates = excluded.duplicates,
    bad_rows = excluded.bad_rows, error = excluded.error, actor = coalesce(actor, excluded.actor)
"""


class JobState(StrEnum):
    """Where an import job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for done, failed and cancelled."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class ImportJob:
    """A frozen snapshot of one manifest import (times are wall-clock epoch seconds).

    ``bad_rows`` holds the first :data:`MAX_BAD_ROWS` problems (``line`` is the
    file line, or the 0-based item index for JSON); ``rows_bad`` counts every
    refused row. ``rows_loaded`` counts the rows written to the manifest.
    """

    id: str
    state: JobState
    format: str
    partial: bool
    created: float
    actor: str | None = None
    started: float | None = None
    finished: float | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_bad: int = 0
    duplicates: int = 0
    bad_rows: tuple[BadRow, ...] = field(default=(), repr=False)
    error: str | None = None

    @property
    def rows_per_s(self) -> float:
        """Rows read per second since the job started (until it finished)."""
        if self.started is None:
            return 0.0
        elapsed = (self.finished or time.time()) - self.started
        return self.rows_read / elapsed if elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as a JSON-ready dict (``bad_rows`` as ``{line, field, reason}``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(state=str(self.state), rows_per_s=round(self.rows_per_s, 1))
        values["bad_rows"] = [b.as_dict() for b in self.bad_rows]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImportJob:
        """The snapshot back from :meth:`as_dict` (unknown keys are ignored)."""
        known = {f.name: values[f.name] for f in fields(cls) if f.name in values}
        known["state"] = JobState(known["state"])
        known["partial"] = bool(known["partial"])
        known["bad_rows"] = tuple(BadRow(**b) for b in known.get("bad_rows") or ())
        return cls(**known)


def save_job(conn: sqlite3.Connection, job: ImportJob) -> None:
    """Insert or update ``job``'s row (keeping an existing row's ``created`` and ``actor``)."""
    values = job.as_dict()
    values["bad_rows"] = json.dumps(values["bad_rows"][:MAX_BAD_ROWS])
    conn.execute(_SAVE_JOB, [values[c] for c in JOB_COLUMNS.split(", ")])


def job_of(row: tuple[Any, ...]) -> ImportJob:
    """An :class:`ImportJob` from an ``import_jobs`` row."""
    values = dict(zip(JOB_COLUMNS.split(", "), row, strict=True))
    values["bad_rows"] = json.loads(values["bad_rows"] or "[]")
    return ImportJob.from_dict(values)
