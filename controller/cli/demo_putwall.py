"""The demo after the sort: the put walls and doors finish, trucks close, the report's figures.

When every parcel of the run has its sort outcome, the simulated operators are still
putting the last parcels, weighing the last containers and loading them. :func:`finish`
waits while they make progress; then, as a supervisor does at departure time, it closes
every cubby still holding parcels (a stop whose last parcel never came: a no-read at the
tunnel, say), waits for those containers to be weighed and loaded, and closes every truck
not yet reported loaded (what is not there did not arrive). :func:`figures`
builds the report's ``putwall`` section: puts, loads, what the line caught, labels, what
was not loaded and why, and whether each truck was loaded last stop first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from controller.auth.audit import Actor
from controller.errors import CommandRefused
from controller.line import LineController

log = logging.getLogger(__name__)

#: Nothing new at the walls and doors this long: the simulated people are done.
QUIET_S = 10.0

#: The demo's stand-in for the supervisor who closes trucks at departure time.
DEMO_SUPERVISOR = Actor("demo", "supervisor", "console")


def _progress(line: LineController) -> tuple[Any, ...]:
    walls = tuple(tuple(sorted(u.wall.counts.items())) for u in line.putwall.units.values())
    states = tuple(
        sorted(Counter(c.state for c in line.putwall.closeout.containers.values()).items())
    )
    moved = line.transport.changes if line.transport is not None else 0
    return walls, states, tuple(len(t.loaded_units) for t in line.loading.trucks.values()), moved


def _moving(line: LineController) -> bool:
    """True while a container is on its way (an AMR or the AS/RS is moving it)."""
    return line.transport is not None and line.transport.moving() > 0


async def finish(
    line: LineController, *, budget_s: float = 600.0, quiet_s: float = QUIET_S
) -> None:
    """Wait while the walls and doors make progress; close the cubbies still holding
    parcels and wait again; then close every truck not reported loaded.

    "No progress" is nothing new at any wall or door for ``quiet_s``, and no container
    on its way.
    """
    if not line.config.putwall.walls and not line.config.loading.stations:
        return
    await _while_busy(line, quiet_s, budget_s)
    closed = 0
    for wall_id, unit in line.putwall.units.items():
        for cubby in unit.wall.cubbies.values():
            if cubby.parcels and not cubby.full:
                await line.putwall.close_cubby(wall_id, cubby.id, DEMO_SUPERVISOR)
                closed += 1
    if closed:
        print(f"departure: {closed} cubbies closed with the parcels put so far", flush=True)
        await _while_busy(line, quiet_s, budget_s)
    if line.transport is not None:
        for truck in line.route_plan.active.trucks:
            line.transport.finalize(truck.id)  # departure: load what there is
        await _while_busy(line, quiet_s, budget_s)
        for _ in range(3):  # the supervisor looks at each stuck container and sends it on
            stuck = [c.id for c in line.transport.carriages.values() if c.phase == "stuck"]
            retried = 0
            for container_id in stuck:
                try:
                    line.transport.retry(container_id, DEMO_SUPERVISOR, "departure: checked")
                    retried += 1
                except CommandRefused as err:
                    print(f"container {container_id} left where it is: {err}", flush=True)
            if not retried:
                break
            print(f"departure: {retried} stuck containers sent on", flush=True)
            await _while_busy(line, quiet_s, budget_s)
    for truck in line.route_plan.active.trucks:
        load = line.loading.trucks.get(truck.id)
        if load is None or not load.done:
            summary = await line.loading.close_truck(
                truck.id, DEMO_SUPERVISOR, "departure: what is not here did not arrive"
            )
            print(f"truck {truck.id} closed: {summary.get('outcomes')}", flush=True)
    await line.journal.barrier()


async def _while_busy(line: LineController, quiet_s: float, budget_s: float) -> None:
    """Until nothing changed at the walls and doors for ``quiet_s`` and no container is on
    its way (or every truck is loaded, or ``budget_s`` passed)."""
    started = last_change = time.monotonic()
    last = _progress(line)
    while time.monotonic() - started < budget_s:
        await asyncio.sleep(1.0)
        if line.loading.all_done():
            return
        now = _progress(line)
        if now != last or _moving(line):
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            return


def figures(line: LineController) -> dict[str, Any]:
    """The report's ``putwall`` section."""
    counts: Counter[str] = Counter()
    for unit in line.putwall.units.values():
        counts.update(unit.wall.counts)
    not_loaded: Counter[str] = Counter()
    trucks = {}
    loaded = 0
    for truck_id, load in sorted(line.loading.trucks.items()):
        summary = load.summary or {}
        outcomes = summary.get("outcomes", load.ledger.counts())
        loaded += outcomes.get("loaded", 0)
        for item in summary.get("not_loaded", load.ledger.not_loaded()):
            not_loaded[_reason_kind(item)] += 1
        trucks[truck_id] = {
            "door": load.door,
            "expected": len(load.ledger.expected),
            "outcomes": outcomes,
            "containers_loaded": len(load.loaded_units),
            "last_stop_first": summary.get("in_sequence"),
            "weight_kg": summary.get("weight_kg"),
            "volume_m3": summary.get("volume_m3"),
        }
    closeout = line.putwall.closeout
    return {
        "put": counts.get("put", 0),
        "loaded": loaded,
        "wrong_puts_caught": counts.get("wrong_put", 0),
        "weight_mismatches_caught": closeout.mismatches,
        "labels_printed": closeout.labels_printed,
        "short": counts.get("short", 0),
        "exceptions": counts.get("exception", 0),
        "duplicates": counts.get("duplicate", 0),
        "idle_presses": counts.get("idle_press", 0),
        "abandoned_puts": counts.get("abandoned", 0),
        "stops_complete": counts.get("stop_complete", 0),
        "containers_closed": len(closeout.containers),
        "out_of_sequence_loads": line.loading.out_of_sequence,
        "wrong_truck_refused": line.loading.wrong_truck,
        "not_loaded": dict(sorted(not_loaded.items())),
        "trucks": trucks,
    }


def _reason_kind(item: dict[str, Any]) -> str:
    """``not_loaded`` items by outcome (``short``, ``rejected``, ``not_arrived`` …)."""
    return str(item.get("outcome") or item.get("reason") or "unknown")
