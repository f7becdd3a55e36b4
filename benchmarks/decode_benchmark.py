"""Decode throughput and latency of the camera decoders on 1280x1024 frames (not a test).

For each back-end (zxing-cpp, zbar through pyzbar) and each frame (one Code 128 label at
0, 30 and 90 degrees, the blurred Data Matrix label at 26.1 degrees of the decoder tests,
a destroyed label, and an empty parcel with no label), ``--n`` decodes run through a
pool of 2 worker *threads* (both libraries release the GIL while decoding, so threads use
both cores without pickling frames to processes), deskew on, as the camera driver runs
them. The table gives frames per second over the whole batch, p50/p99 of the time one
decode took inside its worker, the median CPU time of one decode (``time.thread_time``:
steady on a shared, loaded machine where wall times are not) and the share of frames
read. Then the read rate on damaged-label sets at random angles (Code 128: scratched,
blurred, low contrast, perspective, noise, destroyed; Data Matrix and QR: blurred, low
contrast, scratched) for each back-end.

``--compare`` adds the zxing decoder with only the upsampled retry off (``upscale=1``)
as ``zxing 1x`` to both tables; ``--upscale X`` sets the retry scale of every decoder
(1 = off). With neither, the decoders are built with ``make_decoder``'s defaults, so the
script also runs against an older tree of ``drivers``/``simulators`` (copy it next to
a ``benchmarks`` folder holding this script) for a full before/after.

Run from the repository root::

    python benchmarks/decode_benchmark.py [--n 400] [--workers 2] [--cv-threads 1] [--compare]
"""

from __future__ import annotations

import argparse
import importlib.metadata
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

from drivers.camera import Decoder, make_decoder
from simulators.camera.labels import label_text
from simulators.camera.scene import Distortion, label_frame, render_frame

BARCODE = "LS0123456789"
DM_BARCODE = "LS0000001011"
"""The frame test_zxing_distorted[datamatrix-blur 1.2] missed on zxing-cpp 3.1.1 / OpenCV 5.1."""
DAMAGED_SET: dict[str, dict[str, dict[str, float]]] = {
    "code128": {
        "scratched 0.3": {"damage": 0.3},
        "blur 1.5": {"blur": 1.5},
        "contrast 0.25": {"contrast": 0.25},
        "perspective 6%": {"perspective": 0.06},
        "noise 12": {"noise": 12.0},
        "destroyed 0.9": {"damage": 0.9},
    },
    "datamatrix": {
        "blur 1.2": {"blur": 1.2},
        "blur 1.5": {"blur": 1.5},
        "contrast 0.3": {"contrast": 0.3},
        "scratched 0.3": {"damage": 0.3},
    },
    "qr": {
        "blur 1.5": {"blur": 1.5},
        "contrast 0.25": {"contrast": 0.25},
        "scratched 0.3": {"damage": 0.3},
    },
}


def percentile(values: list[float], q: float) -> float:
    """The q quantile (0..1), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def throughput(
    decoder: Decoder, frame: np.ndarray, expected: str, n: int, workers: int
) -> tuple[float, ...]:
    """(frames/s, p50 ms, p99 ms, CPU ms p50, read share) for n decodes of one frame."""

    def one(_: int) -> tuple[float, float, int]:
        t0, c0 = time.perf_counter(), time.thread_time()
        reads = decoder.decode(frame)
        cpu = time.thread_time() - c0
        return time.perf_counter() - t0, cpu, sum(r.data == expected for r in reads)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(workers * 4)))  # warm up
        start = time.perf_counter()
        results = list(pool.map(one, range(n)))
        wall = time.perf_counter() - start
    times = [t * 1000 for t, _, _ in results]
    return (
        n / wall,
        percentile(times, 0.5),
        percentile(times, 0.99),
        statistics.median(c * 1000 for _, c, _ in results),
        statistics.mean(min(1, hits) for _, _, hits in results),
    )


def damaged_rates(decoder: Decoder, symbology: str, per_case: int) -> dict[str, tuple[float, int]]:
    """(share of frames whose label is read, symbols read as other data) per damaged case."""
    rng = random.Random(11)
    rates = {}
    for name, kwargs in DAMAGED_SET[symbology].items():
        hits = wrong = 0
        for i in range(per_case):
            code = f"LS{rng.randrange(10**10):010d}"
            d = Distortion(angle=rng.uniform(0, 360), **kwargs)
            expected = label_text(code, symbology)[1]
            reads = decoder.decode(label_frame(code, symbology, d, seed=i))
            hits += any(r.data == expected for r in reads)
            wrong += sum(r.data != expected for r in reads)
        rates[name] = (hits / per_case, wrong)
    return rates


def decoders(args: argparse.Namespace) -> dict[str, Decoder]:
    """The decoders to measure, by column name."""
    kwargs = {} if args.upscale is None else {"upscale": args.upscale}
    out = {"zxing": make_decoder("zxing", **kwargs)}
    if args.compare:
        out["zxing 1x"] = make_decoder("zxing", upscale=1.0)
    out["pyzbar"] = make_decoder("pyzbar", **kwargs)
    return out


def versions() -> str:
    """Library versions of this run."""
    names = ("zxing-cpp", "opencv-python-headless", "numpy", "pyzbar")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return ", ".join(found)


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="decodes per back-end and frame")
    parser.add_argument("--workers", type=int, default=2, help="worker threads")
    parser.add_argument("--damaged", type=int, default=30, help="frames per damaged case")
    parser.add_argument(
        "--cv-threads", type=int, default=-1, help="cv2.setNumThreads (-1: leave OpenCV's)"
    )
    parser.add_argument(
        "--upscale", type=float, default=None, help="retry scale on an unread region (1: off)"
    )
    parser.add_argument(
        "--compare", action="store_true", help="also zxing with the upsampled retry off"
    )
    args = parser.parse_args()
    if args.cv_threads >= 0:
        cv2.setNumThreads(args.cv_threads)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {versions()}, "
        f"OpenCV {cv2.getNumThreads()} threads, {args.workers} worker threads, n={args.n}, "
        f"frames 1280x1024, deskew on, load average {os.getloadavg()[0]:.1f}"
    )
    frames = {
        "code128 0deg": (label_frame(BARCODE, "code128", Distortion(angle=0)), BARCODE),
        "code128 30deg": (label_frame(BARCODE, "code128", Distortion(angle=30)), BARCODE),
        "code128 90deg": (label_frame(BARCODE, "code128", Distortion(angle=90)), BARCODE),
        "dm blur 26deg": (
            label_frame(DM_BARCODE, "datamatrix", Distortion(angle=26.1, blur=1.2), seed=11),
            DM_BARCODE,
        ),
        "destroyed": (
            label_frame(BARCODE, "code128", Distortion(angle=30, damage=0.9)),
            BARCODE,
        ),
        "empty parcel": (render_frame([]), BARCODE),
    }
    chosen = decoders(args)
    print(
        f"\n{'back-end':<9} {'frame':<14} {'frames/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms':>7} {'read':>6}"
    )
    for name, (frame, expected) in frames.items():
        for backend, decoder in chosen.items():
            if backend == "pyzbar" and name.startswith("dm"):
                continue  # zbar has no Data Matrix decoder
            fps, p50, p99, cpu, read = throughput(decoder, frame, expected, args.n, args.workers)
            shown = "-" if name in ("empty parcel", "destroyed") else f"{read:.0%}"
            print(
                f"{backend:<9} {name:<14} {fps:>9.0f} {p50:>7.1f} {p99:>7.1f} {cpu:>7.1f} "
                f"{shown:>6}"
            )
    print(f"\nread rate, damaged labels at random angles ({args.damaged} per case)")
    print(f"{'label':<11} {'case':<15}" + "".join(f" {b:>8}" for b in chosen))
    wrong = dict.fromkeys(chosen, 0)
    for symbology in DAMAGED_SET:
        rates = {
            b: damaged_rates(d, symbology, args.damaged)
            for b, d in chosen.items()
            if not (b == "pyzbar" and symbology == "datamatrix")
        }
        for case in DAMAGED_SET[symbology]:
            cells = "".join(
                f" {rates[b][case][0]:>8.0%}" if b in rates else f" {'-':>8}" for b in chosen
            )
            print(f"{symbology:<11} {case:<15}{cells}")
        for b, by_case in rates.items():
            wrong[b] += sum(w for _, w in by_case.values())
    print(f"{'wrong reads (other data)':<27}" + "".join(f" {wrong[b]:>8}" for b in chosen))


if __name__ == "__main__":
    main()
