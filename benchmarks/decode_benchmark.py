"""Decode throughput and latency of the camera decoders on 1280x1024 frames (not a test).

For each back-end (zxing-cpp, zbar through pyzbar) and each frame (one Code 128 label at
0, 30 and 90 degrees, and an empty parcel with no label), ``--n`` decodes run through a
pool of 2 worker *threads* (both libraries release the GIL while decoding, so threads use
both cores without pickling frames to processes), deskew on, as the camera driver runs
them. The table gives frames per second over the whole batch, p50/p99 of the time one
decode took inside its worker, and the share of frames read. Then the read rate on a
damaged-label set (random angles; scratched, blurred, low contrast, perspective,
destroyed) for each back-end.

Run from the repository root::

    python benchmarks/decode_benchmark.py [--n 400] [--workers 2] [--cv-threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.camera import make_decoder
from simulators.camera.labels import label_text
from simulators.camera.scene import Distortion, label_frame, render_frame

BARCODE = "LS0123456789"
DAMAGED_SET = {
    "scratched 0.3": {"damage": 0.3},
    "blur 1.5": {"blur": 1.5},
    "contrast 0.25": {"contrast": 0.25},
    "perspective 6%": {"perspective": 0.06},
    "noise 12": {"noise": 12.0},
    "destroyed 0.9": {"damage": 0.9},
}


def percentile(values: list[float], q: float) -> float:
    """The q quantile (0..1), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def throughput(backend: str, frame: np.ndarray, n: int, workers: int) -> tuple[float, ...]:
    """(frames/s, p50 ms, p99 ms, read share) for n decodes of one frame."""
    decoder = make_decoder(backend)

    def one(_: int) -> tuple[float, int]:
        t0 = time.perf_counter()
        reads = decoder.decode(frame)
        return time.perf_counter() - t0, sum(r.data == BARCODE for r in reads)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(workers * 4)))  # warm up
        start = time.perf_counter()
        results = list(pool.map(one, range(n)))
        wall = time.perf_counter() - start
    times = [t * 1000 for t, _ in results]
    return (
        n / wall,
        percentile(times, 0.5),
        percentile(times, 0.99),
        statistics.mean(min(1, hits) for _, hits in results),
    )


def damaged_rates(backend: str, per_case: int) -> dict[str, float]:
    """Share of damaged-label frames (random angles) whose label is read, per case."""
    decoder = make_decoder(backend)
    rng = random.Random(11)
    rates = {}
    for name, kwargs in DAMAGED_SET.items():
        hits = 0
        for i in range(per_case):
            code = f"LS{rng.randrange(10**10):010d}"
            d = Distortion(angle=rng.uniform(0, 360), **kwargs)
            frame = label_frame(code, "code128", d, seed=i)
            hits += any(r.data == label_text(code, "code128")[1] for r in decoder.decode(frame))
        rates[name] = hits / per_case
    return rates


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="decodes per back-end and frame")
    parser.add_argument("--workers", type=int, default=2, help="worker threads")
    parser.add_argument("--damaged", type=int, default=30, help="frames per damaged case")
    parser.add_argument(
        "--cv-threads", type=int, default=-1, help="cv2.setNumThreads (-1: leave OpenCV's)"
    )
    args = parser.parse_args()
    if args.cv_threads >= 0:
        cv2.setNumThreads(args.cv_threads)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, OpenCV {cv2.__version__} "
        f"({cv2.getNumThreads()} threads), {args.workers} worker threads, n={args.n}, "
        "frames 1280x1024, deskew on"
    )
    frames = {
        "code128 0deg": label_frame(BARCODE, "code128", Distortion(angle=0)),
        "code128 30deg": label_frame(BARCODE, "code128", Distortion(angle=30)),
        "code128 90deg": label_frame(BARCODE, "code128", Distortion(angle=90)),
        "empty parcel": render_frame([]),
    }
    print(
        f"\n{'back-end':<8} {'frame':<14} {'frames/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'read':>6}"
    )
    for backend in ("zxing", "pyzbar"):
        for name, frame in frames.items():
            fps, p50, p99, read = throughput(backend, frame, args.n, args.workers)
            shown = "-" if name == "empty parcel" else f"{read:.0%}"
            print(f"{backend:<8} {name:<14} {fps:>9.0f} {p50:>7.1f} {p99:>7.1f} {shown:>6}")
    print(f"\nread rate, damaged Code 128 labels at random angles ({args.damaged} per case)")
    print(f"{'case':<16} {'zxing':>6} {'pyzbar':>7}")
    rates = {b: damaged_rates(b, args.damaged) for b in ("zxing", "pyzbar")}
    for case in DAMAGED_SET:
        print(f"{case:<16} {rates['zxing'][case]:>6.0%} {rates['pyzbar'][case]:>7.0%}")


if __name__ == "__main__":
    main()
