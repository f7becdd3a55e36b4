"""The route plan from the TMS, pure: trucks at dock doors, their routes, each route's stops.

The TMS sends the whole plan at once (``PUT /api/v1/route-plan``); :func:`parse_route_plan`
checks it as a whole and reports every problem by its field path, nothing is taken from a
half-valid plan. Field paths:

* trucks by their index: ``trucks.3.door``;
* routes by their id (``routes.R017.truck``, ``routes.R017.stops.2.sequence``, stops by
  index), or by index where the id itself is bad or repeated (``routes.5.id``);
* ``trucks``, ``routes`` for the lists themselves.

Rules:

* at least one truck and one route; at most :data:`MAX_ROUTES` routes and
  :data:`MAX_STOPS` stops per route (each route has at least one stop);
* truck and route ids are 1-64 printable characters, unique among trucks (routes);
* a truck's door is one of the line config's ``topology.doors``;
* a route's truck is in ``trucks``; a truck with no route is allowed (a truck that
  waits at its door, or whose routes come in a later plan);
* stop sequences are whole numbers 0..2147483647 (as in the manifest) and rise along
  the route, none repeated;
* times are ISO 8601 with a timezone (``2026-12-04T06:00:00Z``), kept as epoch seconds;
  a departure is not before its arrival, a window's end not before its start;
* capacities (kg, m³) are numbers, 0 or more; a consignee is at most 200 characters.

Arrival, departure, capacities, a stop's consignee and window are optional (null or
absent). Keys ``version``, ``time``, ``actor`` and ``reason`` of :meth:`RoutePlan.as_dict`
are ignored, so a plan read from the API can be sent back; any other unknown key is a
problem. No I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.errors import RoutePlanError

#: Most routes in one plan.
MAX_ROUTES = 10_000
#: Most stops of one route.
MAX_STOPS = 1_000
#: Largest stop sequence (the manifest's limit, fits every SQL integer type).
MAX_SEQUENCE = 2**31 - 1
#: Longest consignee (the manifest's limit).
MAX_CONSIGNEE = 200

#: 9999-12-31T23:59:59Z: the last time an ISO date can write.
_LAST_TIME = 253402300799

_ID = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ENVELOPE = frozenset({"version", "time", "actor", "reason"})
_TRUCK_KEYS = frozenset({"id", "door", "arrival", "departure", "capacity_kg", "capacity_m3"})
_ROUTE_KEYS = frozenset({"id", "truck", "stops"})
_STOP_KEYS = frozenset({"sequence", "consignee", "window_start", "window_end"})


@dataclass(frozen=True, slots=True)
class Stop:
    """One stop of a route, in driving order; times are epoch seconds."""

    sequence: int
    consignee: str | None = None
    window_start: float | None = None
    window_end: float | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A delivery route: the truck that drives it and its stops in driving order."""

    id: str
    truck: str
    stops: tuple[Stop, ...]


@dataclass(frozen=True, slots=True)
class Truck:
    """A truck at a dock door; times are epoch seconds, capacities None when not given."""

    id: str
    door: str
    arrival: float | None = None
    departure: float | None = None
    capacity_kg: float | None = None
    capacity_m3: float | None = None


@dataclass(frozen=True)
class RoutePlan:
    """One version of the route plan: who sent it (``actor``), when (epoch s) and why."""

    version: int
    trucks: tuple[Truck, ...]
    routes: tuple[Route, ...]
    time: float = 0
    actor: str = ""
    reason: str | None = None
    _trucks: dict[str, Truck] = field(init=False, repr=False, compare=False)
    _routes: dict[str, Route] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trucks", {t.id: t for t in self.trucks})
        object.__setattr__(self, "_routes", {r.id: r for r in self.routes})

    @classmethod
    def empty(cls) -> RoutePlan:
        """No plan yet (version 0)."""
        return cls(0, (), ())

    def truck(self, truck_id: str) -> Truck | None:
        """The truck ``truck_id``, or None."""
        return self._trucks.get(truck_id)

    def route(self, route_id: str) -> Route | None:
        """The route ``route_id``, or None."""
        return self._routes.get(route_id)

    def truck_of(self, route_id: str) -> str | None:
        """The id of the truck that drives ``route_id``, or None for an unknown route."""
        route = self._routes.get(route_id)
        return route.truck if route else None

    def routes_of(self, truck_id: str) -> tuple[str, ...]:
        """The ids of ``truck_id``'s routes, in plan order (empty for a truck with none)."""
        return tuple(r.id for r in self.routes if r.truck == truck_id)

    def trucks_by_route(self) -> dict[str, str]:
        """Route id -> truck id, for every route."""
        return {r.id: r.truck for r in self.routes}

    def stop_count(self) -> int:
        """The stops of every route together."""
        return sum(len(r.stops) for r in self.routes)

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON: the TMS's shape plus ``version``, ``time`` (ISO), ``actor``,
        ``reason``."""
        return {
            "version": self.version,
            "time": iso(self.time) if self.version else None,
            "actor": self.actor,
            "reason": self.reason,
            "trucks": [
                {
                    "id": t.id,
                    "door": t.door,
                    "arrival": iso(t.arrival),
                    "departure": iso(t.departure),
                    "capacity_kg": t.capacity_kg,
                    "capacity_m3": t.capacity_m3,
                }
                for t in self.trucks
            ],
            "routes": [
                {
                    "id": r.id,
                    "truck": r.truck,
                    "stops": [
                        {
                            "sequence": s.sequence,
                            "consignee": s.consignee,
                            "window_start": iso(s.window_start),
                            "window_end": iso(s.window_end),
                        }
                        for s in r.stops
                    ],
                }
                for r in self.routes
            ],
        }


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (``2026-12-04T06:00:00Z``), or None."""
    if epoch is None:
        return None
    text = datetime.fromtimestamp(epoch, UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_route_plan(
    body: Mapping[str, Any], door_ids: Collection[str]
) -> tuple[tuple[Truck, ...], tuple[Route, ...]]:
    """The trucks and routes of ``body`` (decoded JSON, shape in the module docstring).

    ``door_ids`` are the line config's dock doors. Raises :class:`RoutePlanError` with
    every problem by field path.
    """
    problems: dict[str, str] = {}
    if not isinstance(body, Mapping):
        raise RoutePlanError({"body": "expected a JSON object with trucks and routes"})
    for key in body:
        if key not in {"trucks", "routes"} | _ENVELOPE:
            problems[str(key)] = "unknown field"
    trucks, given = _trucks(body.get("trucks"), door_ids, problems)
    routes = _routes(body.get("routes"), given, problems)
    if problems:
        raise RoutePlanError(problems)
    return trucks, routes


def _trucks(
    value: object, door_ids: Collection[str], problems: dict[str, str]
) -> tuple[tuple[Truck, ...], set[str]]:
    """The good trucks, and the ids of every truck given (a truck refused for its door or
    times is reported there; its routes are not also "not in trucks")."""
    items = _array(value, "trucks", "truck", problems)
    doors = set(door_ids)
    first: dict[str, int] = {}
    trucks: list[Truck] = []
    for i, item in items:
        where = f"trucks.{i}"
        _unknown(item, where, _TRUCK_KEYS, problems)
        tid = _ident(item.get("id"), f"{where}.id", problems)
        if tid is not None and tid in first:
            problems[f"{where}.id"] = f"truck {tid} is also trucks.{first[tid]}"
            tid = None
        door = _ident(item.get("door"), f"{where}.door", problems)
        if door is not None and door not in doors:
            if not doors:
                problems["trucks.0.door"] = (
                    "the line config has no topology.doors; add the dock doors first"
                )
            else:
                known = ", ".join(sorted(doors))
                problems[f"{where}.door"] = f"door {door} is not a dock door of this line ({known})"
            door = None
        arrival = _time(item.get("arrival"), f"{where}.arrival", problems)
        departure = _time(item.get("departure"), f"{where}.departure", problems)
        if arrival is not None and departure is not None and departure < arrival:
            problems[f"{where}.departure"] = (
                f"departure {iso(departure)} is before arrival {iso(arrival)}"
            )
        kg = _capacity(item.get("capacity_kg"), f"{where}.capacity_kg", problems)
        m3 = _capacity(item.get("capacity_m3"), f"{where}.capacity_m3", problems)
        if tid is not None:
            first[tid] = i
            if door is not None:
                trucks.append(Truck(tid, door, arrival, departure, kg, m3))
    return tuple(trucks), set(first)


def _routes(value: object, truck_ids: set[str], problems: dict[str, str]) -> tuple[Route, ...]:
    items = _array(value, "routes", "route", problems)
    if len(items) > MAX_ROUTES:
        problems["routes"] = f"at most {MAX_ROUTES} routes in one plan, not {len(items)}"
        return ()
    first: dict[str, int] = {}
    routes: list[Route] = []
    for i, item in items:
        where = f"routes.{i}"
        rid = _ident(item.get("id"), f"{where}.id", problems)
        if rid is not None and rid in first:
            problems[f"{where}.id"] = f"route {rid} is also routes.{first[rid]}"
            rid = None
        elif rid is not None:
            first[rid] = i
            where = f"routes.{rid}"
        _unknown(item, where, _ROUTE_KEYS, problems)
        truck = _ident(item.get("truck"), f"{where}.truck", problems)
        if truck is not None and truck not in truck_ids:
            problems[f"{where}.truck"] = f"truck {truck} is not in trucks"
        stops = _stops(item.get("stops"), f"{where}.stops", problems)
        if rid is not None and truck is not None and stops is not None:
            routes.append(Route(rid, truck, stops))
    return tuple(routes)


def _stops(value: object, where: str, problems: dict[str, str]) -> tuple[Stop, ...] | None:
    if not isinstance(value, list) or not value:
        problems[where] = "expected a non-empty array of stops in driving order"
        return None
    if len(value) > MAX_STOPS:
        problems[where] = f"at most {MAX_STOPS} stops in one route, not {len(value)}"
        return None
    stops: list[Stop] = []
    ok = True
    seen: dict[int, int] = {}
    last: int | None = None
    for i, item in enumerate(value):
        at = f"{where}.{i}"
        if not isinstance(item, Mapping):
            problems[at] = f"expected an object, not {_kind(item)}"
            ok = False
            continue
        _unknown(item, at, _STOP_KEYS, problems)
        sequence = _sequence(item.get("sequence"), f"{at}.sequence", problems)
        if sequence is not None:
            if sequence in seen:
                problems[f"{at}.sequence"] = (
                    f"sequence {sequence} is given twice (also {where}.{seen[sequence]})"
                )
            elif last is not None and sequence < last:
                problems[f"{at}.sequence"] = f"sequences must rise ({sequence} after {last})"
            seen.setdefault(sequence, i)
            last = sequence if last is None else max(last, sequence)
        consignee = item.get("consignee")
        if consignee is not None and (
            not isinstance(consignee, str)
            or not consignee.strip()
            or len(consignee) > MAX_CONSIGNEE
            or _CONTROL.search(consignee)
        ):
            problems[f"{at}.consignee"] = (
                f"expected 1-{MAX_CONSIGNEE} characters without control characters, or null"
            )
            consignee = None
        start = _time(item.get("window_start"), f"{at}.window_start", problems)
        end = _time(item.get("window_end"), f"{at}.window_end", problems)
        if start is not None and end is not None and end < start:
            problems[f"{at}.window_end"] = (
                f"the window ends ({iso(end)}) before it starts ({iso(start)})"
            )
        if sequence is None:
            ok = False
        else:
            stops.append(Stop(sequence, consignee, start, end))
    return tuple(stops) if ok else None


def _array(
    value: object, key: str, noun: str, problems: dict[str, str]
) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list) or not value:
        problems[key] = f"expected a non-empty array of {noun}s (at least one {noun})"
        return []
    good = []
    for i, item in enumerate(value):
        if isinstance(item, Mapping):
            good.append((i, item))
        else:
            problems[f"{key}.{i}"] = f"expected an object, not {_kind(item)}"
    return good


def _unknown(
    item: Mapping[str, Any], where: str, known: frozenset[str], problems: dict[str, str]
) -> None:
    for key in item:
        if key not in known:
            problems[f"{where}.{key}"] = "unknown field"


def _ident(value: object, where: str, problems: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not _ID.match(value) or not value.strip():
        problems[where] = "expected 1-64 printable characters"
        return None
    return value


def _sequence(value: object, where: str, problems: dict[str, str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQUENCE:
        problems[where] = f"expected a whole number 0..{MAX_SEQUENCE}"
        return None
    return value


def _capacity(value: object, where: str, problems: dict[str, str]) -> float | None:
    if value is None:
        return None
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = None
    if number is None or not math.isfinite(number):
        problems[where] = f"expected a number or null, not {_kind(value)}"
        return None
    if number < 0:
        problems[where] = f"a capacity cannot be negative ({number:g})"
        return None
    return number


def _time(value: object, where: str, problems: dict[str, str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                epoch = moment.timestamp()
                if 0 <= epoch <= _LAST_TIME:
                    return epoch
                problems[where] = "expected a time from 1970 to 9999 (UTC)"
                return None
    problems[where] = "expected an ISO 8601 time with a timezone (2026-12-04T06:00:00Z), or null"
    return None


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
