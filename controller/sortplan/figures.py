"""What a plan achieves, in figures, and whether it keeps the rules. Pure.

Every plan the optimiser returns carries :class:`Figures`; :func:`check_plan` lists
what breaks a rule (tests and the API use it on any plan, hand-made or optimised).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from controller.sortplan.fill import EPS, loads_of
from controller.sortplan.instance import Instance

OPTIMAL, FEASIBLE, FALLBACK = "optimal", "feasible", "fallback"
"""Status: the busiest chute is at the proven lower bound / a valid plan above it / the
time limit cut the search and the greedy plan (valid, maybe less balanced) is returned."""


@dataclass(frozen=True)
class Figures:
    """What a plan achieves (loads in parcels per chute for the wave)."""

    busiest_load: float
    mean_load: float
    lower_bound: float
    gap: float
    """(busiest - lower bound) / lower bound: 0 when provably the most balanced."""
    chutes_per_route_mean: float
    chutes_per_route_max: int
    fewest_chutes_per_route_mean: float
    fewest_chutes_per_route_max: int
    span_excess: dict[str, int]
    """Per truck whose chutes are not one block: chutes of others inside its span."""
    routes_moved: int
    chutes_over_capacity: int
    solve_time_s: float
    status: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, loads rounded to 0.01 parcel."""
        values = asdict(self)
        for key in (
            "busiest_load",
            "mean_load",
            "lower_bound",
            "chutes_per_route_mean",
            "fewest_chutes_per_route_mean",
        ):
            values[key] = round(values[key], 2)
        values["gap"] = round(self.gap, 4)
        values["solve_time_s"] = round(self.solve_time_s, 3)
        return values


def moved_routes(
    plan: Mapping[str, Sequence[int]], current: Mapping[str, Sequence[int]] | None
) -> int:
    """Routes of the current plan whose chutes changed."""
    if current is None:
        return 0
    return sum(1 for r, chutes in current.items() if r in plan and set(plan[r]) != set(chutes))


def span_excess(instance: Instance, plan: Mapping[str, Sequence[int]]) -> dict[str, int]:
    """Per truck: how many enabled chutes of other trucks (or none) lie inside its span."""
    index = {c.id: i for i, c in enumerate(instance.enabled)}
    truck_of = {r.id: r.truck for r in instance.routes}
    mine: dict[str, set[int]] = {}
    for route, chutes in plan.items():
        mine.setdefault(truck_of[route], set()).update(index[c] for c in chutes if c in index)
    excess = {}
    for truck, spots in mine.items():
        if spots:
            extra = max(spots) - min(spots) + 1 - len(spots)
            if extra:
                excess[truck] = extra
    return excess


def figures(
    instance: Instance,
    plan: Mapping[str, Sequence[int]],
    lower_bound: float,
    solve_time_s: float,
    status: str,
) -> Figures:
    """The figures of ``plan`` for ``instance``."""
    volume = {r.id: r.volume for r in instance.routes}
    loads = loads_of(plan, volume)
    enabled = instance.enabled
    capacity = {c.id: c.capacity for c in instance.chutes}
    busiest = max(loads.values(), default=0.0)
    largest = max((c.capacity for c in enabled), default=1)
    fewest = [max(1, math.ceil(r.volume / largest)) for r in instance.routes]
    counts = [len(plan.get(r.id, ())) for r in instance.routes]
    if status == OPTIMAL and busiest > lower_bound + EPS:
        status = FEASIBLE
    return Figures(
        busiest_load=busiest,
        mean_load=sum(volume.values()) / max(1, len(enabled)),
        lower_bound=lower_bound,
        gap=(busiest - lower_bound) / lower_bound if lower_bound > 0 else 0.0,
        chutes_per_route_mean=sum(counts) / max(1, len(counts)),
        chutes_per_route_max=max(counts, default=0),
        fewest_chutes_per_route_mean=sum(fewest) / max(1, len(fewest)),
        fewest_chutes_per_route_max=max(fewest, default=0),
        span_excess=span_excess(instance, plan),
        routes_moved=moved_routes(plan, instance.current_plan),
        chutes_over_capacity=sum(1 for c, load in loads.items() if load > capacity[c] + EPS),
        solve_time_s=solve_time_s,
        status=status,
    )


def check_plan(instance: Instance, plan: Mapping[str, Sequence[int]]) -> dict[str, str]:
    """Every broken rule of ``plan``, by route or chute (empty: the plan keeps them all)."""
    problems: dict[str, str] = {}
    enabled = {c.id: c for c in instance.enabled}
    truck_of = {r.id: r.truck for r in instance.routes}
    carried: dict[int, str] = {}
    for route in instance.routes:
        chutes = plan.get(route.id)
        if not chutes:
            problems[route.id] = "has no chute"
            continue
        if len(set(chutes)) != len(chutes):
            problems[route.id] = "names a chute twice"
        if route.max_chutes is not None and len(chutes) > route.max_chutes:
            problems[route.id] = f"on {len(chutes)} chutes, at most {route.max_chutes}"
        for chute in chutes:
            if chute not in enabled:
                problems[route.id] = f"chute {chute} is not an enabled chute"
                continue
            other = carried.setdefault(chute, route.truck)
            if other != route.truck:
                problems[f"chute {chute}"] = f"carries trucks {other} and {route.truck}"
    for route in plan:
        if route not in truck_of:
            problems[route] = "is not a route of the instance"
    for truck, extra in span_excess(
        instance, {r: c for r, c in plan.items() if r in truck_of}
    ).items():
        problems[f"truck {truck}"] = f"its chutes are not one block ({extra} others inside)"
    volume = {r.id: r.volume for r in instance.routes}
    known = {r: c for r, c in plan.items() if r in volume and all(x in enabled for x in c) and c}
    for chute, load in loads_of(known, volume).items():
        if load > enabled[chute].capacity + EPS:
            problems[f"chute {chute}"] = f"{load:.1f} parcels, holds {enabled[chute].capacity}"
    return problems
