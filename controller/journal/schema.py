"""The journal file's tables and the statements that write a parcel's latest state.

Tables: ``sessions`` (one row per controller start), ``events`` (every parcel event),
``parcels`` (latest state per parcel), ``alarms``; other modules add their own (the
upstream ``outbox``, containers, audit …) through :meth:`Journal.add_schema
<controller.journal.writer.Journal.add_schema>`. :func:`reading` opens the file read-only.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from controller.errors import JournalError

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions(
    id INTEGER PRIMARY KEY, started REAL NOT NULL, line TEXT NOT NULL, config TEXT);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL,
    uid INTEGER NOT NULL, tracking_id INTEGER NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, barcode TEXT, route TEXT, chute INTEGER, reason TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS events_by_parcel ON events(session, uid);
CREATE UNIQUE INDEX IF NOT EXISTS one_terminal_per_parcel
    ON events(session, uid) WHERE kind = 'terminal';
CREATE TABLE IF NOT EXISTS parcels(
    session INTEGER NOT NULL, uid INTEGER NOT NULL, tracking_id INTEGER NOT NULL,
    barcode TEXT, route TEXT, state TEXT NOT NULL, chute INTEGER, reason TEXT,
    inducted REAL NOT NULL, updated REAL NOT NULL, answer_ms REAL,
    weight_kg TEXT, length_mm TEXT, width_mm TEXT, height_mm TEXT, volumetric_kg TEXT,
    PRIMARY KEY(session, uid));
CREATE INDEX IF NOT EXISTS parcels_by_barcode ON parcels(barcode);
CREATE INDEX IF NOT EXISTS parcels_by_time ON parcels(inducted, session, uid);
CREATE INDEX IF NOT EXISTS parcels_open ON parcels(session, uid)
    WHERE state IN ('inducted', 'identified', 'assigned');
CREATE TABLE IF NOT EXISTS alarms(
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL, key TEXT NOT NULL,
    device TEXT, severity TEXT NOT NULL, state TEXT NOT NULL, text TEXT NOT NULL, user TEXT);
CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms(time);
"""

#: Columns added after the first release, added to older journal files on open.
ADDED_PARCEL_COLUMNS = ("weight_kg", "length_mm", "width_mm", "height_mm", "volumetric_kg")

UPSERT_PARCEL = """
INSERT INTO parcels(session, uid, tracking_id, barcode, route, state, chute, reason,
                    inducted, updated, answer_ms)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session, uid) DO UPDATE SET
    barcode = coalesce(excluded.barcode, barcode), route = coalesce(excluded.route, route),
    state = excluded.state, chute = coalesce(excluded.chute, chute),
    reason = coalesce(excluded.reason, reason), updated = excluded.updated,
    answer_ms = coalesce(excluded.answer_ms, answer_ms)
"""

UPSERT_MEASURED_PARCEL = """
INSERT INTO parcels(session, uid, tracking_id, barcode, route, state, chute, reason,
                    inducted, updated, answer_ms,
                    weight_kg, length_mm, width_mm, height_mm, volumetric_kg)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session, uid) DO UPDATE SET
    barcode = coalesce(excluded.barcode, barcode), route = coalesce(excluded.route, route),
    state = excluded.state, chute = coalesce(excluded.chute, chute),
    reason = coalesce(excluded.reason, reason), updated = excluded.updated,
    answer_ms = coalesce(excluded.answer_ms, answer_ms),
    weight_kg = excluded.weight_kg, length_mm = excluded.length_mm,
    width_mm = excluded.width_mm, height_mm = excluded.height_mm,
    volumetric_kg = excluded.volumetric_kg
"""
"""The upsert of a ``measured`` event: its measurement replaces the parcel's (one
statement, not an upsert and an update)."""


@contextlib.contextmanager
def reading(path: str | Path, what: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the journal (rows as :class:`sqlite3.Row`), closed after.

    For queries run in a worker thread; SQLite errors become :class:`JournalError`
    saying ``what`` could not be read.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as err:
        raise JournalError(f"{path}: cannot read {what}: {err}") from err
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    except sqlite3.Error as err:
        raise JournalError(f"{path}: cannot read {what}: {err}") from err
    finally:
        conn.close()


def create_or_migrate(conn: sqlite3.Connection, schemas: list[str]) -> None:
    """Create the journal's tables (``schemas``: other modules' tables too) if missing and
    add the columns added since the first release to an older file's tables."""
    conn.executescript(SCHEMA)
    for sql in schemas:
        conn.executescript(sql)
    have = {row[1] for row in conn.execute("PRAGMA table_info(parcels)")}
    for column in ADDED_PARCEL_COLUMNS:
        if column not in have:
            conn.execute(f"ALTER TABLE parcels ADD COLUMN {column} TEXT")
    if "user" not in {row[1] for row in conn.execute("PRAGMA table_info(alarms)")}:
        conn.execute("ALTER TABLE alarms ADD COLUMN user TEXT")
