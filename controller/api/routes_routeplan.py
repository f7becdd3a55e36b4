"""The route plan from the TMS (trucks, dock doors, routes, stops): replace, read, history,
and the manifest checked against it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from controller.api.auth import Reader, Tms, line_of
from controller.api.models import HistoryBefore, HistoryLimit, iso
from controller.api.problems import ApiProblem, field_errors
from controller.errors import RoutePlanError
from controller.routeplan import RoutePlanVersion, parse_route_plan

router = APIRouter(prefix="/api/v1", tags=["route plan"])

EXAMPLE: dict[str, Any] = {
    "trucks": [
        {
            "id": "T01",
            "door": "D01",
            "arrival": "2026-12-04T06:00:00Z",
            "departure": "2026-12-04T09:30:00Z",
            "capacity_kg": 12000,
            "capacity_m3": 40,
        }
    ],
    "routes": [
        {
            "id": "R001",
            "truck": "T01",
            "stops": [
                {
                    "sequence": 1,
                    "consignee": "C-0001",
                    "window_start": "2026-12-04T08:00:00Z",
                    "window_end": "2026-12-04T10:00:00Z",
                }
            ],
        }
    ],
    "reason": "morning wave",
    "expected_version": 0,
}

_BODY_HELP = """\
The whole route plan: `trucks` (each at one of the line's dock doors, `topology.doors`)
and `routes` (each driven by one of the trucks, its stops in driving order, sequences
rising). Times are ISO 8601 with a timezone; arrival, departure, capacities (kg, m³), a
stop's consignee and window are optional. A truck may have no route. At most 10,000
routes and 1,000 stops per route. `reason` (at most 500 characters) is kept with the
version; `expected_version` refuses the plan (409) if the active plan is no longer that
version (0: no plan yet). The plan is checked as a whole; every problem is answered by
its field (`body.routes.R017.stops.2.sequence`) and nothing changes."""


def _version(v: RoutePlanVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "time": iso(v.time),
        "actor": v.actor,
        "role": v.role,
        "reason": v.reason,
        "trucks": v.trucks,
        "routes": v.routes,
        "stops": v.stops,
    }


def _envelope(body: dict[str, Any]) -> tuple[str | None, int | None, dict[str, str]]:
    """``reason`` and ``expected_version`` of the body, and their problems."""
    problems: dict[str, str] = {}
    reason = body.get("reason")
    if reason is not None and (
        not isinstance(reason, str) or len(reason) > 500 or not reason.isprintable()
    ):
        problems["reason"] = "expected printable text of at most 500 characters, or null"
        reason = None
    expected = body.get("expected_version")
    if expected is not None and (
        isinstance(expected, bool) or not isinstance(expected, int) or not 0 <= expected <= 2**62
    ):
        problems["expected_version"] = "expected a version number (0 or more), or null"
        expected = None
    return reason, expected, problems


def _invalid(problems: dict[str, str]) -> ApiProblem:
    return ApiProblem(
        422,
        f"the route plan is invalid ({len(problems)} problems); nothing changed",
        "invalid-route-plan",
        field_errors(problems),
    )


@router.put(
    "/route-plan",
    summary="Replace the route plan (tms)",
    responses={
        409: {"description": "expected_version is not the active version"},
        422: {"description": "every problem by field: unknown door or truck, stops out of order …"},
    },
)
async def put_route_plan(
    request: Request,
    who: Tms,
    body: Annotated[dict[str, Any], Body(description=_BODY_HELP, examples=[EXAMPLE])],
) -> dict[str, Any]:
    """Check the whole plan, store it as a new version with who and why, make it active."""
    service = line_of(request).route_plan
    reason, expected, envelope = _envelope(body)
    plan_body = {k: v for k, v in body.items() if k not in ("reason", "expected_version")}
    if envelope:
        try:
            parse_route_plan(plan_body, service.door_ids)
        except RoutePlanError as err:
            envelope.update(err.problems)
        raise _invalid(envelope)
    try:
        plan = await service.replace(plan_body, who.name, who.role.value, reason, expected)
    except RoutePlanError as err:
        if "expected_version" in err.problems:
            raise ApiProblem(
                409, err.problems["expected_version"], "route-plan-version-conflict"
            ) from err
        raise _invalid(err.problems) from err
    return plan.as_dict()


@router.get("/route-plan", summary="The active route plan")
async def get_route_plan(request: Request, _: Reader) -> dict[str, Any]:
    """Trucks, routes and stops as the TMS sent them, with the version, who sent it, when
    and why (version 0 and empty lists before the first plan)."""
    return line_of(request).route_plan.active.as_dict()


@router.get("/route-plan/history", summary="Versions of the route plan")
async def get_route_plan_history(
    request: Request,
    _: Reader,
    limit: HistoryLimit = 50,
    before: HistoryBefore = None,
) -> list[dict[str, Any]]:
    """Versions newest first: who sent each, when, why, and its trucks, routes and stops."""
    versions = await line_of(request).route_plan.history(limit, before)
    return [_version(v) for v in versions]


@router.get("/route-plan/manifest-check", summary="Manifest rows the route plan does not know")
async def get_manifest_check(request: Request, _: Reader) -> dict[str, Any]:
    """Parcels of the manifest whose route is not in the active route plan, or whose
    ``stop_sequence`` is not a stop of its route (rows without a stop are not checked for
    it). Reported only: routing does not change."""
    line = line_of(request)
    plan = line.route_plan.active
    counts = await asyncio.to_thread(line.manifest.stops)
    unknown_routes: dict[str, int] = {}
    unknown_stops: list[dict[str, Any]] = []
    for route_id, sequence, parcels in counts:
        route = plan.route(route_id)
        if route is None:
            unknown_routes[route_id] = unknown_routes.get(route_id, 0) + parcels
        elif sequence is not None and all(s.sequence != sequence for s in route.stops):
            unknown_stops.append({"route": route_id, "stop_sequence": sequence, "parcels": parcels})
    return {
        "route_plan_version": plan.version,
        "rows": sum(parcels for _, _, parcels in counts),
        "unknown_routes": [{"route": r, "parcels": n} for r, n in unknown_routes.items()],
        "unknown_stops": unknown_stops,
    }
