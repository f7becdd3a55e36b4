"""On the line: a volume surge with the plan kept (static) and with the line re-planning.

    python benchmarks/replan_demo.py [--parcels 2500] [--rate 20000] [--seed 1]
                                     [--only static|replanned]

Runs ``lanesort demo`` on ``plc_configs/demo-line-routeplan.yaml`` (6 trucks x 4
routes, 24 chutes) with ``replanning.policy: auto``, twice:

- **static**: ``replanning.repairs: false``: the line makes one fresh plan when the
  route plan arrives and keeps it;
- **replanned**: ``repairs: true``: it also repairs the plan when the triggers fire.

What the line is not told in advance: the TMS pre-advises each parcel 60 s before it
is created (``simulation.manifest_lookahead_s``), so the fresh plan is made from the
first minute's manifest; from 60 s a fifth of the routes bring 30 % more parcels
(scenario ``volumes``). Each chute's container takes 115 parcels in the wave and is
not swapped before the wave ends (about 1.15 x the mean chute load), so a chute that
carries more than its share fills before the end and its parcels go to the reject
chute as ``chute_full``. The demo line
has no recirculation loop: a parcel that cannot go to its chute is rejected (the
figure printed as "to reject, chute full" is what would recirculate on a loop sorter).
Per run: parcels, sorted, rejected by reason, the plan changes, and wall time.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from controller.cli.ports import free_port

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = "volumes:\n  - {at_s: 60, routes_share: 0.2, factor: 1.3}\n"
CAPACITY = 115
"""Parcels a chute's container takes in the wave (about 1.15 x the mean chute load)."""
SETTINGS = {
    "  volume_departure: 0.25": "  volume_departure: 0.15",
    "  full_after_s: 30": "  full_after_s: 20",
    "  chute_empty_after_s: 10": (
        "  chute_empty_after_s: 3600\n  manifest_lookahead_s: 60\n  chute_capacity_override: {"
        + ", ".join(f"{c}: {CAPACITY}" for c in range(1, 25))
        + "}"
    ),
    "policy: manual": "policy: auto",
}


def config_text(repairs: bool) -> str:
    """demo-line-routeplan.yaml on free ports, with this benchmark's settings."""
    text = (ROOT / "plc_configs" / "demo-line-routeplan.yaml").read_text()
    ports: dict[str, int] = {}
    text = re.sub(
        r"127\.0\.0\.1:(\d+)",
        lambda m: f"127.0.0.1:{ports.setdefault(m.group(1), free_port())}",
        text,
    )
    text = text.replace("port: 4841", f"port: {free_port()}")
    for old, new in {**SETTINGS, "  repairs: true": f"  repairs: {str(repairs).lower()}"}.items():
        if old not in text:
            raise SystemExit(f"demo-line-routeplan.yaml no longer has {old.strip()!r}")
        text = text.replace(old, new)
    return text


def run(mode: str, parcels: int, rate: int, seed: int) -> dict:
    """One ``lanesort demo`` run; its report."""
    with tempfile.TemporaryDirectory(prefix=f"replan-{mode}-") as tmp:
        folder = Path(tmp)
        config = folder / "line.yaml"
        config.write_text(config_text(repairs=mode == "replanned"))
        scenario = folder / "surge.yaml"
        scenario.write_text(SCENARIO)
        report = folder / "report.json"
        cmd = [sys.executable, "-m", "controller.cli", "demo", "--config", str(config),
               "--scenario", str(scenario), "--parcels", str(parcels), "--rate", str(rate),
               "--seed", str(seed), "--report", str(report), "--data-dir",
               str(folder / "data"), "--plain"]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=folder)
        if done.returncode != 0:
            raise SystemExit(f"{mode}: demo failed\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        result = json.loads(report.read_text())
        result["wall_s"] = time.monotonic() - started
        return result


def show(mode: str, r: dict) -> None:
    """One run's figures."""
    reasons = r["rejected_by_reason"]
    full = reasons.get("chute_full", 0)
    print(
        f"{mode:9}  inducted {r['inducted']}  sorted {r['sorted_right_chute']}  "
        f"wrong chute {r['sorted_wrong_chute']}  rejected {r['rejected']}  "
        f"to reject, chute full {full} ({full / max(1, r['inducted']):.1%})  "
        f"lost {r['lost']}  wall {r['wall_s']:.0f} s"
    )
    print(f"           rejected by reason: {json.dumps(reasons)}")
    for change in r.get("plan_changes", []):
        print(f"           plan v{change['version']}: {change['reason']}")


def main() -> None:
    """Run the static and the re-planned shift and print both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=2500)
    parser.add_argument("--rate", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("static", "replanned"))
    args = parser.parse_args()
    print(
        f"{args.parcels} parcels at {args.rate}/h, seed {args.seed}: a fifth of the routes "
        f"+30 % from 60 s, manifest advised 60 s ahead, chutes take {CAPACITY} in the wave"
    )
    for mode in [args.only] if args.only else ["static", "replanned"]:
        show(mode, run(mode, args.parcels, args.rate, args.seed))


if __name__ == "__main__":
    main()
