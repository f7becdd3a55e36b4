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
