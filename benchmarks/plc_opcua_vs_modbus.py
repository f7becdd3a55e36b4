"""Destination-answer latency and controller CPU per parcel: the sorter PLC over OPC UA vs Modbus.

Runs ``lanesort demo`` (controller in this benchmark's child process, the line simulator
in its own process, as on a real line) twice per round at the same rate and seed: once
with ``plc_configs/demo-line.yaml`` (Modbus TCP, polled) and once with
``plc_configs/demo-line-opcua.yaml`` (OPC UA, subscription, Basic256Sha256
SignAndEncrypt). For each it prints

* the answer latency as the PLC sees it (request posted -> answer accepted, measured in
  the PLC simulator) and as the controller sees it (request seen -> answer written);
* the controller process's CPU per parcel in the steady middle of the shift (from
  ``/proc/<pid>/stat``, the controller only: its simulator and TMS children excluded).

Run from the repository root::

    python benchmarks/plc_opcua_vs_modbus.py [--parcels 3000] [--rate 150000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from controller.cli.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def configs(work: Path) -> dict[str, Path]:
    """The demo line and its OPC UA variant on free ports, written into ``work``."""
    base = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    for port in ("15020", "15023", "15031", "15032"):
        base = base.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    base = re.sub(r"(?m)^(  port: )4841", rf"\g<1>{free_port()}", base)
    (work / "demo-line.yaml").write_text(base)
    opcua = (ROOT / "plc_configs" / "demo-line-opcua.yaml").read_text()
    opcua = opcua.replace("127.0.0.1:15050", f"127.0.0.1:{free_port()}")
    (work / "demo-line-opcua.yaml").write_text(opcua)
    return {"modbus": work / "demo-line.yaml", "opcua": work / "demo-line-opcua.yaml"}


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of process ``pid`` itself (not its children), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def sample_cpu(pid: int, samples: list[tuple[float, float]], stop: threading.Event) -> None:
    """Record (time, CPU seconds) of ``pid`` every 50 ms until it ends or ``stop``."""
    while not stop.is_set():
        cpu = cpu_seconds(pid)
        if cpu is None:
            return
        samples.append((time.monotonic(), cpu))
        stop.wait(0.05)


def run_demo(config: Path, work: Path, parcels: int, rate: float, seed: int) -> dict:
    """One demo run: its report plus the controller's CPU per parcel (steady state)."""
    data = work / f"data-{config.stem}"
    report = work / f"report-{config.stem}.json"
    argv = [sys.executable, "-m", "controller.cli", "demo", "--plain", "--seed", str(seed),
            "--parcels", str(parcels), "--rate", str(rate), "--config", str(config),
            "--data-dir", str(data), "--report", str(report)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_cpu, args=(proc.pid, samples, stop), daemon=True)
    sampler.start()
    out, _ = proc.communicate(timeout=parcels / rate * 3600 * 4 + 180)
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"demo with {config.name} failed:\n{out[-3000:]}")
    result = json.loads(report.read_text())
    result["cpu_ms_per_parcel"] = steady_cpu_per_parcel(samples, parcels, rate)
    return result


def steady_cpu_per_parcel(
    samples: list[tuple[float, float]], parcels: int, rate: float
) -> float | None:
    """CPU ms per parcel over the middle half of the shift (start-up and drain left out)."""
    shift_s = parcels / rate * 3600
    if len(samples) < 4:
        return None
    # The shift ends when the demo exits (last sample); it began shift_s earlier.
    end = samples[-1][0]
    start = end - shift_s
    lo, hi = start + shift_s * 0.25, start + shift_s * 0.75
    window = [(t, c) for t, c in samples if lo <= t <= hi]
    if len(window) < 2:
        return None
    (t0, c0), (t1, c1) = window[0], window[-1]
    return (c1 - c0) / (t1 - t0) * 3600 / rate * 1000


def main() -> None:
    """Run the rounds and print one line per run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--parcels", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=150000, help="parcels per hour")
    ap.add_argument("--rounds", type=int, default=1, help="alternate the two wires this often")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"CPUs: {os.cpu_count()}  parcels: {args.parcels}  rate: {args.rate:.0f}/h")
    rows = []
    with tempfile.TemporaryDirectory(prefix="plc-wire-") as tmp:
        work = Path(tmp)
        for round_ in range(args.rounds):
            for wire, config in configs(work).items():
                r = run_demo(config, work, args.parcels, args.rate, args.seed + round_)
                rows.append((wire, r))
                plc, ctl = r["answer_latency_ms_plc"], r["answer_latency_ms_controller"]
                print(
                    f"{wire:7s} PLC-side p50 {plc['p50']:6.2f} p99 {plc['p99']:6.2f} "
                    f"max {plc['max']:6.2f} ms | controller-side p50 {ctl['p50']:5.2f} "
                    f"p99 {ctl['p99']:5.2f} ms | CPU {r['cpu_ms_per_parcel'] or float('nan'):.2f}"
                    f" ms/parcel | wrong chute {r['sorted_wrong_chute']} lost {r['lost']} "
                    f"too late {r['rejected_by_reason'].get('answer_too_late', 0)} "
                    f"sorted {r['sorted_right_chute']}/{r['inducted']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
