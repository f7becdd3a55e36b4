"""The journal's tables: an older file gains the columns added since, and reading fails clearly."""

import re
import sqlite3

import pytest

from controller.errors import JournalError
from controller.journal.schema import ADDED_PARCEL_COLUMNS, reading
from controller.journal.writer import Journal

OLD_TABLES = """
CREATE TABLE parcels(
    session INTEGER NOT NULL, uid INTEGER NOT NULL, tracking_id INTEGER NOT NULL,
    barcode TEXT, route TEXT, state TEXT NOT NULL, chute INTEGER, reason TEXT,
    inducted REAL NOT NULL, updated REAL NOT NULL, answer_ms REAL, PRIMARY KEY(session, uid));
CREATE TABLE alarms(
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL, key TEXT NOT NULL,
    device TEXT, severity TEXT NOT NULL, state TEXT NOT NULL, text TEXT NOT NULL);
INSERT INTO parcels VALUES(1, 7, 70, 'B7', 'R1', 'sorted', 3, NULL, 1.0, 2.0, 1.5);
"""


async def test_an_older_journal_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "j.sqlite"
    old = sqlite3.connect(path)
    old.executescript(OLD_TABLES)
    old.close()
    journal = Journal(path, "l")
    await journal.open()
    await journal.close()
    with reading(path, "the parcels") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(parcels)")}
        alarm_columns = {row[1] for row in conn.execute("PRAGMA table_info(alarms)")}
        kept = conn.execute("SELECT barcode, state, weight_kg FROM parcels").fetchall()
    assert set(ADDED_PARCEL_COLUMNS) <= columns and "user" in alarm_columns
    assert [tuple(row) for row in kept] == [("B7", "sorted", None)]
    assert journal.session == 1  # the sessions table was created beside the old ones


def test_reading_a_missing_journal_names_the_file_and_what(tmp_path):
    path = tmp_path / "none.sqlite"
    expected = re.escape(f"{path}: cannot read the alarm history")
    with pytest.raises(JournalError, match=expected), reading(path, "the alarm history") as conn:
        conn.execute("SELECT 1 FROM alarms")
