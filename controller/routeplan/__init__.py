"""The route plan from the TMS: trucks at dock doors, their routes, each route's stops.

Owns the plan's model and rules (:mod:`~controller.routeplan.model`: frozen dataclasses,
validation as a whole by field path; pure), its versions with who sent them and why
(:mod:`~controller.routeplan.store`: ``route-plan.sqlite``) and the active plan
(:mod:`~controller.routeplan.service`: replaced as a whole, restored after a restart,
listeners told of each new plan).

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
from controller.routeplan.service import Constraint, Listener, RoutePlanService
from controller.routeplan.store import RoutePlanStore, RoutePlanVersion

__all__ = [
    "MAX_ROUTES",
    "MAX_STOPS",
    "Constraint",
    "Listener",
    "Route",
    "RoutePlan",
    "RoutePlanService",
    "RoutePlanStore",
    "RoutePlanVersion",
    "Stop",
    "Truck",
    "parse_route_plan",
]
