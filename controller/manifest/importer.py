"""Bulk manifest import: the subprocess that loads one file into the manifest store.

``python -m controller.manifest.importer --db DB --input FILE --format csv|ndjson|json
[--partial] [--job ID] [--batch 20000] [--actor WHO] [--nice N]`` streams the file (a JSON
document is decoded whole), validates every row (:mod:`controller.manifest.rows`)
and writes batches with ``executemany``. Parsing runs in that process, so the
controller's event loop and GIL stay free.

- all-or-nothing (default): the good rows are appended to a temporary staging
  table (the manifest is not locked meanwhile); if no row was bad, one
  transaction upserts them in barcode order (a later row of a barcode wins) and
  marks the job done. One bad row and nothing is loaded; the rest of the file
  is still read so that every bad row is reported.
- ``--partial``: the good rows are upserted and committed batch by batch, so
  parcels become routable while the file loads (the first commit after
  ``--batch`` rows; later commits grow with the table, up to ten batches,
  because each commit rewrites the pages it touches); bad rows are skipped.

stdout carries JSON lines: progress at most 4 per second (``rows_read``,
``rows_loaded``, ``rows_bad`` and the ``bad_rows`` found since the last line)
and a final line, ``{"final": true, ...}`` with the whole job
(:meth:`ImportJob.as_dict`; ``duplicates`` is counted at the end). The process
writes its ``import_jobs`` row. SIGTERM or SIGINT cancels: all-or-nothing loads
nothing, partial keeps the batches committed. Exit status: 0 done, 1 failed, 2
cancelled. :class:`controller.manifest.jobs.ImportJobs` runs these processes for the
controller, at ``nice`` 10 so that a bulk load never takes the CPU from the line.

Measured on the 2-core test VM (shared with other work), 1,000,000 CSV rows with
random barcodes: all-or-nothing about 100,000 rows/s, partial about 65,000
rows/s; NDJSON about 60,000 rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.errors import ManifestError
from controller.manifest.import_job import MAX_BAD_ROWS, ImportJob, JobState, save_job
from controller.manifest.parsers import open_input
from controller.manifest.rows import FORMATS, BadRow, Problem, RowValues
from controller.manifest.store import (
    COUNT_OF_JOB,
    CREATE_STAGING,
    STAGE,
    UPSERT,
    UPSERT_STAGED,
    connect,
    transaction,
)

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.25
_CHECK_EVERY = 1024  # rows between looks at the clock and at the cancel flag
_EXIT = {JobState.DONE: 0, JobState.FAILED: 1, JobState.CANCELLED: 2}
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # so the subprocess finds `controller`

Emit = Callable[[dict[str, Any]], None]


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def new_job_id() -> str:
    """A new import job id (12 hex digits)."""
    return secrets.token_hex(6)


def run_import(
    db: str | Path,
    input_path: str | Path,
    fmt: str,
    *,
    job_id: str,
    partial: bool = False,
    batch: int = 20_000,
    actor: str | None = None,
    emit: Emit = _emit,
    cancelled: Callable[[], bool] = lambda: False,
) -> ImportJob:
    """Load one manifest file into the store at ``db``; the finished job (also emitted).

    Synchronous and CPU-bound: the importer process runs it; ``cancelled`` is
    polled every 1024 rows.
    """
    now = time.time()
    job = ImportJob(job_id, JobState.RUNNING, fmt, partial, now, actor, started=now)
    conn = connect(db)
    try:
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA temp.cache_size = -65536")
        save_job(conn, job)
        job = _Loader(conn, job, max(1, batch), emit).run(str(input_path), cancelled)
    finally:
        conn.close()
    emit({"final": True, **job.as_dict()})
    return job


class _Loader:
    """One import: read the rows, stage or write them in batches, count, report."""

    def __init__(self, conn: sqlite3.Connection, job: ImportJob, batch: int, emit: Emit):
        self.conn, self.job, self.batch_size, self.emit = conn, job, batch, emit
        self.read = self.refused = self.good = self.written = self.sent = 0
        self.bad: list[BadRow] = []
        self.batch: list[RowValues] = []

    def run(self, path: str, cancelled: Callable[[], bool]) -> ImportJob:
        """Load the file at ``path``; the finished job, recorded in ``import_jobs``."""
        state, error, handle = JobState.DONE, None, None
        try:
            if not self.job.partial:
                self.conn.execute(CREATE_STAGING)
            handle, rows = open_input(path, self.job.format)
            next_progress = time.monotonic() + PROGRESS_EVERY_S
            for line, result in rows:
                self.read += 1
                if type(result) is list:
                    self._refuse(line, result)
                else:
                    self.batch.append(result)  # type: ignore[arg-type]
                    if len(self.batch) >= self._limit():
                        self._flush()
                if self.read % _CHECK_EVERY == 0:
                    if cancelled():
                        state, error = JobState.CANCELLED, "cancelled"
                        break
                    if time.monotonic() >= next_progress:
                        self._progress()
                        next_progress = time.monotonic() + PROGRESS_EVERY_S
            if state is JobState.DONE:
                self._flush()
                self._progress()
        except ManifestError as err:
            state, error = JobState.FAILED, str(err)
        except (sqlite3.Error, OSError) as err:
            state, error = JobState.FAILED, f"cannot load the manifest: {err}"
        finally:
            if handle is not None:
                handle.close()
        if state is JobState.DONE and self.refused and not self.job.partial:
            state = JobState.FAILED
            error = f"{self.refused} bad rows; nothing loaded (all-or-nothing import)"
        elif state is JobState.CANCELLED and self.written:
            error = "cancelled; the rows loaded before stay in the manifest"
        return self._finish(state, error)

    def _limit(self) -> int:
        """Rows per batch: partial imports grow their commits (up to 10x) with the table."""
        if self.job.partial:
            return min(max(self.batch_size, self.written), 10 * self.batch_size)
        return self.batch_size

    def _refuse(self, line: int, problems: list[Problem]) -> None:
        self.refused += 1
        room = MAX_BAD_ROWS - len(self.bad)
        self.bad.extend(BadRow(line, field, reason) for field, reason in problems[:room])

    def _flush(self) -> None:
        """Partial: upsert the batch and commit. All-or-nothing: stage it while no row is bad."""
        batch, conn = self.batch, self.conn
        self.good += len(batch)
        if self.job.partial and batch:
            last = {row[0]: row for row in batch}  # a later row of a barcode wins
            updated = time.time()
            with transaction(conn):  # in barcode order a commit touches fewer pages
                conn.executemany(UPSERT, [(*last[c], updated, self.job.id) for c in sorted(last)])
            self.written += len(last)
        elif batch and not self.refused:
            with transaction(conn, "DEFERRED"):  # the temp table only: no lock on the manifest
                conn.executemany(STAGE, batch)
        batch.clear()

    def _progress(self) -> None:
        counts: dict[str, Any] = {
            "rows_read": self.read,
            "rows_loaded": self.written,
            "rows_bad": self.refused,
        }
        if len(self.bad) > self.sent:
            counts["bad_rows"] = [b.as_dict() for b in self.bad[self.sent :]]
            self.sent = len(self.bad)
        self.emit(counts)

    def _finish(self, state: JobState, error: str | None) -> ImportJob:
        """Upsert the staged rows (all-or-nothing, done) and record the job, in one transaction."""
        conn, load = self.conn, state is JobState.DONE and not self.job.partial
        job = dataclasses.replace(
            self.job, rows_read=self.read, rows_bad=self.refused, bad_rows=tuple(self.bad)
        )
        try:
            with transaction(conn):
                if load:
                    conn.execute(UPSERT_STAGED, (time.time(), job.id))
                loaded = conn.execute(COUNT_OF_JOB, (job.id,)).fetchone()[0]
                job = dataclasses.replace(
                    job,
                    state=state,
                    error=error,
                    rows_loaded=loaded,
                    duplicates=self.good - loaded if load or self.job.partial else 0,
                    finished=time.time(),
                )
                save_job(conn, job)
        except sqlite3.Error as err:
            job = dataclasses.replace(
                job,
                state=JobState.FAILED,
                error=f"cannot load the manifest: {err}",
                rows_loaded=self.written,
                finished=time.time(),
            )
            with contextlib.suppress(sqlite3.Error):
                save_job(conn, job)
        return job


def main(argv: list[str] | None = None) -> int:
    """The importer process: load one file, report on stdout; exit 0 done, 1 failed, 2 cancelled."""
    parser = argparse.ArgumentParser(prog="python -m controller.manifest.importer")
    parser.add_argument("--db", required=True, help="the manifest SQLite file")
    parser.add_argument("--input", required=True, help="the file to load")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--partial", action="store_true", help="load the good rows of a bad file")
    parser.add_argument("--job", default=None, help="the import job id (default: a new one)")
    parser.add_argument("--batch", type=int, default=20_000, help="rows per write")
    parser.add_argument("--actor", default=None, help="who started the import")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority")
    args = parser.parse_args(argv)
    if args.nice > 0:
        os.nice(args.nice)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stop.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stop.append(signum))

    def emit(message: dict[str, Any]) -> None:
        try:
            _emit(message)
        except BrokenPipeError:  # whoever read our progress is gone: stop
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            stop.append(signal.SIGPIPE)

    try:
        job = run_import(
            args.db,
            args.input,
            args.format,
            job_id=args.job or new_job_id(),
            partial=args.partial,
            batch=args.batch,
            actor=args.actor,
            emit=emit,
            cancelled=lambda: bool(stop),
        )
    except ManifestError as err:
        print(f"manifest import: {err}", file=sys.stderr)
        return 1
    return _EXIT[job.state]


if __name__ == "__main__":
    sys.exit(main())
