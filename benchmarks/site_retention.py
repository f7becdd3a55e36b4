"""The site store's retention at work: how fast old rows go, and how long one batch holds.

Starts a PostgreSQL of its own, creates the site schema, and fills ``--parcels`` parcels
(5 events each, as a line relays them) spread evenly over ``--days`` days, then runs the
site service's retention (:class:`~controller.site.service.retention.StoreRetention`)
with half that many days, so half the rows go. Prints the rows deleted, the time taken,
rows a second, and the longest batch (one transaction).

::

    python benchmarks/site_retention.py [--parcels 200000] [--days 10] [--batch-rows 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

import psycopg

from controller.cli.ports import free_port
from controller.site.schema import SCHEMA
from controller.site.service.retention import StoreRetention
from drivers.postgres.server import PostgresServer

_PARCELS = """
INSERT INTO parcels(line, session, uid, tracking_id, barcode, state, inducted, updated,
                    last_sequence)
SELECT 'line-' || (g %% 20 + 1), 1, g, g, 'B' || g, 'sorted', %(t0)s + g * %(step)s,
       %(t0)s + g * %(step)s + 20, 5 * g + 4
FROM generate_series(%(first)s::BIGINT, %(last)s::BIGINT) AS g
"""
_EVENTS = """
INSERT INTO parcel_events(line, sequence, session, uid, tracking_id, time, kind, state,
                          relayed)
SELECT 'line-' || (g %% 20 + 1), 5 * g + k, 1, g, g, %(t0)s + g * %(step)s + 5 * k,
       (ARRAY['inducted', 'identified', 'measured', 'assigned', 'terminal'])[k + 1],
       (ARRAY['inducted', 'identified', 'measured', 'assigned', 'sorted'])[k + 1],
       %(t0)s + g * %(step)s + 5 * k
FROM generate_series(%(first)s::BIGINT, %(last)s::BIGINT) AS g, generate_series(0, 4) AS k
"""


async def main() -> None:
    """Fill, purge, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--batch-rows", type=int, default=5000)
    args = parser.parse_args()
    n, now = args.parcels, time.time()
    t0 = now - args.days * 86_400
    step = args.days * 86_400 / n
    with PostgresServer(free_port(), "bench-" + secrets.token_hex(6)) as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(SCHEMA)
            filled = time.perf_counter()
            for first in range(1, n + 1, 50_000):
                params = {"first": first, "last": min(n, first + 49_999), "t0": t0, "step": step}
                conn.execute(_PARCELS, params)
                conn.execute(_EVENTS, params)
            conn.execute("VACUUM ANALYZE")
            print(
                f"filled {n} parcels and {5 * n} events over {args.days:g} days"
                f" in {time.perf_counter() - filled:.1f} s"
            )
        retention = StoreRetention(
            server.conninfo(), None, args.days / 2, batch_rows=args.batch_rows
        )
        purge = await retention.purge_once(now)
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            left = conn.execute("SELECT count(*) FROM parcels").fetchone()
    rows = purge.total
    print(
        f"retention of {args.days / 2:g} days: deleted {purge.deleted.get('parcels', 0)} parcels"
        f" and {purge.deleted.get('parcel_events', 0)} events in {purge.seconds:.1f} s"
        f" ({rows / purge.seconds:,.0f} rows/s, batches of {args.batch_rows} parcels,"
        f" pauses included); longest batch {purge.longest_batch_s * 1000:.0f} ms;"
        f" {left[0] if left else '?'} parcels left"
    )


if __name__ == "__main__":
    asyncio.run(main())
