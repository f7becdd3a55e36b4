"""A generated route plan: trucks, their routes and stops, and each route's share of volume.

Pure and seeded (``simulation.seed``): the same settings and seed give the same plan.
Trucks are ``T01..``, routes ``R001..`` (truck k gets the next ``routes_per_truck``
routes), stop ``n`` of route ``R`` has consignee ``C-R-n`` and a delivery window.
Volumes are skewed as in real hubs: ``heavy_route_share`` of the routes, chosen at
random, carry ``heavy_volume_share`` of the parcels; within both groups the weights are
lognormal, so no group is flat. :meth:`RoutePlan.as_tms_json` is the body of the
controller's ``PUT /api/v1/route-plan``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from plc_configs.route_plan import RoutePlanSimulation

FIRST_DAY = datetime(2026, 12, 1, tzinfo=UTC)
"""Plans fall on one of the 28 days from here (which one: from the seed)."""
FIRST_ARRIVAL = timedelta(hours=5)
"""The first truck docks at 05:00; the next ones every :data:`ARRIVAL_STEP`."""
ARRIVAL_STEP = timedelta(minutes=20)
LOADING_TIME = timedelta(hours=3, minutes=30)
"""A truck leaves this long after it docks."""
WINDOW = timedelta(hours=2)
"""Length of a stop's delivery window."""
TRUCK_TYPES = ((12000, 40), (7500, 30), (3500, 18))
"""(capacity_kg, capacity_m3) of the truck types, drawn per truck."""
WEIGHT_SIGMA = 0.5
"""Spread (log scale) of the route weights within the heavy and the light group."""


@dataclass(frozen=True)
class Stop:
    """One delivery of a route."""

    sequence: int
    consignee: str
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class Route:
    """A route: the truck that drives it, its stops in order, its share of the parcels."""

    id: str
    truck: str
    stops: tuple[Stop, ...]
    weight: float
    heavy: bool


@dataclass(frozen=True)
class Truck:
    """A truck at a dock door."""

    id: str
    door: str
    arrival: datetime
    departure: datetime
    capacity_kg: int
    capacity_m3: int


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``: ``2026-12-04T06:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RoutePlan:
    """Trucks and routes (with stops and weights summing to 1)."""

    trucks: tuple[Truck, ...]
    routes: tuple[Route, ...]

    @property
    def weights(self) -> dict[str, float]:
        """Route id -> share of the parcels (sums to 1)."""
        return {r.id: r.weight for r in self.routes}

    def route(self, route_id: str) -> Route:
        """The route with this id (KeyError if none)."""
        for route in self.routes:
            if route.id == route_id:
                return route
        raise KeyError(route_id)

    def as_tms_json(self) -> dict[str, Any]:
        """The plan as the TMS sends it: the body of ``PUT /api/v1/route-plan``."""
        return {
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


def heavy_count(settings: RoutePlanSimulation) -> int:
    """How many routes are heavy: the share rounded, at least 1, and fewer than all if
    there are two routes or more."""
    n = settings.route_count
    if n == 1:
        return 1
    return min(max(1, round(settings.heavy_route_share * n)), n - 1)


def _group_weights(rng: random.Random, count: int, total: float) -> list[float]:
    raw = [rng.lognormvariate(0.0, WEIGHT_SIGMA) for _ in range(count)]
    if not raw:
        return []
    scale = total / sum(raw)
    return [w * scale for w in raw]


def route_weights(settings: RoutePlanSimulation, rng: random.Random) -> list[tuple[float, bool]]:
    """(weight, heavy) per route in route order; weights sum to 1."""
    n = settings.route_count
    heavy = set(rng.sample(range(n), heavy_count(settings)))
    heavy_total = settings.heavy_volume_share if len(heavy) < n else 1.0
    heavy_w = iter(_group_weights(rng, len(heavy), heavy_total))
    light_w = iter(_group_weights(rng, n - len(heavy), 1.0 - heavy_total))
    return [(next(heavy_w), True) if i in heavy else (next(light_w), False) for i in range(n)]


def _stops(rng: random.Random, route_id: str, count: int, departure: datetime) -> list[Stop]:
    stops = []
    at = departure
    for seq in range(1, count + 1):
        at += timedelta(minutes=rng.randint(15, 45))
        start = at.replace(minute=0, second=0)
        stops.append(Stop(seq, f"C-{route_id}-{seq}", start, start + WINDOW))
    return stops


def generate_route_plan(settings: RoutePlanSimulation, seed: int) -> RoutePlan:
    """The route plan of these settings and seed (pure: same input, same plan)."""
    rng = random.Random(f"lanesort-route-plan:{seed}")
    day = FIRST_DAY + timedelta(days=rng.randrange(28))
    doors = settings.door_ids()
    weights = route_weights(settings, rng)
    trucks: list[Truck] = []
    routes: list[Route] = []
    for k in range(settings.trucks):
        arrival = day + FIRST_ARRIVAL + k * ARRIVAL_STEP
        departure = arrival + LOADING_TIME
        kg, m3 = rng.choice(TRUCK_TYPES)
        truck = Truck(f"T{k + 1:02d}", doors[k % len(doors)], arrival, departure, kg, m3)
        trucks.append(truck)
        for _ in range(settings.routes_per_truck):
            index = len(routes)
            route_id = f"R{index + 1:03d}"
            count = rng.randint(*settings.stops_per_route)
            weight, heavy = weights[index]
            stops = tuple(_stops(rng, route_id, count, departure))
            routes.append(Route(route_id, truck.id, stops, weight, heavy))
    return RoutePlan(tuple(trucks), tuple(routes))
