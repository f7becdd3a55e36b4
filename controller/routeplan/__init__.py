"""The route plan from the TMS: trucks at dock doors, their routes, each route's stops.

Owns the plan's model and rules (:mod:`~controller.routeplan.model`: frozen dataclasses,
validation as a whole by field path; pure).

May use: :mod:`controller.errors` only. The sort plan's owner reads the active route
plan (which truck drives which route) and may refuse a route plan through a constraint.
"""

from controller.routeplan.model import (
    MAX_ROUTES,
    MAX_STOPS,
    Route,
    RoutePlan,
    Stop,
    Truck,
    parse_route_plan,
)

__all__ = [
    "MAX_ROUTES",
    "MAX_STOPS",
    "Route",
    "RoutePlan",
    "Stop",
    "Truck",
    "parse_route_plan",
]
