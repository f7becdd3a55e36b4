"""The site relay: rows per second into PostgreSQL, and the lag at a steady parcel rate.

Starts a PostgreSQL cluster of its own (``initdb`` in a temporary directory), journals
parcels through the real :class:`Journal` and runs :class:`SiteRelay` against it:

1. **Drain**: ``--parcels`` parcels (about 5 events each) journaled first, then the relay
   started; prints the time to relay them all and the rows per second (events + the
   ``parcels`` upserts are counted as the events' rows).
2. **Steady**: parcels journaled at ``--rate`` per second for ``--seconds``, the relay woken
   by each journal commit; prints the lag p50/p99 (journal event time → the row's commit
   in PostgreSQL).

    python benchmarks/site_relay.py                      # 5,000 parcels; 10/s for 20 s
    python benchmarks/site_relay.py --parcels 20000 --rate 40 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path

from controller.cli.ports import free_port
from controller.journal.writer import Journal
from controller.parcels.decision import Decision, Identification
from controller.parcels.state import ParcelEvent, ParcelTracker
from controller.site.relay import SiteRelay
from drivers.postgres.server import PostgresServer
from plc_configs.contract import SortResult

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every descendant still running."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
        todo += [int(k) for k in kids]
    return total


def _parcel(tracker: ParcelTracker, tid: int, now: float) -> list[ParcelEvent]:
    barcode = f"LS{tid:08d}"
    parcel, events = tracker.on_scan(tid % 60000 + 1, now)
    events += tracker.on_identified(
        parcel, Identification(barcode), ((barcode, "]C0", "reader"),), "raw", now
    )
    parcel, more = tracker.on_request(tid % 60000 + 1, now)
    events += more
    events += tracker.on_answered(parcel, Decision(3, "R03", None), now)
    events += tracker.on_confirmation(tid % 60000 + 1, 3, SortResult.DIVERTED, now)
    return events


async def _caught_up(relay: SiteRelay) -> None:
    """Poll the relay's stats (its thread has no event to await) until its backlog is 0."""
    while True:
        stats = relay.stats()
        if stats.connected and stats.backlog["events"] == 0 and stats.rows["events"]:
            return
        await asyncio.sleep(0.02)


async def _drain(server: PostgresServer, directory: Path, parcels: int) -> None:
    journal = Journal(directory / "drain.sqlite", "drain")
    await journal.open()
    tracker = ParcelTracker()
    for tid in range(parcels):
        journal.extend(_parcel(tracker, tid, time.monotonic()))
        if tid % 1000 == 999:
            await journal.barrier()
    await journal.barrier()
    await journal.close()
    relay = SiteRelay(
        "drain", "bench", journal.path, server.url, password=server.password, batch_rows=500
    )
    assert server.pid is not None
    pg_before, us_before = _cpu_s(server.pid), time.process_time()
    started = time.perf_counter()
    relay.start()
    await _caught_up(relay)
    elapsed = time.perf_counter() - started
    pg_cpu, our_cpu = _cpu_s(server.pid) - pg_before, time.process_time() - us_before
    relay.stop()
    stats = relay.stats()
    rows = stats.rows["events"]
    print(
        f"drain: {parcels} parcels, {rows} event rows (+ {parcels} parcel upserts) in "
        f"{elapsed:.2f} s: {rows / elapsed:,.0f} event rows/s, "
        f"{(rows + parcels) / elapsed:,.0f} rows/s written, {stats.batches} transactions "
        "(connect and schema included)"
    )
    print(
        f"drain CPU: PostgreSQL {pg_cpu / rows * 1e6:.0f} us per event row "
        f"({pg_cpu:.2f} s), the relay (this process) {our_cpu / rows * 1e6:.0f} us per event row "
        f"({our_cpu:.2f} s); the parcels upserts ride on the event rows"
    )


async def _steady(server: PostgresServer, directory: Path, rate: float, seconds: float) -> None:
    journal = Journal(directory / "steady.sqlite", "steady")
    await journal.open()
    relay = SiteRelay(
        "steady", "bench", journal.path, server.url, password=server.password, interval_s=0.2
    )
    journal.commit_listeners.append(relay.wake)
    relay.start()
    tracker = ParcelTracker()
    count = int(rate * seconds)
    t0 = time.monotonic()
    for tid in range(count):
        await asyncio.sleep(max(0.0, t0 + tid / rate - time.monotonic()))
        journal.extend(_parcel(tracker, tid, time.monotonic()))
    await journal.barrier()
    await _caught_up(relay)
    await asyncio.sleep(0.3)
    stats = relay.stats()
    relay.stop()
    await journal.close()
    p50 = (stats.lag_p50_s or 0) * 1000
    p99 = (stats.lag_p99_s or 0) * 1000
    print(
        f"steady: {count} parcels at {rate:g}/s ({stats.rows['events']} event rows, "
        f"{stats.batches} transactions): relay lag p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        "(journal event time to commit in PostgreSQL)"
    )


async def main() -> None:
    """Run both measurements on a PostgreSQL of our own."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        PostgresServer(free_port(), "bench-" + secrets.token_hex(6)) as server,
    ):
        await _drain(server, Path(tmp), args.parcels)
        await _steady(server, Path(tmp), args.rate, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
