"""The TMS manifest in SQLite: barcode -> route for the decision path, and the import jobs.

An import job's record (its snapshot and row) is :mod:`controller.manifest.import_job`.

The store has its own file (``manifest.sqlite`` in the data dir), separate from
the journal, so a long import transaction never holds up the journal writer.
WAL mode: readers never wait for the writer, and the bulk importer (another
process, :mod:`controller.manifest.importer`) writes the same file.

Two connections per store:

- a read connection for :meth:`ManifestStore.route_of` (and :meth:`~ManifestStore.get`),
  which is synchronous and called on the event loop for every parcel: one
  primary-key lookup that never waits for a writer (WAL). With 1,000,000 rows on
  the 2-core test VM: 5-8 µs when its pages are cached, 11-19 µs for random
  barcodes back to back, about 90 µs for the first lookup after the event loop
  has idled (cold CPU caches; ``python benchmarks/manifest_lookup.py`` prints them);
- a thread-side connection for everything else (the caller wraps those calls in
  ``asyncio.to_thread``), serialised by a lock.

Only validated rows are ever written (:meth:`ManifestStore.upsert` re-checks
every row), so nothing malformed reaches the decision path.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from controller.errors import ManifestError
from controller.manifest.import_job import JOB_COLUMNS, ImportJob, job_of, save_job
from controller.manifest.rows import ManifestRow, check

SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest(
    barcode TEXT PRIMARY KEY, route TEXT NOT NULL, stop_sequence INTEGER, consignee TEXT,
    postal_code TEXT, service_level TEXT, updated REAL NOT NULL, job TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_by_route ON manifest(route);
CREATE TABLE IF NOT EXISTS import_jobs(
    id TEXT PRIMARY KEY, created REAL NOT NULL, started REAL, finished REAL,
    state TEXT NOT NULL, format TEXT NOT NULL, partial INTEGER NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0, rows_loaded INTEGER NOT NULL DEFAULT 0,
    rows_bad INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
    bad_rows TEXT, error TEXT, actor TEXT);
CREATE INDEX IF NOT EXISTS import_jobs_by_created ON import_jobs(created);
"""

_ON_CONFLICT = """
ON CONFLICT(barcode) DO UPDATE SET
    route = excluded.route, stop_sequence = excluded.stop_sequence,
    consignee = excluded.consignee, postal_code = excluded.postal_code,
    service_level = excluded.service_level, updated = excluded.updated, job = excluded.job
"""
_ROW_COLUMNS = "barcode, route, stop_sequence, consignee, postal_code, service_level"

#: Insert or replace one row: ``(barcode, route, stop, consignee, postal, service, updated, job)``.
UPSERT = (
    f"INSERT INTO manifest({_ROW_COLUMNS}, updated, job) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
    + _ON_CONFLICT
)
#: The all-or-nothing importer's staging table: rows appended in file order.
CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staging(barcode TEXT NOT NULL, route TEXT NOT NULL, "
    "stop_sequence INTEGER, consignee TEXT, postal_code TEXT, service_level TEXT)"
)
#: Append one row to the staging table.
STAGE = "INSERT INTO temp.staging VALUES(?, ?, ?, ?, ?, ?)"
#: Upsert every staged row in barcode order, a later row of a barcode last (it wins);
#: parameters ``(updated, job)``.
UPSERT_STAGED = (
    f"INSERT INTO main.manifest({_ROW_COLUMNS}, updated, job) "
    f"SELECT {_ROW_COLUMNS}, ?, ? FROM temp.staging WHERE true ORDER BY barcode, rowid"
    + _ON_CONFLICT
)
#: How many rows an import job wrote (each barcode once); parameter ``(job,)``.
COUNT_OF_JOB = "SELECT count(*) FROM main.manifest WHERE job = ?"

_COUNT_KNOWN = "SELECT count(*) FROM manifest WHERE barcode IN (SELECT value FROM json_each(?))"


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    """``BEGIN`` (IMMEDIATE: take the write lock now) ... ``COMMIT``, or ``ROLLBACK`` on error."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def connect(path: str | Path, *, busy_ms: int = 30_000) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, ``busy_timeout`` and the schema in place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as err:
        raise ManifestError(f"{path}: cannot open the manifest database: {err}") from err
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
    except sqlite3.Error as err:
        conn.close()
        raise ManifestError(f"{path}: cannot open the manifest database: {err}") from err
    return conn


def _encodable(text: str) -> bool:
    """True unless ``text`` holds lone surrogates (which SQLite cannot store)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class ManifestStore:
    """Barcode -> manifest row in SQLite; :meth:`route_of` is the decision path's lookup.

    Call :meth:`open` (in a thread) before anything else and :meth:`close` at the end.
    Methods marked *thread-side* do I/O that may wait: wrap them in ``asyncio.to_thread``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._size = 0

    # -- life cycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Create the file and schema, open both connections and count the rows (thread-side)."""
        if self._conn is not None:
            return
        conn = connect(self.path)
        try:
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA busy_timeout = 100")
            reader.execute("PRAGMA cache_size = -65536")  # up to 64 MiB of hot pages
            reader.execute("PRAGMA query_only = 1")
        except sqlite3.Error as err:
            conn.close()
            raise ManifestError(f"{self.path}: cannot open the manifest database: {err}") from err
        self._conn, self._reader = conn, reader
        self.count()

    def close(self) -> None:
        """Close both connections (idempotent)."""
        with self._lock:
            for conn in (self._conn, self._reader):
                if conn is not None:
                    conn.close()
            self._conn = self._reader = None

    def _writer(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ManifestError(f"{self.path}: the manifest store is not open")
        return self._conn

    # -- the decision path (event loop, synchronous) ----------------------------------------

    def route_of(self, barcode: str) -> str | None:
        """The route of ``barcode``, or None when the TMS did not send it.

        Synchronous, for the event loop: one primary-key lookup on the read
        connection (a few µs). Raises ManifestError if the database fails.
        """
        reader = self._reader
        if reader is None:
            raise ManifestError(f"{self.path}: the manifest store is not open")
        try:
            row = reader.execute("SELECT route FROM manifest WHERE barcode = ?", (barcode,))
            found = row.fetchone()
        except UnicodeEncodeError:
            return None  # a read with lone surrogates cannot be in the manifest
        except sqlite3.Error as err:
            raise ManifestError(f"{self.path}: manifest lookup failed: {err}") from err
        return None if found is None else found[0]

    def get(self, barcode: str, default: str | None = None) -> str | None:
        """``Mapping.get`` for :func:`~controller.parcels.decide`: the route or ``default``."""
        route = self.route_of(barcode)
        return default if route is None else route

    @property
    def size(self) -> int:
        """The number of parcels, as last counted (refreshed by writes and :meth:`count`)."""
        return self._size

    def __len__(self) -> int:
        return self._size

    # -- thread-side ------------------------------------------------------------------------

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._writer().execute(sql, args).fetchall()
            except (sqlite3.Error, UnicodeEncodeError) as err:
                raise ManifestError(f"{self.path}: manifest query failed: {err}") from err

    def count(self) -> int:
        """Count the parcels and refresh :attr:`size` (thread-side)."""
        self._size = self._read("SELECT count(*) FROM manifest")[0][0]
        return self._size

    def record(self, barcode: str) -> ManifestRow | None:
        """The whole row of ``barcode``, or None (thread-side)."""
        if not _encodable(barcode):
            return None
        rows = self._read(f"SELECT {_ROW_COLUMNS} FROM manifest WHERE barcode = ?", (barcode,))
        return ManifestRow(*rows[0]) if rows else None

    def query(
        self, route: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[ManifestRow]:
        """Rows ordered by barcode, optionally of one route, after barcode ``after`` (thread-side).

        Keyset pagination: pass the last barcode of a page as ``after`` for the next one.
        ``limit`` is clamped to 1..10000.
        """
        where, args = [], []
        if route is not None:
            where.append("route = ?")
            args.append(route)
        if after is not None:
            where.append("barcode > ?")
            args.append(after)
        sql = f"SELECT {_ROW_COLUMNS} FROM manifest"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY barcode LIMIT ?"
        args.append(max(1, min(int(limit), 10_000)))
        return [ManifestRow(*r) for r in self._read(sql, tuple(args))]

    def routes(self) -> dict[str, int]:
        """Parcels per route, ordered by route (thread-side)."""
        rows = self._read("SELECT route, count(*) FROM manifest GROUP BY route ORDER BY route")
        return dict(rows)

    def stops(self) -> list[tuple[str, int | None, int]]:
        """``(route, stop_sequence, parcels)`` for every route and stop in the manifest,
        ordered by route then stop (no stop first) (thread-side)."""
        return self._read(
            "SELECT route, stop_sequence, count(*) FROM manifest"
            " GROUP BY route, stop_sequence ORDER BY route, stop_sequence"
        )  # type: ignore[return-value]

    def delete(self, barcode: str) -> bool:
        """Remove ``barcode``; True if it was there (thread-side)."""
        if not _encodable(barcode):
            return False
        with self._lock:
            try:
                gone = self._writer().execute("DELETE FROM manifest WHERE barcode = ?", (barcode,))
            except sqlite3.Error as err:
                raise ManifestError(f"{self.path}: cannot delete {barcode!r}: {err}") from err
            if gone.rowcount > 0:
                self._size -= gone.rowcount
            return gone.rowcount > 0

    def upsert(self, rows: Iterable[ManifestRow], job: str | None = None) -> int:
        """Insert or replace ``rows`` in one transaction; the number of rows written (thread-side).

        Every row is validated again (a row built by hand cannot bypass the
        rules); one bad row refuses the whole call with ManifestError. A barcode
        given twice keeps its later row.
        """
        now = time.time()
        values: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            if not isinstance(row, ManifestRow):
                raise ManifestError(f"expected a ManifestRow, got {type(row).__name__}")
            checked = check(*row.values())
            if isinstance(checked, list):
                why = "; ".join(f"{f} {r}" for f, r in checked)
                raise ManifestError(f"row {row.barcode!r}: {why}")
            values.pop(checked[0], None)
            values[checked[0]] = (*checked, now, job)
        if not values:
            return 0
        with self._lock:
            conn = self._writer()
            try:
                with transaction(conn):
                    known = conn.execute(_COUNT_KNOWN, (json.dumps(list(values)),)).fetchone()[0]
                    conn.executemany(UPSERT, values.values())
            except sqlite3.Error as err:
                raise ManifestError(f"{self.path}: cannot write the manifest: {err}") from err
            self._size += len(values) - known
        return len(values)

    def job(self, job_id: str) -> ImportJob | None:
        """One import job as stored, or None (thread-side)."""
        rows = self._read(f"SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = ?", (job_id,))
        return job_of(rows[0]) if rows else None

    def jobs(self, limit: int = 50) -> list[ImportJob]:
        """The latest import jobs, newest first (thread-side)."""
        sql = f"SELECT {JOB_COLUMNS} FROM import_jobs ORDER BY created DESC, id LIMIT ?"
        return [job_of(r) for r in self._read(sql, (max(1, int(limit)),))]

    def save_job(self, job: ImportJob) -> None:
        """Insert or update an import job's row (thread-side)."""
        with self._lock:
            try:
                save_job(self._writer(), job)
            except sqlite3.Error as err:
                raise ManifestError(f"{self.path}: cannot record import {job.id}: {err}") from err

    def fail_interrupted_jobs(self) -> int:
        """Mark jobs left queued or running by a previous controller run as failed (thread-side).

        Call it once at start-up, before any import is started.
        """
        with self._lock:
            try:
                cur = self._writer().execute(
                    "UPDATE import_jobs SET state = 'failed', finished = ?, "
                    "error = 'interrupted: the controller stopped during the import' "
                    "WHERE state IN ('queued', 'running')",
                    (time.time(),),
                )
            except sqlite3.Error as err:
                raise ManifestError(f"{self.path}: cannot update import jobs: {err}") from err
            return cur.rowcount
