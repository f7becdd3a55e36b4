"""Webhook delivery rate and backlog drain time after a 10-minute TMS outage.

A 10-minute outage at 150,000 parcels/hour leaves 25,000 parcels' events in the
outbox (``parcel.measured`` plus ``parcel.sorted``/``rejected``: 50,000 events).
This script journals that backlog through the real :class:`Journal` (so the
outbox rows are exactly what the controller writes), starts the reference TMS
simulator as its own process, and runs :class:`UpstreamDelivery` until the
outbox is empty. Prints the drain time, the delivery rate and what the TMS saw.

    python benchmarks/webhook_drain.py                     # 25,000 parcels, 4 lanes
    python benchmarks/webhook_drain.py --parcels 5000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from controller.alarms.board import AlarmBoard
from controller.journal.writer import Journal
from controller.parcels.decision import Decision, Identification
from controller.parcels.measurement import Measurement
from controller.parcels.state import ParcelTracker
from controller.upstream.delivery import UpstreamDelivery
from drivers.scale.base import Weight, WeightMode
from plc_configs.contract import SortResult
from plc_configs.integration import UpstreamSection


async def _backlog(path: Path, parcels: int) -> int:
    journal = Journal(path, "bench-line")
    await journal.open()
    tracker = ParcelTracker()
    weight = Weight(Decimal("1.234"), Decimal("1.234"), "kg", True, WeightMode.GROSS, False,
                    "S S      1.234 kg")  # fmt: skip
    for i in range(1, parcels + 1):
        now = float(i)
        parcel, events = tracker.on_scan(i, now)
        barcode = f"BC{i:010d}"
        events += tracker.on_identified(parcel, Identification(barcode), (), "", now)
        events += tracker.on_measured(parcel, Measurement(weight=weight, weight_device="s"), now)
        parcel, more = tracker.on_request(i, now + 0.1)
        events += more + tracker.on_answered(parcel, Decision(3, "R03", None), now + 0.101)
        events += tracker.on_confirmation(i, 3, SortResult.DIVERTED, now + 0.5)
        journal.extend(events)
        if i % 2000 == 0:
            await journal.barrier()
    await journal.barrier()
    await journal.close()
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    finally:
        conn.close()


def _pending(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    finally:
        conn.close()


async def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=25_000)
    parser.add_argument("--concurrency", type=int, default=UpstreamSection().concurrency)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lanesort-drain-bench-"))
    db = work / "journal.sqlite"
    t0 = time.perf_counter()
    events = await _backlog(db, args.parcels)
    print(f"backlog: {events:,} events of {args.parcels:,} parcels "
          f"journaled in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    tms = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.tms", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert tms.stdout is not None
    ready = json.loads(await tms.stdout.readline())
    config = UpstreamSection(webhook_url=ready["webhook_url"], concurrency=args.concurrency)
    delivery = UpstreamDelivery(config, db, AlarmBoard())
    started = time.perf_counter()
    task = asyncio.create_task(delivery.run())
    left = events
    while left:
        await asyncio.sleep(0.25)
        left = await asyncio.to_thread(_pending, db)
    drained = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with httpx.AsyncClient() as client:
        stats = (await client.get(f"{ready['control_url']}/stats")).json()
    tms.terminate()
    await tms.wait()
    print(
        f"drained {events:,} events in {drained:.1f} s = {events / drained:,.0f} events/s "
        f"with {args.concurrency} lanes (150,000 parcels/h produce ~83 events/s)"
    )
    print(
        f"TMS: received {stats['received']:,}, duplicates {stats['duplicates']}, order "
        f"violations {stats['order_violations']}, gaps {stats['sequence_gaps']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
