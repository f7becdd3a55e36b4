"""Which vehicle does what: tasks to the nearest able vehicle, low batteries to a charger,
idle vehicles home. Pure: it answers decisions, the service carries them out."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from controller.fleet.graph import Graph
from plc_configs.fleet import DispatchPolicy, Layout


@dataclass(frozen=True, slots=True)
class VehicleView:
    """What the dispatcher needs to know of one vehicle."""

    key: str
    node: str | None
    """The node it stands on (its ``lastNodeId``), None when unknown."""
    free: bool
    """Online, not lost, no FATAL error, no order or action running, no job of ours, no load."""
    battery: float
    charging: bool = False
    home: str | None = None
    """Its parking station's node."""


@dataclass(frozen=True, slots=True)
class TaskView:
    """A queued task: its id, the pick station's node, vehicles and lanes to leave out."""

    id: str
    pick_node: str
    drop_node: str
    refused_by: frozenset[str] = frozenset()
    avoid: frozenset[str] = frozenset()


@dataclass
class Decisions:
    """What to do now."""

    assign: list[tuple[str, str]] = field(default_factory=list)
    """(task id, vehicle key)."""
    charge: list[tuple[str, str]] = field(default_factory=list)
    """(vehicle key, charger station id)."""
    stop_charging: list[str] = field(default_factory=list)
    park: list[str] = field(default_factory=list)
    """Vehicles to send to their home."""


def decide(
    tasks: Sequence[TaskView],
    vehicles: Sequence[VehicleView],
    graph: Graph,
    policy: DispatchPolicy,
    *,
    chargers_taken: Collection[str] = (),
    park_idle: Collection[str] = (),
) -> Decisions:
    """Decisions for queued ``tasks`` (oldest first) and ``vehicles``.

    A task goes to the free vehicle with the shortest route to its pick station whose
    battery is at least ``min_battery_pct`` and that can drive pick to drop; a vehicle that
    refused the task is used only when no other can take it. A free vehicle under the
    minimum goes to the nearest free charger; a charging one at ``charged_pct`` stops
    charging (then works again). ``park_idle``: free vehicles idle long enough to go home.
    """
    out = Decisions()
    layout = graph.layout
    taken: set[str] = set()
    for vehicle in vehicles:
        if not vehicle.free or vehicle.node is None:
            continue
        if vehicle.charging:
            if vehicle.battery >= policy.charged_pct:
                out.stop_charging.append(vehicle.key)
            taken.add(vehicle.key)
        elif vehicle.battery < policy.min_battery_pct:
            charger = _nearest_charger(layout, graph, vehicle.node, chargers_taken)
            if charger is not None:
                out.charge.append((vehicle.key, charger))
                chargers_taken = {*chargers_taken, charger}
            taken.add(vehicle.key)
    able = [
        v
        for v in vehicles
        if v.free and v.node is not None and v.key not in taken and not v.charging
    ]
    for task in tasks:
        best = _nearest(task, [v for v in able if v.key not in task.refused_by], graph)
        if best is None:
            best = _nearest(task, [v for v in able if v.key in task.refused_by], graph)
        if best is None:
            continue
        out.assign.append((task.id, best.key))
        able.remove(best)
    for vehicle in able:
        if vehicle.key in park_idle and vehicle.home is not None and vehicle.node != vehicle.home:
            out.park.append(vehicle.key)
    return out


def _nearest(task: TaskView, vehicles: list[VehicleView], graph: Graph) -> VehicleView | None:
    if math.isinf(graph.distance(task.pick_node, task.drop_node, avoid=task.avoid)):
        return None
    scored = []
    for vehicle in vehicles:
        assert vehicle.node is not None
        dist = graph.distance(vehicle.node, task.pick_node, avoid=task.avoid)
        if not math.isinf(dist):
            scored.append((dist, vehicle.key, vehicle))
    return min(scored)[2] if scored else None


def _nearest_charger(layout: Layout, graph: Graph, node: str, taken: Collection[str]) -> str | None:
    scored = []
    for station in layout.stations_of("charger"):
        if station.id in taken:
            continue
        dist = graph.distance(node, station.node)
        if not math.isinf(dist):
            scored.append((dist, station.id))
    return min(scored)[1] if scored else None
