"""The planning instance of a running line, and the line's plan from the optimiser's. Pure.

The line's sort chutes and dock doors (line config), the TMS's route plan (truck ->
door, route -> truck), the manifest's parcels per route and the chutes out of service
make the :class:`~controller.sortplan.instance.Instance`. Once the TMS sends a route
plan, it is the truth: the new sort plan holds its routes, as the optimiser places
them, and of the other routes only those the line needs (a label rule's route) with
their chutes, which the optimiser may not use (:func:`line_plan`). A parcel of a route
the route plan dropped is rejected as ``no_route``, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from controller.sortplan.instance import Chute, Door, Instance, Route, Truck, parse_instance

HEADROOM = 1.25
"""A chute's capacity for the wave, when the config sets none: this times the mean load."""


def wave_capacity(volumes: Mapping[str, int], enabled_chutes: int) -> int:
    """Parcels a chute may take in the wave: :data:`HEADROOM` x the mean load (at least 1)."""
    total = sum(volumes.values())
    return max(1, math.ceil(HEADROOM * total / max(1, enabled_chutes)))


def kept_routes(
    plan: Mapping[str, Sequence[int]], planned: Collection[str], needed: Collection[str]
) -> dict[str, list[int]]:
    """The routes of ``plan`` that stay as they are: ``needed`` and not ``planned``."""
    return {r: list(c) for r, c in plan.items() if r in needed and r not in planned}


def line_instance(
    chutes: Sequence[tuple[int, float]],
    doors: Sequence[tuple[str, float]],
    trucks: Mapping[str, str],
    routes: Mapping[str, str],
    volumes: Mapping[str, int],
    current_plan: Mapping[str, Sequence[int]] | None,
    out_of_service: Collection[int] = (),
    needed: Collection[str] = (),
    capacity: int | None = None,
    time_limit_s: float = 2.0,
    repair: bool = True,
) -> Instance:
    """The instance for the line now: a repair of ``current_plan``, or with ``repair``
    false a fresh plan (``current_plan`` then only says which chutes ``needed`` holds).

    ``chutes`` are (id, position_mm) of the sort chutes, ``doors`` (id, position_mm),
    ``trucks`` truck -> door, ``routes`` route -> truck (the route plan), ``volumes``
    route -> parcels expected (missing: 0). A chute out of service, or carrying a
    ``needed`` route outside the route plan, is not enabled for planning.
    Raises PlanningError (by field) when the inputs do not make an instance.
    """
    kept = kept_routes(current_plan or {}, routes, needed)
    taken = {c for chutes_of in kept.values() for c in chutes_of}
    unusable = set(out_of_service) | taken
    enabled = sum(1 for cid, _ in chutes if cid not in unusable)
    volume = {r: max(0, int(volumes.get(r, 0))) for r in routes}
    cap = capacity or wave_capacity(volume, enabled)
    current = None
    if current_plan is not None and repair:
        current = {r: list(c) for r, c in current_plan.items() if r in routes}
    return parse_instance(
        {
            "chutes": [
                {"id": cid, "position_mm": pos, "capacity": cap, "enabled": cid not in unusable}
                for cid, pos in chutes
            ],
            "doors": [{"id": d, "position_mm": pos} for d, pos in doors],
            "trucks": [{"id": t, "door": d} for t, d in trucks.items()],
            "routes": [{"id": r, "truck": t, "volume": volume[r]} for r, t in routes.items()],
            **({"current_plan": current} if current else {}),
            "time_limit_s": time_limit_s,
        }
    )


def line_plan(
    optimised: Mapping[str, Sequence[int]],
    current_plan: Mapping[str, Sequence[int]],
    needed: Collection[str] = (),
) -> dict[str, list[int]]:
    """The line's sort plan: the optimiser's routes and the ``needed`` ones it kept."""
    plan = kept_routes(current_plan, optimised, needed)
    plan.update({r: list(c) for r, c in optimised.items()})
    return plan


__all__ = [
    "HEADROOM",
    "Chute",
    "Door",
    "Instance",
    "Route",
    "Truck",
    "kept_routes",
    "line_instance",
    "line_plan",
    "wave_capacity",
]
