"""Put walls at a 150,000 parcels/h sorter: scan -> light latency and the sorter's answer.

    python benchmarks/putwall_latency.py [--parcels 3000] [--rate 150000] [--seed 1]
                                         [--scan-rate 1.0] [--rounds 1] [--only walls|plain]

Runs ``lanesort demo`` on a line made from ``plc_configs/demo-line-putwall.yaml`` (in a
temporary folder, on free ports), twice with the same seed:

- **walls**: 10 put walls of 20 cubbies each, all 200 modules on one Atop controller port
  (``nodes: 1-200``; wall k has nodes ``20k-19 .. 20k``), each wall with its own pushing
  hand scanner and a simulated operator (no printer, no scale, no loading: the put alone);
- **plain**: the same line without the ``putwall``/``loading`` sections and their devices.

The line: 10 trucks x 4 routes (route volumes nearly even: half the routes carry half the
parcels), a chute per route (40 chutes, ``chute_words: 3``), the sort plan fixed
(``replanning.enabled: false``). Each wall takes one route: the benchmark draws the route
plan the simulator will draw (same seed) and gives the walls the 10 routes whose expected
flow is nearest ``--scan-rate`` parcels/s, so each operator scans about that often. The
operators scan 0.1-0.3 s after a parcel reaches the chute end and press 0.3-0.6 s after
the light; no wrong presses, walk-offs or shortages.

Prints, for the walls run, scan -> light (the simulator's clock: the code pushed on the
hand scanner to the light bank showing the green module; count, p50/p95/p99/max) and
each operator's scans per second; for both runs, the controller's destination-answer
latency (p50/p99/max) and the p99 ratio; then whether this run met the issue's goals:
scan -> light p99 <= 50 ms, answer p99 with the walls within 10 % of without.
Benchmarks print figures; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from controller.cli.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plc_configs.route_plan import RoutePlanSimulation  # noqa: E402
from simulators.route_plan import generate_route_plan  # noqa: E402

BASE = ROOT / "plc_configs" / "demo-line-putwall.yaml"
WALLS = 10
CUBBIES = 20
TRUCKS, ROUTES_PER_TRUCK = 10, 4
CHUTES = TRUCKS * ROUTES_PER_TRUCK
REJECT = 48
SCAN_P99_GOAL_MS = 50.0
ANSWER_P99_GOAL = 1.10
ROUTE_PLAN = {
    "trucks": TRUCKS,
    "routes_per_truck": ROUTES_PER_TRUCK,
    "stops_per_route": [4, 8],
    "heavy_route_share": 0.5,
    "heavy_volume_share": 0.5,
    "doors": None,
}
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


def tcp() -> str:
    """A loopback TCP URL on a free port."""
    return f"tcp://127.0.0.1:{free_port()}"


def wall_routes(seed: int, rate_pph: float, missing_share: float, per_s: float) -> list[str]:
    """The ``WALLS`` routes whose expected parcel flow (per s) is nearest ``per_s``."""
    plan = generate_route_plan(RoutePlanSimulation.model_validate(ROUTE_PLAN), seed)
    flow = {r: w * rate_pph / 3600 * (1 - missing_share) for r, w in plan.weights.items()}
    return sorted(sorted(flow, key=lambda r: abs(flow[r] - per_s))[:WALLS])


def line_config(walls: bool, routes: list[str]) -> dict[str, Any]:
    """The benchmark's line (see the module docstring) as config data."""
    data = yaml.safe_load(BASE.read_text())
    keep = ("sorter", "tunnel-reader", "tunnel-scale", "tunnel-dimensioner")
    devices = {name: data["devices"][name] for name in keep}
    devices["sorter"]["url"] = f"modbus-tcp://127.0.0.1:{free_port()}"
    for name in keep[1:]:
        devices[name]["url"] = tcp()
    topo = data["topology"]
    topo["chutes"] = [
        {"id": c, "position_mm": 5000 + 1000 * c, "capacity": 80} for c in range(1, CHUTES + 1)
    ]
    topo["reject_chute"] = {"id": REJECT, "position_mm": 6000 + 1000 * CHUTES, "capacity": 500}
    topo["doors"] = [
        {"id": f"D{t:02d}", "position_mm": 5500 + 4000 * t} for t in range(1, TRUCKS + 1)
    ]
    data["register_map"]["chute_words"] = 3
    data["register_map"]["plc"]["chute_disabled"] = 13
    data["sort_plan"] = {f"R{c:03d}": [c] for c in range(1, CHUTES + 1)}
    data["replanning"] = {"enabled": False}
    data["opcua_server"]["port"] = free_port()
    sim = data["simulation"]
    sim["route_plan"] = dict(ROUTE_PLAN)
    sim["putwall"] = dict(OPERATORS)
    data["loading"] = {"stations": []}
    data["putwall"] = {"walls": []}
    if walls:
        devices["wall-lights"] = {
            "kind": "pick_to_light",
            "driver": "atop",
            "url": tcp(),
            "nodes": f"1-{WALLS * CUBBIES}",
        }
        for k, route in enumerate(routes, start=1):
            devices[f"wall{k}-scanner"] = {
                "kind": "barcode_reader",
                "driver": "cognex",
                "push": True,
                "at": "putwall",
                "url": tcp(),
            }
            data["putwall"]["walls"].append(
                {
                    "id": f"W{k:02d}",
                    "routes": [route],
                    "lights": "wall-lights",
                    "nodes": f"{(k - 1) * CUBBIES + 1}-{k * CUBBIES}",
                    "cubby_capacity": 200,
                    "group_by": "stop",
                    "scanner": f"wall{k}-scanner",
                }
            )
    data["devices"] = devices
    return data


def run(mode: str, args: argparse.Namespace, routes: list[str], seed: int) -> dict[str, Any]:
    """One ``lanesort demo`` run: its report, plus ``truth`` (the simulator's stats)."""
    with tempfile.TemporaryDirectory(prefix=f"putwall-{mode}-") as tmp:
        folder = Path(tmp)
        config = folder / "line.yaml"
        config.write_text(yaml.safe_dump(line_config(mode == "walls", routes), sort_keys=False))
        report, data = folder / "report.json", folder / "data"
        cmd = [sys.executable, "-m", "controller.cli", "demo", "--config", str(config),
               "--parcels", str(args.parcels), "--rate", str(args.rate), "--seed", str(seed),
               "--report", str(report), "--data-dir", str(data), "--plain"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
               os.environ.get("PYTHONPATH")]))}  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if done.returncode != 0 or not report.exists():
            raise SystemExit(f"{mode}: demo failed\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        result = json.loads(report.read_text())
        result["wall_s"] = time.monotonic() - started
        result["truth"] = json.loads((data / "truth.json").read_text())["stats"]
        return result


def ms(value: float | None) -> str:
    """A latency in ms for printing."""
    return "   n/a" if value is None else f"{value:6.2f}"


def show_walls(r: dict[str, Any]) -> None:
    """The walls run's put-wall figures."""
    sim = r["truth"].get("putwall") or {}
    s2l = sim.get("scan_to_light_ms") or {}
    print(
        f"  scan -> light (simulator clock): n {s2l.get('count', 0)}  p50 {ms(s2l.get('p50'))}"
        f"  p95 {ms(s2l.get('p95'))}  p99 {ms(s2l.get('p99'))}  max {ms(s2l.get('max'))} ms"
    )
    print(
        f"  operators: taken {sim.get('taken')}  scans {sim.get('scans')}  puts "
        f"{sim.get('puts')}  to the exception cage {sim.get('exceptions')}  scans lost "
        f"{sim.get('scans_lost')}; controller: put {(r.get('putwall') or {}).get('put')}"
    )
    for wall, w in sorted((sim.get("walls") or {}).items()):
        rate = w.get("scans_per_s")
        own = w.get("scan_to_light_ms") or {}
        print(
            f"    {wall}: {w['scans']:4d} scans over {w['span_s']:6.1f} s = "
            f"{rate if rate is not None else float('nan'):4.2f}/s   scan -> light p50 "
            f"{ms(own.get('p50'))} p99 {ms(own.get('p99'))} max {ms(own.get('max'))} ms"
        )


def show_answer(mode: str, r: dict[str, Any]) -> None:
    """One run's answer latency and sort outcome."""
    ctl, plc = r["answer_latency_ms_controller"], r["answer_latency_ms_plc"]
    too_late = r["rejected_by_reason"].get("answer_too_late", 0)
    print(
        f"{mode:6} answer (controller) p50 {ms(ctl['p50'])} p99 {ms(ctl['p99'])} max "
        f"{ms(ctl['max'])} ms | (PLC) p50 {ms(plc['p50'])} p99 {ms(plc['p99'])} ms | "
        f"sorted {r['sorted_right_chute']}/{r['inducted']} wrong {r['sorted_wrong_chute']} "
        f"lost {r['lost']} too late {too_late} | belt {r['belt_speed_mps']} m/s | "
        f"wall {r['wall_s']:.0f} s",
        flush=True,
    )


def median(values: list[float]) -> float:
    """The middle value (the lower of the two middle ones)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def verdicts(runs: list[tuple[str, dict[str, Any]]]) -> None:
    """The p99 ratio and whether the issue's goals were met on this run (over several
    rounds: the worst scan -> light p99, the median answer p99 of each line)."""
    walls = [r for m, r in runs if m == "walls"]
    plain = [r for m, r in runs if m == "plain"]
    if walls:
        worst = max((w["truth"].get("putwall") or {}).get("scan_to_light_ms", {}).get("p99")
                    or float("inf") for w in walls)  # fmt: skip
        met = "met" if worst <= SCAN_P99_GOAL_MS else "NOT met"
        print(f"goal scan -> light p99 <= {SCAN_P99_GOAL_MS:.0f} ms: {met} ({worst:.2f} ms)")
    if walls and plain:
        p99 = [w["answer_latency_ms_controller"]["p99"] for w in walls]
        base = [p["answer_latency_ms_controller"]["p99"] for p in plain]
        ratio = median(p99) / median(base) if median(base) else float("inf")
        met = "met" if ratio <= ANSWER_P99_GOAL else "NOT met"
        print(
            f"answer p99 (controller) with walls {median(p99):.2f} ms / without "
            f"{median(base):.2f} ms = {ratio:.3f}; goal <= {ANSWER_P99_GOAL:.2f}: {met}"
        )
        if len(runs) > 2:
            print(
                f"  spread over {len(base)} rounds: with walls {min(p99):.2f}-{max(p99):.2f} "
                f"ms, without {min(base):.2f}-{max(base):.2f} ms"
            )
        else:
            print("  one round: run --rounds 3 to see how much p99 varies between runs")


def main() -> None:
    """Run the walls and the plain line (alternately, ``--rounds`` times) and print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=150000, help="parcels per hour")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scan-rate", type=float, default=1.0, help="parcels/s to each wall")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=("walls", "plain"))
    args = ap.parse_args()
    base = yaml.safe_load(BASE.read_text())
    missing = base["simulation"].get("manifest_missing_share", 0.0)
    print(
        f"CPUs {os.cpu_count()}  load {os.getloadavg()[0]:.1f}  parcels {args.parcels}  rate "
        f"{args.rate:.0f}/h  seed {args.seed}: {WALLS} walls x {CUBBIES} cubbies on one Atop "
        f"port (nodes 1-{WALLS * CUBBIES}), {CHUTES} routes/chutes"
    )
    runs: list[tuple[str, dict[str, Any]]] = []
    for round_ in range(args.rounds):
        seed = args.seed + round_
        routes = wall_routes(seed, args.rate, missing, args.scan_rate)
        for mode in [args.only] if args.only else ["walls", "plain"]:
            if mode == "walls":
                print(f"walls (seed {seed}) take routes {', '.join(routes)}", flush=True)
            r = run(mode, args, routes, seed)
            runs.append((mode, r))
            show_answer(mode, r)
            if mode == "walls":
                show_walls(r)
    verdicts(runs)


if __name__ == "__main__":
    main()
