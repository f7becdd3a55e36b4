"""Manifest load rate through the REST API while the line sorts at 150,000 parcels/hour.

Runs ``lanesort demo`` (simulator, TMS simulator and controller as processes) at the
given rate, and once parcels flow uploads a generated manifest CSV of ``--rows`` rows
to ``POST /api/v1/manifest`` (streamed, an import job in its own process). Prints the
upload and load rates, then the destination-answer latency (controller side, from
the journal) of the parcels answered during the load and of the others, and the
demo report's PLC-side figures and reject reasons.

    python benchmarks/manifest_load.py                  # 1,000,000 rows, 150,000 pph
    python benchmarks/manifest_load.py --rows 200000 --parcels 1000
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))]


def _write_manifest(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("barcode,route,stop_sequence,consignee,postal_code,service_level\n")
        for i in range(rows):
            route, stop, postal = f"R{i % 20 + 1:02d}", i % 90, 10000 + i % 89999
            out.write(f"TMS{i:012d},{route},{stop},Consignee {i % 977},{postal},std\n")


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parcels", type=int, default=2500)
    parser.add_argument("--rate", type=float, default=150_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lanesort-manifest-bench-"))
    csv_path = work / "manifest-upload.csv"
    t0 = time.perf_counter()
    _write_manifest(csv_path, args.rows)
    size_mb = csv_path.stat().st_size / 2**20
    print(f"generated {args.rows:,} rows ({size_mb:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    data = work / "data"
    demo = subprocess.Popen(
        [
            sys.executable, "-m", "controller.cli", "demo", "--parcels", str(args.parcels),
            "--rate", str(args.rate), "--seed", "1", "--plain", "--data-dir", str(data),
            "--report", str(work / "report.json"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    api = None
    for line in demo.stdout:
        if match := re.search(r"API on (http://\S+)/docs", line):
            api = match[1]
        if api and "inducted" in line:
            break
    if api is None:
        print("the demo did not start its API")
        return 1
    token = subprocess.run(
        [sys.executable, "-m", "controller.cli", "token", "create", "--data-dir", str(data),
         "--name", "bench-tms", "--role", "tms"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    time.sleep(3)  # parcels are flowing
    started = time.time()
    with csv_path.open("rb") as body, httpx.Client(timeout=600) as client:
        answer = client.post(
            f"{api}/api/v1/manifest", params={"wait_s": 0}, headers=headers, content=body
        )
        uploaded = time.time()
        job = answer.json()
        while job.get("state") in ("queued", "running"):
            time.sleep(0.5)
            job = client.get(f"{api}/api/v1/manifest/jobs/{job['id']}", headers=headers).json()
    done = time.time()
    for _ in demo.stdout:
        pass
    demo.wait()
    print(
        f"upload {size_mb:.0f} MiB in {uploaded - started:.1f} s "
        f"({size_mb / (uploaded - started):.0f} MiB/s); job {job['state']}: "
        f"{job['rows_loaded']:,} rows loaded, {job['rows_bad']} bad"
    )
    print(
        f"manifest load: {args.rows:,} rows in {done - started:.1f} s from the first byte "
        f"= {args.rows / (done - started):,.0f} rows/s (import job alone: "
        f"{job.get('rows_per_s', 0):,.0f} rows/s)"
    )
    conn = sqlite3.connect(data / "journal.sqlite")
    rows = conn.execute(
        "SELECT time, json_extract(detail, '$.answer_ms') FROM events WHERE kind = 'assigned'"
    ).fetchall()
    during = [ms for t, ms in rows if started <= t <= done and ms is not None]
    outside = [ms for t, ms in rows if not started <= t <= done and ms is not None]
    for name, values in (("during the load", during), ("outside it", outside)):
        print(
            f"answer latency (controller) {name}: n={len(values)} "
            f"p50={_percentile(values, 50):.2f} p99={_percentile(values, 99):.2f} "
            f"max={max(values):.2f} ms"
            if values
            else f"answer latency {name}: no parcels"
        )
    report = json.loads((work / "report.json").read_text())
    plc = report["answer_latency_ms_plc"]
    print(
        f"whole run, as the PLC saw it: p50={plc['p50']} p99={plc['p99']} max={plc['max']} ms; "
        f"inducted {report['inducted']}, wrong chute {report['sorted_wrong_chute']}, "
        f"lost {report['lost']}, rejects {report['rejected_by_reason']}"
    )
    print(f"upstream: {json.dumps(report.get('upstream', {}).get('tms', {}))}")
    print(f"(work files in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
