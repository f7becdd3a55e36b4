"""What one manifest route lookup costs: ``ManifestStore.route_of``, the decision path's query.

Fills a manifest store (real SQLite file, WAL, in a temporary directory) with random
barcodes in random order, as a TMS export has them, then times ``route_of`` call by
call: one barcode again and again (pages cached), random barcodes back to back (hits),
barcodes that are not there (misses), and the first lookup after the thread has idled
for a while (cold CPU caches, as on a line between two parcels). Prints the mean, p50,
p99 and max per call in µs.

Run from the repository root with the venv active::

    python benchmarks/manifest_lookup.py                      # 1,000,000 rows, 1-2 min
    python benchmarks/manifest_lookup.py --rows 100000 --lookups 20000 --idle-ms 5
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.manifest.rows import ManifestRow
from controller.manifest.store import ManifestStore


def _barcodes(rows: int, rng: random.Random) -> list[str]:
    return [f"JD{rng.getrandbits(60):018d}" for _ in range(rows)]


def _time_calls(lookup: Callable[[str], object], barcodes: list[str], idle_s: float) -> list[float]:
    """Per-call time of ``lookup`` in µs, sleeping ``idle_s`` before each call."""
    costs = []
    for barcode in barcodes:
        if idle_s:
            time.sleep(idle_s)
        started = time.perf_counter_ns()
        lookup(barcode)
        costs.append((time.perf_counter_ns() - started) / 1000)
    return costs


def _row(name: str, costs: list[float]) -> str:
    ordered = sorted(costs)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))]
    return (
        f"{name:<28} n={len(costs):>7,}  mean {statistics.fmean(costs):7.1f}  "
        f"p50 {statistics.median(costs):7.1f}  p99 {p99:7.1f}  max {ordered[-1]:8.1f}  µs"
    )


def main() -> int:
    """Build the store, time the lookups, print one row per kind of lookup."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="barcodes in the manifest")
    parser.add_argument("--lookups", type=int, default=50_000, help="calls per back-to-back row")
    parser.add_argument("--idle-ms", type=float, default=20.0, help="idle before a cold call")
    parser.add_argument("--cold", type=int, default=500, help="calls after idling")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {args.rows:,} rows"
    )
    with tempfile.TemporaryDirectory(prefix="lanesort-lookup-bench-") as tmp:
        store = ManifestStore(Path(tmp) / "manifest.sqlite")
        store.open()
        try:
            codes = _barcodes(args.rows, rng)
            rows: Iterator[ManifestRow] = (
                ManifestRow(code, f"R{i % 60:02d}") for i, code in enumerate(codes)
            )
            started = time.perf_counter()
            store.upsert(rows)
            print(f"filled in {time.perf_counter() - started:.1f} s")
            hits = [rng.choice(codes) for _ in range(args.lookups)]
            misses = [code + "X" for code in hits]
            print(
                _row("one barcode, again", _time_calls(store.route_of, hits[:1] * args.lookups, 0))
            )
            print(_row("random hits, back to back", _time_calls(store.route_of, hits, 0)))
            print(_row("misses, back to back", _time_calls(store.route_of, misses, 0)))
            cold = _time_calls(store.route_of, hits[: args.cold], args.idle_ms / 1000)
            print(_row(f"hit after {args.idle_ms:g} ms idle", cold))
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
