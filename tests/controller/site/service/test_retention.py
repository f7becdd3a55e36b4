"""The site store's retention on a real PostgreSQL: old rows go in batches, recent ones and
the counters stay."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from controller.site.service import Site
from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.retention import StoreRetention
from tests.controller.site.service.conftest import fill, site_config

DAY = 86400.0


def _parcel(conn: psycopg.Connection, uid: int, inducted: float, updated: float) -> None:
    """A sorted parcel of line north with its two events (inducted, terminal)."""
    conn.execute(
        "INSERT INTO parcels VALUES ('north', 1, %s, %s, %s, 'R01', 'sorted', 3, NULL, %s, %s,"
        " 1.0, 100, 100, 100, %s)",
        (uid, uid, f"OLD-{uid}", inducted, updated, 10 * uid + 1),
    )
    for sequence, at, kind, state in (
        (10 * uid, inducted, "inducted", "inducted"),
        (10 * uid + 1, updated, "terminal", "sorted"),
    ):
        conn.execute(
            "INSERT INTO parcel_events VALUES ('north', %s, 1, %s, %s, %s, %s, %s,"
            " NULL, NULL, NULL, NULL, NULL, %s)",
            (sequence, uid, uid, at, kind, state, at),
        )


def _others(conn: psycopg.Connection, sequence: int, at: float) -> None:
    """A container, a move, a truck and a put-wall event of line north at ``at``."""
    conn.execute(
        "INSERT INTO containers VALUES ('north', 'containers', %s, %s, 'chute', 3, 'R01',"
        " NULL, %s, 4, NULL, NULL)",
        (sequence, f"C{sequence}", at),
    )
    conn.execute(
        "INSERT INTO container_moves VALUES ('north', %s, %s, %s, 'moved', 'dock', NULL)",
        (sequence, at, f"C{sequence}"),
    )
    conn.execute(
        "INSERT INTO trucks VALUES ('north', %s, %s, %s, %s)",
        (1000 + sequence, f"T{sequence}", at, json.dumps({"parcels": 1})),
    )
    conn.execute(
        "INSERT INTO wall_events VALUES ('north', %s, %s, 'W1', 'put', 'P1', 'A1', %s,"
        " NULL, NULL, NULL)",
        (sequence, at, f"C{sequence}"),
    )


def _count(conn: psycopg.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


async def test_old_rows_go_in_batches_and_recent_ones_and_the_counts_stay(postgres_database):
    fill(postgres_database)  # 5 parcels and 2 trucks of the last two hours
    now = time.time()
    old = now - 100 * DAY
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        for uid in range(100, 105):  # older than 90 days: go, with their events
            _parcel(conn, uid, old, old + 60)
        _parcel(conn, 200, old, now - 10)  # inducted long ago, updated just now: stays
        _others(conn, 1, old)
        _others(conn, 2, now - 60)
        counts = conn.execute("SELECT line, state, n FROM parcel_state_counts").fetchall()
    retention = StoreRetention(postgres_database, None, retention_days=90, batch_rows=2)
    retention.pause_s = 0.0

    purge = await retention.purge_once(now)

    assert purge.deleted == {
        "parcels": 5, "parcel_events": 10, "containers": 1, "container_moves": 1,
        "trucks": 1, "wall_events": 1,
    }  # fmt: skip
    assert abs(purge.cutoff - (now - 90 * DAY)) < 1e-6
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        assert _count(conn, "SELECT count(*) FROM parcels WHERE barcode LIKE 'OLD-%'") == 1
        assert _count(conn, "SELECT count(*) FROM parcel_events WHERE uid = 200") == 2
        assert _count(conn, "SELECT count(*) FROM parcel_events WHERE uid BETWEEN 100 AND 104") == 0
        assert _count(conn, "SELECT count(*) FROM parcels WHERE barcode LIKE 'BC-%'") == 5
        assert _count(conn, "SELECT count(*) FROM trucks") == 3  # the two recent, T2
        assert _count(conn, "SELECT count(*) FROM containers WHERE container_id = 'C2'") == 1
        assert _count(conn, "SELECT count(*) FROM wall_events") == 1
        # the counters count every parcel ever relayed: the purge leaves them
        assert conn.execute("SELECT line, state, n FROM parcel_state_counts").fetchall() == counts
    again = await retention.purge_once(now)
    assert again.total == 0
    assert retention.deleted["parcels"] == 5 and retention.last is again


async def test_a_store_that_cannot_be_reached_is_a_clear_error():
    retention = StoreRetention("postgresql://lanesort@127.0.0.1:1/site", None, 30)
    with pytest.raises(SiteStoreUnavailable, match=r"PostgreSQL at 127\.0\.0\.1:1/site"):
        await retention.purge_once()
    assert retention.last_error


def test_the_retention_is_on_by_default_and_off_with_null(tmp_path):
    url = "postgresql://lanesort@127.0.0.1:1/site"
    on = Site.from_config(site_config(url), env={}, data_dir=tmp_path)
    assert on.retention is not None and on.retention.retention_s == 90 * DAY
    postgres = {"url": url, "retention_days": None}
    off = Site.from_config(site_config(url, postgres=postgres), env={}, data_dir=tmp_path)
    assert off.retention is None
