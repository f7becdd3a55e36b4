"""A planning instance: the chutes, doors, trucks and routes a sort plan is made for.

Read from JSON (``lanesort plan --instance FILE``, and later from the line and the TMS's
route plan) and checked as a whole: every problem is reported by its field
(``routes[3].truck``), nothing is planned from a half-valid instance. Pure.

Volumes and capacities are in parcels for the wave. A route's volume is split evenly
over its chutes. Two enabled chutes are adjacent when no other enabled chute lies
between them by position; a truck's chutes must form one block of adjacent chutes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.errors import PlanningError

_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
MAX_TIME_LIMIT_S = 600.0


@dataclass(frozen=True, slots=True)
class Chute:
    """A sort chute: where it is along the sorter, how many parcels its container holds."""

    id: int
    position_mm: float
    capacity: int
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Door:
    """A dock door and where it is along the sorter."""

    id: str
    position_mm: float


@dataclass(frozen=True, slots=True)
class Truck:
    """A truck at a dock door."""

    id: str
    door: str


@dataclass(frozen=True, slots=True)
class Route:
    """A delivery route of one truck, and the parcels expected for it in the wave."""

    id: str
    truck: str
    volume: int
    max_chutes: int | None = None
    """At most this many chutes for the route (None: as many as the truck's block has)."""


@dataclass(frozen=True)
class Instance:
    """Everything a plan is made from; ``current_plan`` present: a repair of that plan."""

    chutes: tuple[Chute, ...]
    doors: tuple[Door, ...]
    trucks: tuple[Truck, ...]
    routes: tuple[Route, ...]
    current_plan: dict[str, tuple[int, ...]] | None = None
    time_limit_s: float = 10.0
    door_position: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "door_position", {d.id: d.position_mm for d in self.doors})

    @property
    def enabled(self) -> tuple[Chute, ...]:
        """The enabled chutes, in order of position (then id)."""
        return tuple(
            sorted((c for c in self.chutes if c.enabled), key=lambda c: (c.position_mm, c.id))
        )

    def truck_volume(self) -> dict[str, int]:
        """Parcels per truck (the sum of its routes' volumes)."""
        volume = {t.id: 0 for t in self.trucks}
        for route in self.routes:
            volume[route.truck] += route.volume
        return volume

    def routes_of(self) -> dict[str, list[Route]]:
        """Each truck's routes."""
        routes: dict[str, list[Route]] = {t.id: [] for t in self.trucks}
        for route in self.routes:
            routes[route.truck].append(route)
        return routes


def _number(
    value: object, where: str, problems: dict[str, str], *, low: float = 0, integer: bool = False
) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems[where] = f"expected a number, not {type(value).__name__}"
        return None
    if integer and value != int(value):
        problems[where] = f"expected a whole number, not {value}"
        return None
    if value < low:
        problems[where] = f"must be {low:g} or more, not {value:g}"
        return None
    return value


def _ident(value: object, where: str, problems: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not _ID.match(value):
        problems[where] = "expected 1-64 printable characters"
        return None
    return value


def _items(data: Mapping[str, Any], key: str, problems: dict[str, str]) -> list[Mapping[str, Any]]:
    items = data.get(key)
    if not isinstance(items, list) or not items:
        problems[key] = "expected a non-empty array of objects"
        return []
    good = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            good.append((i, item))
        else:
            problems[f"{key}[{i}]"] = f"expected an object, not {type(item).__name__}"
    return good  # type: ignore[return-value]


def _unknown(
    item: Mapping[str, Any], where: str, known: set[str], problems: dict[str, str]
) -> None:
    for key in item:
        if key not in known:
            problems[f"{where}.{key}"] = "unknown field"


def parse_instance(data: object) -> Instance:
    """An :class:`Instance` from decoded JSON; raises PlanningError with every problem by field."""
    problems: dict[str, str] = {}
    if not isinstance(data, Mapping):
        raise PlanningError({"instance": "expected a JSON object"})
    _unknown(
        data,
        "instance",
        {"chutes", "doors", "trucks", "routes", "current_plan", "time_limit_s"},
        problems,
    )
    chutes: list[Chute] = []
    for i, item in _items(data, "chutes", problems):
        where = f"chutes[{i}]"
        _unknown(item, where, {"id", "position_mm", "capacity", "enabled"}, problems)
        cid = _number(item.get("id"), f"{where}.id", problems, low=1, integer=True)
        pos = _number(item.get("position_mm"), f"{where}.position_mm", problems)
        cap = _number(item.get("capacity"), f"{where}.capacity", problems, low=1, integer=True)
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            problems[f"{where}.enabled"] = "expected true or false"
        if None not in (cid, pos, cap) and isinstance(enabled, bool):
            chutes.append(Chute(int(cid), float(pos), int(cap), enabled))  # type: ignore[arg-type]
    doors: list[Door] = []
    for i, item in _items(data, "doors", problems):
        where = f"doors[{i}]"
        _unknown(item, where, {"id", "position_mm"}, problems)
        did = _ident(item.get("id"), f"{where}.id", problems)
        pos = _number(item.get("position_mm"), f"{where}.position_mm", problems)
        if did is not None and pos is not None:
            doors.append(Door(did, float(pos)))
    trucks: list[Truck] = []
    for i, item in _items(data, "trucks", problems):
        where = f"trucks[{i}]"
        _unknown(item, where, {"id", "door"}, problems)
        tid = _ident(item.get("id"), f"{where}.id", problems)
        door = _ident(item.get("door"), f"{where}.door", problems)
        if tid is not None and door is not None:
            trucks.append(Truck(tid, door))
    routes: list[Route] = []
    for i, item in _items(data, "routes", problems):
        where = f"routes[{i}]"
        _unknown(item, where, {"id", "truck", "volume", "max_chutes"}, problems)
        rid = _ident(item.get("id"), f"{where}.id", problems)
        truck = _ident(item.get("truck"), f"{where}.truck", problems)
        volume = _number(item.get("volume"), f"{where}.volume", problems, integer=True)
        most = item.get("max_chutes")
        if most is not None:
            most = _number(most, f"{where}.max_chutes", problems, low=1, integer=True)
            if most is None:
                continue
        if None not in (rid, truck, volume):
            routes.append(Route(rid, truck, int(volume), None if most is None else int(most)))  # type: ignore[arg-type]
    _check_references(chutes, doors, trucks, routes, data, problems)
    current = _current_plan(data.get("current_plan"), problems)
    limit = data.get("time_limit_s", 10.0)
    limit = _number(limit, "time_limit_s", problems, low=0.01)
    if limit is not None and limit > MAX_TIME_LIMIT_S:
        problems["time_limit_s"] = f"at most {MAX_TIME_LIMIT_S:g} s"
    if problems:
        raise PlanningError(problems)
    return Instance(
        tuple(chutes), tuple(doors), tuple(trucks), tuple(routes), current, float(limit)
    )  # type: ignore[arg-type]


def _duplicates(ids: Sequence[object], key: str, problems: dict[str, str]) -> None:
    seen: set[object] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            problems[f"{key}[{i}].id"] = f"{ident} is given twice"
        seen.add(ident)


def _check_references(
    chutes: list[Chute],
    doors: list[Door],
    trucks: list[Truck],
    routes: list[Route],
    data: Mapping[str, Any],
    problems: dict[str, str],
) -> None:
    _duplicates([c.id for c in chutes], "chutes", problems)
    _duplicates([d.id for d in doors], "doors", problems)
    _duplicates([t.id for t in trucks], "trucks", problems)
    _duplicates([r.id for r in routes], "routes", problems)
    door_ids = {d.id for d in doors}
    for i, truck in enumerate(trucks):
        if truck.door not in door_ids:
            problems[f"trucks[{i}].door"] = f"no door {truck.door!r} in doors"
    truck_ids = {t.id for t in trucks}
    for i, route in enumerate(routes):
        if route.truck not in truck_ids:
            problems[f"routes[{i}].truck"] = f"no truck {route.truck!r} in trucks"
    with_routes = {r.truck for r in routes}
    for i, truck in enumerate(trucks):
        if truck.id not in with_routes and "routes" in data:
            problems[f"trucks[{i}]"] = f"truck {truck.id} has no route"


def _current_plan(value: object, problems: dict[str, str]) -> dict[str, tuple[int, ...]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems["current_plan"] = "expected an object: route -> [chute, ...]"
        return None
    plan: dict[str, tuple[int, ...]] = {}
    for route, chutes in value.items():
        if not isinstance(chutes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in chutes
        ):
            problems[f"current_plan.{route}"] = "expected an array of chute ids"
            continue
        plan[str(route)] = tuple(chutes)
    return plan


def instance_as_dict(instance: Instance) -> dict[str, Any]:
    """The instance back as JSON-ready data (the format :func:`parse_instance` reads)."""
    data: dict[str, Any] = {
        "chutes": [
            {"id": c.id, "position_mm": c.position_mm, "capacity": c.capacity, "enabled": c.enabled}
            for c in instance.chutes
        ],
        "doors": [{"id": d.id, "position_mm": d.position_mm} for d in instance.doors],
        "trucks": [{"id": t.id, "door": t.door} for t in instance.trucks],
        "routes": [
            {"id": r.id, "truck": r.truck, "volume": r.volume}
            | ({} if r.max_chutes is None else {"max_chutes": r.max_chutes})
            for r in instance.routes
        ],
        "time_limit_s": instance.time_limit_s,
    }
    if instance.current_plan is not None:
        data["current_plan"] = {r: list(c) for r, c in instance.current_plan.items()}
    return data
