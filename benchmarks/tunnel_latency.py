"""What weighing and measuring in the tunnel cost the destination answer, at a given rate.

Runs ``lanesort demo`` twice on the demo line with the same seed: once as configured
(reader, MT-SICS scale, CubiScan dimensioner) and once with the scale and dimensioner
removed, then prints the destination-answer latency as the PLC saw it for both, and
how long the controller took from seeing a parcel in the tunnel to having its read and
its measurement, against the window in which the result can still be bound to it.

    python benchmarks/tunnel_latency.py [--parcels 2000] [--rate 150000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "plc_configs" / "demo-line.yaml"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run(config: Path, data: Path, args: argparse.Namespace) -> dict:
    """One demo run; its report plus tunnel timings from its journal."""
    report = data / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "demo",
            "--config",
            str(config),
            "--parcels",
            str(args.parcels),
            "--rate",
            str(args.rate),
            "--seed",
            str(args.seed),
            "--report",
            str(report),
            "--data-dir",
            str(data),
            "--plain",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    result = json.loads(report.read_text())
    conn = sqlite3.connect(data / "journal.sqlite")
    try:
        timings: dict[str, list[float]] = {}
        for kind in ("identified", "measured"):
            timings[kind] = [
                (t - t0) * 1000
                for t0, t in conn.execute(
                    "SELECT a.time, b.time FROM events a JOIN events b ON a.uid = b.uid "
                    "AND b.kind = ? WHERE a.kind = 'inducted'",
                    (kind,),
                )
            ]
        unbound = conn.execute(
            "SELECT count(*) FROM events WHERE kind = 'measured' AND detail LIKE '%not bound%'"
        ).fetchone()[0]
    finally:
        conn.close()
    result["tunnel"] = timings
    result["unbound_measurements"] = unbound
    return result


def main() -> None:
    """Run both configurations and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=150000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = yaml.safe_load(DEMO.read_text())
        without = dict(base)
        without["devices"] = {
            n: d for n, d in base["devices"].items() if d["kind"] not in ("scale", "dimensioner")
        }
        plain = Path(tmp) / "reader-only.yaml"
        plain.write_text(yaml.safe_dump(without))
        runs = {
            "reader + scale + dimensioner": run(DEMO, Path(tmp) / "full", args),
            "reader only": run(plain, Path(tmp) / "reader", args),
        }
    print(f"{args.parcels} parcels at {args.rate:.0f} parcels/h, seed {args.seed}")
    print(f"{'tunnel':30} {'PLC answer p50':>15} {'p99':>8} {'max':>8} {'wrong':>6} {'lost':>5}")
    for name, r in runs.items():
        lat = r["answer_latency_ms_plc"]
        print(
            f"{name:30} {lat['p50']:>12.3f} ms {lat['p99']:>8.3f} {lat['max']:>8.3f} "
            f"{r['sorted_wrong_chute']:>6} {r['lost']:>5}"
        )
    full = runs["reader + scale + dimensioner"]
    speed = full["belt_speed_mps"]
    window = 500 / speed  # min(scan_field_mm 600, min_parcel_pitch_mm 500) / belt speed
    print(
        f"\nbinding window at {speed:.1f} m/s: {window:.1f} ms after the parcel enters the "
        "tunnel (a later result may be a neighbour's and is not bound)"
    )
    for kind, values in full["tunnel"].items():
        if values:
            p50, p99 = percentile(values, 50), percentile(values, 99)
            print(
                f"scan seen -> {kind:10}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max "
                f"{max(values):.2f} ms; p99 uses {p99 / window:.0%} of the window"
            )
    print(
        f"measurements not bound (later than the window): {full['unbound_measurements']} "
        f"of {full['inducted']}"
    )


if __name__ == "__main__":
    main()
