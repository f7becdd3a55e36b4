"""``lanesort plan --instance FILE.json``: a sort plan for an instance, with its figures.

Writes ``{"plan": {route: [chute, …]}, "figures": {…}}`` to ``--out`` (or standard
output) and one summary line to standard error, exit 0; an invalid instance (every
problem by field) or one with no plan (the cause, by truck) is a PlanningError: the
``lanesort`` command prints it and exits 1. The instance format is documented in the
README and in ``controller/sortplan/instance.schema.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from controller.errors import PlanningError
from controller.sortplan.instance import MAX_TIME_LIMIT_S, parse_instance
from controller.sortplan.optimiser import optimise


def cmd_plan(args: argparse.Namespace) -> int:
    """Plan the instance file and write the result."""
    path = Path(args.instance)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PlanningError({"instance": f"{path}: cannot read: {err.strerror}"}) from err
    except ValueError as err:
        raise PlanningError({"instance": f"{path}: not valid JSON: {err}"}) from err
    instance = parse_instance(data)
    if args.time_limit is not None:
        if not 0 < args.time_limit <= MAX_TIME_LIMIT_S:
            raise PlanningError({"--time-limit": f"between 0 and {MAX_TIME_LIMIT_S:g} s"})
        instance = replace(instance, time_limit_s=args.time_limit)
    result = optimise(instance)
    text = json.dumps(result.as_dict(), indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    f = result.figures
    print(
        f"{len(result.plan)} routes on {len({c for cs in result.plan.values() for c in cs})} "
        f"chutes: busiest {f.busiest_load:.1f} parcels (mean {f.mean_load:.1f}, lower bound "
        f"{f.lower_bound:.1f}, gap {f.gap:.2%}), {f.routes_moved} routes moved, "
        f"{f.status} in {f.solve_time_s:.2f} s",
        file=sys.stderr,
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``plan`` subcommand."""
    p = sub.add_parser("plan", help="make a sort plan for an instance file (JSON), with figures")
    p.add_argument(
        "--instance", required=True, help="the instance JSON (chutes, doors, trucks, routes)"
    )
    p.add_argument("--out", help="write the plan and its figures here (default: standard output)")
    p.add_argument(
        "--time-limit", type=float, help="seconds (default: the instance's time_limit_s, else 10)"
    )
    return p
