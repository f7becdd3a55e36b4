"""Event-loop cost of keeping camera images: CPU time of the loop's thread per parcel.

Runs :meth:`controller.journal.images.ImageStore.keep` for ``--parcels`` parcels (one real
1280x1024 label JPEG each, from the camera simulator's renderer) against a real journal,
with a small ``max_count`` so that pruning runs too, ``--concurrency`` parcels at a time
as on a busy line. Prints the CPU time the event loop's thread spent per parcel
(``time.thread_time``: the encoding happened before, in the camera driver's worker
thread; the file writes, the SQLite statements and the unlinks run in other threads, so
what is left is the loop's own work: formatting paths, thread hand-offs, queue puts,
barriers), the same for a run that does nothing (the harness) and for a run that only
hands a no-op to a thread per parcel (the floor of any off-loop work); then, in a second
run of each, how late a 1 ms ticker on the same loop woke up (p99 and max).

    python benchmarks/image_loop_cost.py [--parcels 2000] [--concurrency 4] [--max-count 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.journal.images import SCHEMA, ImageStore
from controller.journal.writer import Journal
from drivers.camera.jpeg import encode_jpeg
from plc_configs.sections import ImagesSection
from simulators.camera import label_frame


async def _ticker(lags: list[float]) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - before - 0.001)


def _noop() -> None:
    pass


async def run(
    parcels: int, concurrency: int, max_count: int, mode: str, tick: bool
) -> dict[str, float]:
    """One run of ``mode`` (harness, thread hop, keep images): loop CPU per parcel, lag."""
    image = encode_jpeg(label_frame("LS0000000001"))
    assert image is not None
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "journal.sqlite", "bench")
        journal.add_schema(SCHEMA)
        await journal.open()
        store = ImageStore(Path(folder) / "images", ImagesSection(max_count=max_count), journal)
        lags: list[float] = []
        ticker = asyncio.create_task(_ticker(lags)) if tick else None
        queue = iter(range(1, parcels + 1))

        async def worker() -> None:
            for uid in queue:
                if mode == "keep images":
                    await store.keep(uid, [("cam", image)], time.monotonic())
                elif mode == "thread hop":
                    await asyncio.to_thread(_noop)
                else:
                    await asyncio.sleep(0)

        cpu, wall = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await journal.barrier()
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        await journal.close()
        return {
            "loop_cpu_us": cpu / parcels * 1e6,
            "wall_ms": wall / parcels * 1e3,
            "lag_p99_ms": statistics.quantiles(lags, n=100)[98] * 1e3 if len(lags) > 100 else 0,
            "lag_max_ms": max(lags, default=0) * 1e3,
            "pruned": store.pruned,
            "bytes": len(image),
        }


def main() -> None:
    """Print the figures of each mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-count", type=int, default=500)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.parcels} parcels")
    for mode in ("harness", "thread hop", "keep images"):
        r = asyncio.run(run(args.parcels, args.concurrency, args.max_count, mode, False))
        lag = asyncio.run(run(args.parcels, args.concurrency, args.max_count, mode, True))
        print(
            f"{mode:11}: loop thread CPU {r['loop_cpu_us']:6.1f} us/parcel, wall "
            f"{r['wall_ms']:.2f} ms/parcel, {r['pruned']:.0f} pruned; ticker late p99 "
            f"{lag['lag_p99_ms']:.2f} ms, max {lag['lag_max_ms']:.2f} ms"
        )
    print(f"(one image: {r['bytes']:.0f} bytes)")


if __name__ == "__main__":
    main()
