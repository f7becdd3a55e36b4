"""Keeping the site store's size bounded: rows older than ``postgres.retention_days`` go.

A hub of 20 lines at a million parcels a day relays about six million rows a day; kept
forever they fill the disk. :class:`StoreRetention` deletes, once at start-up and then
every ``postgres.purge_every_h``:

- parcels whose last update *and* induction are older than the retention, with their
  events (one statement: the parcel rows and the events of exactly those parcels, so a
  lookup never shows a parcel with part of its history);
- containers closed, container moves, trucks' loading summaries and put-wall events older
  than the retention.

Each batch (``batch_rows`` rows of one table) is its own short transaction: it locks only
the rows it deletes, which no relay writes any more (they write new rows), and a pause
between batches leaves the server to the relays. ``python benchmarks/site_retention.py``:
342,000 rows a second, the longest batch (5,000 parcels and their 25,000 events) 78 ms.
The block-range (BRIN) indexes on the time columns (:mod:`controller.site.schema`) let a
batch find its rows without reading the whole table.

The counters are not touched: ``parcel_state_counts`` counts every parcel ever relayed
(the trigger counts inserts and updates, not deletes), so the site's totals stay the sum
of what the lines sorted. A line that relays rows older than the retention (it was cut off
longer than that) has them purged again at the next pass.

This is the only part of the site service that writes: it has its own connection (the
reads use a read-only one), so its database user needs ``DELETE`` on these tables.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.store import connect_options, short_error, where_of

log = logging.getLogger("lanesort.site")

PURGE_PARCELS = """
WITH gone AS (
    DELETE FROM parcels WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM parcels WHERE inducted < %(cutoff)s AND updated < %(cutoff)s
        LIMIT %(rows)s))
    RETURNING line, session, uid),
events AS (
    DELETE FROM parcel_events e USING gone g
    WHERE e.line = g.line AND e.session = g.session AND e.uid = g.uid
    RETURNING 1)
SELECT (SELECT count(*) FROM gone) AS parcels, (SELECT count(*) FROM events) AS events
"""
"""One batch of parcels and their events; the counts of each."""

_OLD_ROWS = {
    "containers": "closed",
    "container_moves": "time",
    "trucks": "time",
    "wall_events": "time",
}
"""The other tables the retention applies to, and the time column each is aged by."""


def purge_rows(table: str) -> str:
    """One batch of ``table``'s rows older than the cutoff (``_OLD_ROWS``: its time column)."""
    column = _OLD_ROWS[table]
    return (
        f"WITH gone AS (DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE {column} < %(cutoff)s LIMIT %(rows)s)) RETURNING 1)"
        " SELECT count(*) AS n FROM gone"
    )


@dataclass
class Purge:
    """What one pass deleted, per table, and how long it took."""

    cutoff: float
    deleted: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    longest_batch_s: float = 0.0
    """The longest batch (one transaction) of the pass."""

    @property
    def total(self) -> int:
        """Rows deleted in all."""
        return sum(self.deleted.values())


class StoreRetention:
    """Deletes the site store's rows older than ``retention_days`` (see the module)."""

    def __init__(
        self,
        conninfo: str,
        password: str | None,
        retention_days: float,
        every_s: float = 3600.0,
        batch_rows: int = 5000,
        pause_s: float = 0.05,
        connect_timeout_s: float = 3.0,
    ):
        self.conninfo = conninfo
        self.where = where_of(conninfo)
        self._password = password
        self.retention_s = retention_days * 86400
        self.every_s = every_s
        self.batch_rows = batch_rows
        self.pause_s = pause_s
        self._timeout = connect_timeout_s
        self.deleted: dict[str, int] = {}
        """Rows deleted per table since the service started (for /metrics)."""
        self.last: Purge | None = None
        self.last_error: str | None = None

    async def purge_once(self, now: float | None = None) -> Purge:
        """One pass over every table; :class:`SiteStoreUnavailable` when PostgreSQL cannot
        be reached or refuses (what was deleted before stays deleted)."""
        began = time.monotonic()
        purge = Purge((time.time() if now is None else now) - self.retention_s)
        params = {"cutoff": purge.cutoff, "rows": self.batch_rows}
        options = connect_options(self._password, self._timeout)
        passes = [(("parcels", "parcel_events"), PURGE_PARCELS)]
        passes += [((table,), purge_rows(table)) for table in _OLD_ROWS]
        try:
            async with await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, **options
            ) as conn:
                for tables, sql in passes:  # batches until one is not full
                    while True:
                        row = await self._batch(conn, purge, sql, params)
                        counts = [int(n) for n in row] if row else [0] * len(tables)
                        for table, n in zip(tables, counts, strict=True):
                            self._count(purge, table, n)
                        if counts[0] < self.batch_rows:
                            break
                        await asyncio.sleep(self.pause_s)
        except psycopg.Error as err:
            self.last_error = short_error(err)
            raise SiteStoreUnavailable(
                f"the site store (PostgreSQL at {self.where}) could not be purged: "
                f"{self.last_error}"
            ) from err
        purge.seconds = time.monotonic() - began
        self.last, self.last_error = purge, None
        return purge

    @staticmethod
    async def _batch(
        conn: psycopg.AsyncConnection, purge: Purge, sql: str, params: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        began = time.monotonic()
        row = await (await conn.execute(sql, params)).fetchone()
        purge.longest_batch_s = max(purge.longest_batch_s, time.monotonic() - began)
        return row

    def _count(self, purge: Purge, table: str, n: int) -> None:
        purge.deleted[table] = purge.deleted.get(table, 0) + n
        self.deleted[table] = self.deleted.get(table, 0) + n

    async def run(self) -> None:
        """A pass now and every ``every_s`` until cancelled; a failed one is logged and
        tried again at the next."""
        days = self.retention_s / 86400
        while True:
            try:
                purge = await self.purge_once()
            except SiteStoreUnavailable as err:
                log.warning("site store retention: %s (tried again in %.0f s)", err, self.every_s)
            else:
                if purge.total:
                    done = ", ".join(f"{n} {t}" for t, n in purge.deleted.items() if n)
                    log.info(
                        "site store retention: deleted %s older than %g days in %.1f s",
                        done,
                        days,
                        purge.seconds,
                    )
            await asyncio.sleep(self.every_s)
