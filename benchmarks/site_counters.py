"""The site's counters at a day of a hub: what keeping them costs and what reading them takes.

Starts a PostgreSQL of its own, creates the site schema, and fills ``parcels`` with
``--parcels`` rows over ``--lines`` lines (inserted in state ``inducted``, then moved to a
terminal state, as the relays' upserts do, 500 a transaction), spread over the last day.
Prints:

- the PostgreSQL time per parcel of those two statements with the counts trigger
  (:mod:`controller.site.schema`) and without it (the trigger disabled, the same rows);
- the site service's counters (:meth:`SiteStore.counters`, read from the kept counts)
  against the scan of ``parcels`` the counters were before (median of ``--reads``), and
  that both give the same figures.

::

    python benchmarks/site_counters.py [--parcels 1000000] [--lines 20] [--reads 5]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time

import psycopg

from controller.cli.ports import free_port
from controller.site.schema import SCHEMA, TERMINAL_STATES
from controller.site.service.store import SiteStore
from drivers.postgres.server import PostgresServer

_FILL = """
INSERT INTO parcels(line, session, uid, tracking_id, state, inducted, updated, last_sequence)
SELECT 'line-' || (g %% %(lines)s + 1), 1, g, g, 'inducted', %(t0)s + g * %(step)s,
       %(t0)s + g * %(step)s, g
FROM generate_series(%(first)s::BIGINT, %(last)s::BIGINT) AS g
"""
_FINISH = """
UPDATE parcels SET state = (ARRAY['sorted', 'sorted', 'sorted', 'rejected', 'lost'])[uid %% 5 + 1],
    updated = updated + 20, last_sequence = last_sequence + 1
WHERE uid BETWEEN %(first)s AND %(last)s
"""
_SCAN_STATES = "SELECT line, state, count(*) AS n FROM parcels GROUP BY line, state"
_SCAN_HOUR = (
    "SELECT line, count(*) AS n FROM parcels WHERE state = ANY(%s) AND updated >= %s GROUP BY line"
)


BATCH = 500
"""Parcels a transaction, as a relay's batch carries at most (its ``batch_rows``)."""


def _fill(conn: psycopg.Connection, first: int, last: int, lines: int, t0: float, step: float):
    """Insert parcels ``first``..``last`` and move them to a terminal state, :data:`BATCH`
    a transaction; seconds taken."""
    started = time.perf_counter()
    for low in range(first, last + 1, BATCH):
        params = {"first": low, "last": min(last, low + BATCH - 1), "lines": lines}
        with conn.transaction():
            conn.execute(_FILL, params | {"t0": t0, "step": step})
            conn.execute(_FINISH, params)
    return time.perf_counter() - started


async def _reads(store: SiteStore, reads: int) -> float:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        await store.counters()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _scans(store: SiteStore, reads: int, now: float) -> tuple[float, dict, dict]:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        states = await store.fetch(_SCAN_STATES)
        hour = await store.fetch(_SCAN_HOUR, (list(TERMINAL_STATES), now - 3600))
        times.append(time.perf_counter() - started)
    by_state = {(r["line"], r["state"]): r["n"] for r in states}
    return statistics.median(times), by_state, {r["line"]: r["n"] for r in hour}


async def main() -> None:
    """Fill, time, compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--reads", type=int, default=5)
    args = parser.parse_args()
    n = args.parcels
    now = time.time()
    step = 86_400 / n  # a day of parcels, the newest now
    t0 = now - 86_400
    with PostgresServer(free_port(), "bench-" + secrets.token_hex(6)) as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(SCHEMA)
            sample = max(BATCH, n // 20)
            # the same number of rows without and with the trigger, on the same table size
            conn.execute("ALTER TABLE parcels DISABLE TRIGGER parcels_count")
            without = _fill(conn, 1, sample, args.lines, t0, step)
            conn.execute("DELETE FROM parcels")
            conn.execute("ALTER TABLE parcels ENABLE TRIGGER parcels_count")
            with_trigger = _fill(conn, 1, sample, args.lines, t0, step)
            print(
                f"inserting and finishing {sample} parcels: {without / sample * 1e6:.1f} us"
                f" a parcel without the counts trigger, {with_trigger / sample * 1e6:.1f} us"
                " with it"
            )
            chunk = 100_000
            for first in range(sample + 1, n + 1, chunk):
                _fill(conn, first, min(n, first + chunk - 1), args.lines, t0, step)
            conn.execute("VACUUM ANALYZE")
        store = SiteStore(server.url, server.password)
        try:
            kept_s = await _reads(store, args.reads)
            counters = await store.counters()
            scan_s, by_state, by_hour = await _scans(store, args.reads, counters["time"])
        finally:
            await store.close()
    kept_states = {
        (line, state): count
        for line, entry in counters["lines"].items()
        for state, count in entry["states"].items()
    }
    kept_hour = {line: e["last_hour"] for line, e in counters["lines"].items() if e["last_hour"]}
    print(
        f"counters over {n} parcels, {args.lines} lines: {kept_s * 1000:.1f} ms from the kept"
        f" counts, {scan_s * 1000:.1f} ms scanning parcels (median of {args.reads})"
    )
    print(
        f"same counts by line and state: {kept_states == by_state}; last hour"
        f" {sum(kept_hour.values())} (whole minutes) against {sum(by_hour.values())}"
        " (to the second)"
    )


if __name__ == "__main__":
    asyncio.run(main())
