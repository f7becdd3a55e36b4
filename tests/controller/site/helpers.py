"""Shared parts of the site tests: a journal with parcels, and reading the site store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from plc_configs.contract import SortResult
from tests.controller.upstream.helpers import measurement, parcel_events


async def write_parcels(
    journal: Journal, tracker: ParcelTracker, first: int, count: int, *, t: float = 1.0
) -> None:
    """``count`` parcels from tracking id ``first``: every third measured, every fifth
    rejected; committed when this returns."""
    for tid in range(first, first + count):
        result = SortResult.NO_ANSWER if tid % 5 == 0 else SortResult.DIVERTED
        measure = measurement(kg=f"{tid % 7 + 1}.250") if tid % 3 == 0 else None
        journal.extend(parcel_events(tracker, tid, result=result, measure=measure, t=t + tid))
    await journal.barrier()


def journal_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the journal."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def site_rows(conninfo: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the site store."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql, args).fetchall()


def assert_counts_match_parcels(conninfo: str) -> list[tuple[Any, ...]]:
    """The counts the store keeps (``parcel_state_counts``, ``parcel_terminal_minutes``)
    equal a count over ``parcels`` (minutes: within two hours of each line's newest);
    returns the counts by line and state."""
    kept = site_rows(
        conninfo, "SELECT line, state, n FROM parcel_state_counts WHERE n <> 0 ORDER BY 1, 2"
    )
    scanned = site_rows(
        conninfo, "SELECT line, state, count(*) FROM parcels GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert kept == scanned
    minutes = site_rows(
        conninfo,
        "SELECT line, minute, n FROM parcel_terminal_minutes WHERE n <> 0 ORDER BY 1, 2",
    )
    assert minutes == site_rows(
        conninfo,
        "SELECT line, minute, n FROM (SELECT line, floor(updated / 60)::BIGINT AS minute,"
        " count(*) AS n, max(floor(updated / 60)::BIGINT) OVER (PARTITION BY line) AS newest"
        " FROM parcels WHERE state IN ('sorted', 'rejected', 'lost') GROUP BY 1, 2) AS m"
        " WHERE minute >= newest - 120 ORDER BY 1, 2",
    )
    return kept
