"""20 AMRs at 200 container moves an hour each: the fleet master's latency and load, and
the sorter's answer with and without the fleet (LaneSort issue 17, item 8).

    python benchmarks/fleet_load.py [--vehicles 20] [--moves-per-hour 200] [--minutes 3]
                                    [--rate 36000] [--seed 1] [--only fleet|plain]
                                    [--speed 4.0] [--parcels 600] [--skip-fleet-alone]
                                    [--skip-sorter]

**Fleet alone at load** (``--only`` not ``plain``): a generated line (temporary folder,
free ports) whose fleet layout is a ladder of N columns, 3 m apart: aisle A (y 0) and
aisle B (y 16), both two-way, joined at every column by a two-way cross lane through a
middle node; at column i a pick station ``pick-i`` (a chute end, 4 m off aisle A), a drop
station ``door-Di`` (a dock door, 4 m off aisle B) and a parking place ``PKi`` (2 m off
the middle node). A Mosquitto of its own, the vehicle simulator as its own process
(``python -m simulators fleet``; speed ``--speed`` m/s, picks and drops 0.5 s, no battery
drain, no refusals, a state on every change and at least every 30 s, a visualization
every second), and in this process a :class:`~controller.fleet.service.FleetService` on a
real journal, alarm board and audit log. Tasks arrive as a seeded Poisson stream at
N x moves-per-hour for ``--minutes``, each from a random pick station to a random door;
then up to 90 s for the open ones to finish. Printed: order (or order update) published
-> first state showing it (the service's ``order_latencies_s``: p50/p95/p99/max, count),
MQTT messages per second in and out (the link's counters), tasks created / delivered /
failed / still open and their lifetime, the controller process's CPU per task, the
alarms raised and the warnings logged.

**The sorter with and without the fleet** (``--only`` not ``fleet``): ``lanesort demo``
on ``demo-line-fleet.yaml`` with N vehicles (parking places PK1..PKN), every device on a
free port, against the same line with ``fleet.enabled: false``, no buffer and no AS/RS,
same seed and rate, ``--parcels`` parcels (600: 60 s of sorting at 36,000/h; the demo
then takes minutes to let the walls, doors and vehicles finish, unmeasured); prints the
controller's answer latency (``answer_latency_ms_controller``) of both, the p99 ratio and
whether it is within 10 %. The fleet's work in that run is what the put walls close
(about a container per 12 parcels), less than the load of the first part.
Benchmarks print figures; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.alarms.board import AlarmBoard  # noqa: E402
from controller.auth.audit import AuditLog  # noqa: E402
from controller.cli.child_process import ChildProcess  # noqa: E402
from controller.cli.ports import free_port  # noqa: E402
from controller.fleet.service import FleetService  # noqa: E402
from controller.histogram import percentiles  # noqa: E402
from controller.journal.writer import Journal  # noqa: E402
from drivers.mqtt.broker import MosquittoBroker  # noqa: E402
from drivers.vda5050.fleet_link import FleetLink  # noqa: E402
from plc_configs.loader import load_line_config  # noqa: E402

FLEET_LINE = ROOT / "plc_configs" / "demo-line-fleet.yaml"
ANSWER_P99_GOAL = 1.10
DRAIN_S = 90.0
#: Wall operators and loaders without faults in both demo runs, as in putwall_latency.py
#: (with 0.02-0.05 s delays, tried first, parcels were abandoned and containers held as too
#: heavy, and the demo's wrap-up ran on for 10 minutes); at 10 parcels/s to two walls the
#: walls trail the sort by minutes, so most of the fleet's work comes after the sort.
OPERATORS = {
    "scan_delay_s": [0.1, 0.3],
    "press_delay_s": [0.3, 0.6],
    "wrong_press_rate": 0.0,
    "no_press_rate": 0.0,
    "shortage_rate": 0.0,
    "weight_mismatch_rate": 0.0,
    "out_of_sequence_rate": 0.0,
    "load_delay_s": [0.3, 1.0],
    "loader_idle_s": 1.0,
}
COLUMN_M, AISLE_GAP_M, SPUR_M = 3.0, 16.0, 4.0


def ladder_layout(n: int) -> dict[str, Any]:
    """The fleet-alone layout for ``n`` vehicles (see the module docstring)."""
    nodes, edges, stations = [], [], []
    for i in range(1, n + 1):
        x, mid = COLUMN_M * i, AISLE_GAP_M / 2
        nodes += [
            {"id": f"A{i}", "x": x, "y": 0},
            {"id": f"M{i}", "x": x, "y": mid},
            {"id": f"B{i}", "x": x, "y": AISLE_GAP_M},
            {"id": f"P{i}", "x": x, "y": -SPUR_M},
            {"id": f"D{i}", "x": x, "y": AISLE_GAP_M + SPUR_M},
            {"id": f"K{i}", "x": x + 1.5, "y": mid + 1.5},
        ]
        edges += [
            {"start": f"A{i}", "end": f"M{i}"},
            {"start": f"M{i}", "end": f"B{i}"},
            {"start": f"P{i}", "end": f"A{i}"},
            {"start": f"B{i}", "end": f"D{i}"},
            {"start": f"K{i}", "end": f"M{i}"},
        ]
        if i > 1:
            edges += [
                {"start": f"A{i - 1}", "end": f"A{i}"},
                {"start": f"B{i - 1}", "end": f"B{i}"},
            ]
        stations += [
            {"id": f"pick-{i}", "kind": "chute_end", "node": f"P{i}"},
            {"id": f"door-D{i:02d}", "kind": "dock_door", "node": f"D{i}", "ref": f"D{i:02d}"},
            {"id": f"PK{i}", "kind": "parking", "node": f"K{i}"},
        ]
    return {"nodes": nodes, "edges": edges, "stations": stations}


def vehicles(n: int) -> list[dict[str, Any]]:
    """``n`` simulated vehicles, AMR-k parked at PKk."""
    return [
        {"manufacturer": "LaneSim", "serial_number": f"AMR-{k:02d}", "home": f"PK{k}"}
        for k in range(1, n + 1)
    ]


def load_config(n: int, broker_url: str, speed: float) -> dict[str, Any]:
    """The fleet-alone line: the fleet demo line cut to its fleet on the ladder layout."""
    return {
        "extends": str(FLEET_LINE),
        "line": {"name": "bench-fleet"},
        "putwall": {"walls": []},
        "loading": {"stations": []},
        "buffer": None,
        "topology": {
            "doors": [{"id": f"D{i:02d}", "position_mm": 6000 + 100 * i} for i in range(1, n + 1)]
        },
        "fleet": {"mqtt": {"url": broker_url}, "vehicles": vehicles(n), "layout": ladder_layout(n)},
        "simulation": {
            "fleet": {
                "speed_m_s": speed,
                "action_s": 0.5,
                "drain_pct_per_km": 0,
                "reject_rate": 0.0,
                "truck_arrivals": [],
            }
        },
    }


class WarningCount(logging.Handler):
    """Counts warnings and errors logged in this process, keeping the first few."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record."""
        self.counts[f"{record.levelname} {record.name}"] += 1
        if len(self.first) < 8:
            self.first.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


def stats_ms(values: list[float]) -> str:
    """count, p50/p95/p99/max of ``values`` (seconds) in ms."""
    if not values:
        return "n 0"
    p50, p95, p99, top = (v * 1000 for v in percentiles(values, (50, 95, 99, 100)))  # type: ignore[operator]
    return f"n {len(values)}  p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {top:.1f} ms"


def time_dispatch(service: FleetService) -> list[float]:
    """Time the service's dispatch passes that sent a new order (seconds): a new order's
    ``sent_at`` is the start of the tick, so its latency includes the pass that planned it."""
    spans: list[float] = []
    inner = service._dispatch

    async def timed(now: float) -> None:
        started, jobs = time.perf_counter(), len(service.jobs)
        await inner(now)
        if len(service.jobs) > jobs:
            spans.append(time.perf_counter() - started)

    service._dispatch = timed  # type: ignore[method-assign]
    return spans


async def until(check: Any, timeout_s: float, step_s: float = 0.05) -> bool:
    """Wait until ``check()`` is true; False after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(step_s)
    return True


async def generate(service: FleetService, n: int, per_s: float, span_s: float, seed: int) -> int:
    """Poisson task arrivals at ``per_s`` for ``span_s`` seconds; the number created."""
    rng = random.Random(seed)
    start, made = time.monotonic(), 0
    at = rng.expovariate(per_s)
    while at < span_s:
        await asyncio.sleep(max(0.0, at - (time.monotonic() - start)))
        made += 1
        service.create_task(
            f"C{made:06d}", f"pick-{rng.randint(1, n)}", f"door-D{rng.randint(1, n):02d}"
        )
        at += rng.expovariate(per_s)
    return made


async def fleet_alone(args: argparse.Namespace) -> None:
    """Part 1: the master and N simulated vehicles at load (see the module docstring)."""
    n, per_s = args.vehicles, args.vehicles * args.moves_per_hour / 3600
    warnings = WarningCount()
    logging.getLogger().addHandler(warnings)
    with tempfile.TemporaryDirectory(prefix="fleet-load-") as tmp:
        folder = Path(tmp)
        broker = MosquittoBroker(free_port(), allow_anonymous=True, name="bench-broker")
        broker.start()
        sim = ChildProcess("vehicle simulator", folder / "vehicles.log")
        journal = None
        runner: asyncio.Task[None] | None = None
        try:
            path = folder / "line.yaml"
            path.write_text(yaml.safe_dump(load_config(n, broker.url, args.speed), sort_keys=False))
            config = load_line_config(path)
            journal = Journal(folder / "journal.sqlite", config.line.name)
            alarms = AlarmBoard(journal.append)
            audit = AuditLog(journal.append, journal.path, time.monotonic)
            link = FleetLink.create(config.fleet, client_id="bench-fleet-master")
            service = FleetService(config, journal, alarms, audit, link)
            dispatch_s = time_dispatch(service)
            await journal.open()
            cmd = [
                sys.executable,
                "-m",
                "simulators",
                "fleet",
                "--config",
                str(path),
                "--broker",
                broker.url,
                "--seed",
                str(args.seed),
                "--log-level",
                "WARNING",
            ]
            runner = asyncio.create_task(service.run(), name="fleet-service")
            await link.mqtt.wait_connected(10)
            await sim.start(cmd, timeout_s=60)
            tracks = service.tracker.vehicles.values()
            if not await until(lambda: all(t.state is not None for t in tracks), 30):
                print("  not every vehicle sent a state within 30 s", flush=True)
            mqtt = link.mqtt
            cpu0, t0, in0, out0 = (
                time.process_time(),
                time.monotonic(),
                mqtt.messages_in,
                mqtt.messages_out,
            )
            made = await generate(service, n, per_s, args.minutes * 60, args.seed)
            t1, in1, out1 = (
                time.monotonic(),
                mqtt.messages_in,
                mqtt.messages_out,
            )
            drained = await until(lambda: all(t.done for t in service.tasks.values()), DRAIN_S, 0.2)
            cpu2, t2, in2, out2 = (
                time.process_time(),
                time.monotonic(),
                mqtt.messages_in,
                mqtt.messages_out,
            )
            tasks = list(service.tasks.values())
            done = [t for t in tasks if str(t.state) == "delivered"]
            c = service.counters
            print(
                f"  tasks: offered {per_s * 3600:.0f}/h = {per_s:.3f}/s, created {made} in "
                f"{t1 - t0:.0f} s; delivered {c['delivered']} failed {c['failed']} cancelled "
                f"{c['cancelled']} replans {c['replans']}; still open after "
                f"{t2 - t1:.0f} s more: {sum(not t.done for t in tasks)}"
                f"{'' if drained else ' (gave up waiting)'}"
            )
            latencies = list(service.order_latencies_s)
            print(f"  order published -> first state showing it: {stats_ms(latencies)}")
            print(
                f"  dispatch passes that sent orders (new orders count from their start): "
                f"{stats_ms(dispatch_s)}"
            )
            print(f"  task created -> delivered: {stats_ms([t.updated - t.created for t in done])}")
            for label, dt, di, do in (
                ("generating", t1 - t0, in1 - in0, out1 - out0),
                ("whole run", t2 - t0, in2 - in0, out2 - out0),
            ):
                print(
                    f"  MQTT {label} ({dt:.0f} s): in {di / dt:.1f}/s  out {do / dt:.1f}/s  "
                    f"({di} in, {do} out, dropped {mqtt.messages_dropped})"
                )
            cpu = cpu2 - cpu0
            print(
                f"  controller process CPU {cpu:.2f} s over {t2 - t0:.0f} s "
                f"({100 * cpu / (t2 - t0):.1f} % of a core) = "
                f"{1000 * cpu / max(1, len(done)):.1f} ms per delivered task, "
                f"{1e6 * cpu / max(1, in2 - in0 + out2 - out0):.0f} us per MQTT message"
            )
            active = alarms.active()
            print(f"  alarms active: {len(active)}")
            for alarm in active[:8]:
                print(f"    {alarm.key}: {alarm.text}")
            print(f"  warnings logged here: {dict(warnings.counts) or 'none'}")
            for line in warnings.first:
                print(f"    {line}")
            failed = Counter(t.reason.split(":")[0][:60] for t in tasks if str(t.state) == "failed")
            if failed:
                print(f"  failed by reason: {dict(failed)}")
        finally:
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            await sim.stop()
            if journal is not None:
                await journal.close()
            broker.close()
            logging.getLogger().removeHandler(warnings)
            log_text = (folder / "vehicles.log").read_text(errors="replace")
            bad = [ln for ln in log_text.splitlines() if " WARNING " in ln or " ERROR " in ln]
            print(f"  vehicle simulator warnings/errors: {len(bad)}")
            for line in bad[:5]:
                print(f"    {line[:200]}")


def retarget(devices: dict[str, Any]) -> None:
    """Every device URL's port to a free one (other runs may use the demo's ports)."""
    for device in devices.values():
        url = device.get("url") if isinstance(device, dict) else None
        if isinstance(url, str) and re.search(r":\d+$", url):
            device["url"] = re.sub(r":\d+$", f":{free_port()}", url)


def demo_config(fleet: bool, n: int) -> dict[str, Any]:
    """The fleet demo line with ``n`` vehicles, or the same line without fleet and buffer."""
    base = yaml.safe_load((ROOT / "plc_configs" / "demo-line-putwall.yaml").read_text())
    over = yaml.safe_load(FLEET_LINE.read_text())
    devices = {**base["devices"], **over["devices"]}
    retarget(devices)
    data: dict[str, Any] = {
        "extends": str(FLEET_LINE),
        "opcua_server": {"port": free_port()},
        "api": {"port": free_port()},
        "simulation": {"putwall": OPERATORS},
    }
    layout = over["fleet"]["layout"]
    if fleet:
        for k in range(5, n + 1):
            layout["nodes"].append({"id": f"PK{k}", "x": 2 * k + 2, "y": -6})
            layout["edges"].append({"start": f"PK{k}", "end": "X1"})
            layout["stations"].append({"id": f"PK{k}", "kind": "parking", "node": f"PK{k}"})
        data["fleet"] = {"vehicles": vehicles(n), "layout": layout}
    else:
        del devices["buffer-asrs"]
        data["fleet"] = {"enabled": False}
        data["buffer"] = None
    data["devices"] = devices
    return data


def run_demo(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ``lanesort demo`` run; its report with ``wall_s``."""
    with tempfile.TemporaryDirectory(prefix=f"fleet-{mode}-") as tmp:
        folder = Path(tmp)
        config = folder / "line.yaml"
        config.write_text(
            yaml.safe_dump(demo_config(mode == "fleet", args.vehicles), sort_keys=False)
        )
        report, data = folder / "report.json", folder / "data"
        cmd = [
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
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        started = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if done.returncode != 0 or not report.exists():
            raise SystemExit(f"{mode}: demo failed\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        result = json.loads(report.read_text())
        result["wall_s"] = time.monotonic() - started
        return result


def show_demo(mode: str, r: dict[str, Any]) -> None:
    """One demo run's answer latency, sort outcome and fleet figures."""
    ctl = r["answer_latency_ms_controller"]
    too_late = r["rejected_by_reason"].get("answer_too_late", 0)
    print(
        f"  {mode:5} answer (controller) p50 {ctl['p50']:.2f} p99 {ctl['p99']:.2f} max "
        f"{ctl['max']:.2f} ms | sorted {r['sorted_right_chute']}/{r['inducted']} wrong "
        f"{r['sorted_wrong_chute']} lost {r['lost']} too late {too_late} | wall "
        f"{r['wall_s']:.0f} s",
        flush=True,
    )
    fleet = r.get("fleet") or {}
    if fleet:
        print(
            f"        fleet: containers {fleet.get('containers')} moved {fleet.get('moved')} "
            f"stored {fleet.get('stored')} delivered {fleet.get('delivered')} failed "
            f"{fleet.get('moves_failed_by_reason')} tasks {fleet.get('fleet')}"
        )


def sorter_compare(args: argparse.Namespace) -> None:
    """Part 2: ``lanesort demo`` with and without the fleet; the answer p99 ratio."""
    runs = {}
    for mode in [args.only] if args.only else ["fleet", "plain"]:
        runs[mode] = run_demo(mode, args)
        show_demo(mode, runs[mode])
    if len(runs) == 2:
        with_f = runs["fleet"]["answer_latency_ms_controller"]["p99"]
        without = runs["plain"]["answer_latency_ms_controller"]["p99"]
        ratio = with_f / without if without else float("inf")
        met = "met" if ratio <= ANSWER_P99_GOAL else "NOT met"
        print(
            f"  answer p99 (controller) with the fleet {with_f:.2f} ms / without {without:.2f}"
            f" ms = {ratio:.3f}; goal <= {ANSWER_P99_GOAL:.2f}: {met} (one run each: p99 of"
            f" two runs of one line differs by more than 10 % on a busy 2-core machine)"
        )


def main() -> None:
    """Parse the arguments, run the parts asked for, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--moves-per-hour", type=float, default=200, help="per vehicle")
    ap.add_argument("--minutes", type=float, default=3, help="of task arrivals (part 1)")
    ap.add_argument("--rate", type=float, default=36000, help="parcels per hour (part 2)")
    ap.add_argument("--parcels", type=int, default=600, help="parcels per demo run (part 2)")
    ap.add_argument("--speed", type=float, default=4.0, help="vehicle speed m/s (part 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--only",
        choices=("fleet", "plain"),
        help="fleet: part 1 and the demo with the fleet; plain: the plain demo",
    )
    ap.add_argument("--skip-fleet-alone", action="store_true", help="no part 1")
    ap.add_argument("--skip-sorter", action="store_true", help="no part 2")
    args = ap.parse_args()
    started = time.monotonic()
    print(f"python benchmarks/fleet_load.py {shlex.join(sys.argv[1:])}")
    print(
        f"CPUs {os.cpu_count()}  load {os.getloadavg()[0]:.1f}  vehicles {args.vehicles}  "
        f"moves/h each {args.moves_per_hour:g}  minutes {args.minutes:g}  seed {args.seed}"
    )
    if not args.skip_fleet_alone and args.only != "plain":
        print(
            f"fleet alone: {args.vehicles} vehicles on a ladder of {args.vehicles} columns "
            f"({COLUMN_M:g} m apart), speed {args.speed:g} m/s, picks/drops 0.5 s",
            flush=True,
        )
        asyncio.run(fleet_alone(args))
    if not args.skip_sorter:
        print(
            f"sorter with/without the fleet: lanesort demo on demo-line-fleet.yaml with "
            f"{args.vehicles} vehicles, {args.parcels} parcels at {args.rate:.0f}/h, seed "
            f"{args.seed}",
            flush=True,
        )
        print(
            "  (each run: the sort, then minutes of the demo's wrap-up at the walls, doors and"
            " vehicles; the answer latency is the sort's)",
            flush=True,
        )
        sorter_compare(args)
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
