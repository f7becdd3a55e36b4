"""Put walls and loading: walls and cubbies, scans, holds, trucks' load status and sheets."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from controller.api.auth import Reader, Supervisor, actor_of, line_of
from controller.api.models import _Body
from controller.api.problems import ApiProblem
from controller.auth import Actor
from controller.errors import CommandRefused, JournalError
from controller.line import LineController
from controller.putwall.records import read_wall_events

router = APIRouter(prefix="/api/v1", tags=["put wall and loading"])

_ID = Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class Scan(_Body):
    """A code scanned at a wall or a door from a keyboard-wedge scanner."""

    code: str = Field(min_length=1, max_length=128, description="the barcode read")


class Reason(_Body):
    """Why a supervisor does this (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=500)


class Reassign(_Body):
    """The group a cubby takes: a stop of a route (and a consignee), or none (free)."""

    route: str | None = Field(None, min_length=1, max_length=64)
    stop_sequence: int | None = Field(None, ge=0, le=2**31 - 1)
    consignee: str = Field("", max_length=200)


def _refused(err: CommandRefused, kind: str = "refused") -> ApiProblem:
    status = 404 if str(err).startswith("no ") else 409
    return ApiProblem(status, str(err), kind)


def _audited_refusal(
    line: LineController, actor: Actor, action: str, target: str, problem: ApiProblem
) -> ApiProblem:
    """Record a supervisor's refused action in the audit log (ok False), return ``problem``."""
    line.audit.record(actor, action, target, problem.detail, ok=False)
    return problem


def _wall_unit(line: LineController, wall_id: str) -> Any:
    unit = line.putwall.units.get(wall_id)
    if unit is None:
        raise ApiProblem(404, f"no put wall {wall_id!r}", "unknown-wall")
    return unit


def _cubby(line: LineController, wall_id: str, cubby_id: str) -> Any:
    cubby = _wall_unit(line, wall_id).wall.cubbies.get(cubby_id)
    if cubby is None:
        raise ApiProblem(404, f"put wall {wall_id} has no cubby {cubby_id!r}", "unknown-cubby")
    return cubby


def _truck(line: LineController, truck_id: str) -> None:
    if line.route_plan.active.truck(truck_id) is None:
        raise ApiProblem(404, f"no truck {truck_id!r} in the route plan", "unknown-truck")


@router.get("/put-walls", summary="Every put wall: cubbies, the put waiting, counts")
async def get_walls(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Each wall with its cubbies (group, parcels, container, full, online, lit for a put),
    the put waiting for its confirm, counts by outcome and the last scans."""
    return line_of(request).putwall.snapshot()


@router.get("/put-walls/{wall_id}/events", summary="A wall's newest events")
async def get_wall_events(
    request: Request,
    _: Reader,
    wall_id: Annotated[str, _ID],
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Puts, wrong puts, shorts, exceptions, close-outs and weighings, newest first."""
    line = line_of(request)
    if wall_id not in line.putwall.units:
        raise ApiProblem(404, f"no put wall {wall_id!r}", "unknown-wall")
    try:
        return await asyncio.to_thread(read_wall_events, line.journal.path, wall_id, limit)
    except JournalError as err:
        raise ApiProblem(503, str(err), "journal-unavailable") from err


@router.post("/put-walls/{wall_id}/scan", summary="Scan a code at a wall (keyboard wedge)")
async def scan_at_wall(
    request: Request, who: Reader, wall_id: Annotated[str, _ID], body: Scan
) -> dict[str, Any]:
    """As if the wall's scanner read ``code``: a parcel lights its cubby, a container's id
    check-weighs it. Answers what the wall recorded."""
    line = line_of(request)
    _wall_unit(line, wall_id)
    try:
        step = await line.putwall.scan(wall_id, body.code, source=f"api:{who.name}")
    except CommandRefused as err:
        raise _refused(err) from err
    return {
        "records": [
            {"kind": r.kind, "parcel_id": r.parcel_id, "cubby": r.cubby, "reason": r.reason}
            for r in step.records
        ],
        "lights": [{"node": x.node, "colour": x.colour, "value": x.value} for x in step.lights],
    }


@router.post(
    "/put-walls/{wall_id}/cubbies/{cubby_id}/close",
    summary="Close a cubby's container (supervisor)",
)
async def close_cubby(
    request: Request, who: Supervisor, wall_id: Annotated[str, _ID], cubby_id: Annotated[str, _ID]
) -> dict[str, str]:
    """Close the cubby's container now: label, check-weigh, loading (audited). A cubby
    with no parcel, or whose container is already closed, is refused (409)."""
    line, actor, target = line_of(request), actor_of(who), f"{wall_id}/{cubby_id}"
    try:
        cubby = _cubby(line, wall_id, cubby_id)
        if cubby.full:
            raise ApiProblem(
                409, f"cubby {cubby_id}: its container {cubby.container_id} is already closed"
            )
        if not cubby.parcels:
            raise ApiProblem(409, f"cubby {cubby_id} holds no parcel: nothing to close", "empty")
        container_id = cubby.container_id  # the cubby forgets it once the container left
        try:
            await line.putwall.close_cubby(wall_id, cubby_id, actor)
        except CommandRefused as err:
            raise _refused(err) from err
    except ApiProblem as problem:
        raise _audited_refusal(line, actor, "cubby.close", target, problem) from None
    return {
        "wall": wall_id,
        "cubby": cubby_id,
        "state": "closed",
        "container_id": container_id,
    }


@router.post(
    "/put-walls/{wall_id}/cubbies/{cubby_id}/reassign", summary="Reassign a cubby (supervisor)"
)
async def reassign_cubby(
    request: Request,
    who: Supervisor,
    wall_id: Annotated[str, _ID],
    cubby_id: Annotated[str, _ID],
    body: Reassign,
) -> dict[str, Any]:
    """Give an empty cubby to a stop (and consignee), or free it (no route); audited."""
    if (body.route is None) != (body.stop_sequence is None):
        raise ApiProblem(
            422,
            "route and stop_sequence go together",
            "validation",
            errors=[{"field": "body.stop_sequence", "reason": "set both or neither"}],
        )
    line, actor, target = line_of(request), actor_of(who), f"{wall_id}/{cubby_id}"
    if body.route is not None:
        route = line.route_plan.active.route(body.route)
        field, reason = "", ""
        if route is None:
            field, reason = "body.route", f"no route {body.route!r} in the route plan"
        elif all(stop.sequence != body.stop_sequence for stop in route.stops):
            field, reason = (
                "body.stop_sequence",
                f"route {route.id} has no stop {body.stop_sequence}",
            )
        if field:
            raise ApiProblem(422, reason, "validation", errors=[{"field": field, "reason": reason}])
    group = None if body.route is None else (body.route, body.stop_sequence, body.consignee)
    try:
        _cubby(line, wall_id, cubby_id)
        try:
            await line.putwall.reassign(wall_id, cubby_id, group, actor)
        except CommandRefused as err:
            raise _refused(err) from err
    except ApiProblem as problem:
        raise _audited_refusal(line, actor, "cubby.reassign", target, problem) from None
    return {"wall": wall_id, "cubby": cubby_id, "group": list(group) if group else None}


@router.get("/wall-containers", summary="Closed put-wall containers and their state")
async def get_wall_containers(
    request: Request, _: Reader, truck: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Containers closed at the walls: truck, route, stops, parcels, state (``closed``
    waiting for its weigh, ``ok``, ``held``, ``released``, ``loaded``) and weights."""
    containers = line_of(request).putwall.closeout.containers.values()
    return [
        {
            "id": c.id,
            "wall": c.wall,
            "cubby": c.cubby,
            "truck": c.truck,
            "route": c.route,
            "stops": c.stops,
            "parcels": c.parcels,
            "state": c.state,
            "expected_kg": c.expected_kg,
            "measured_kg": c.measured_kg,
        }
        for c in containers
        if truck is None or c.truck == truck
    ]


@router.post(
    "/wall-containers/{container_id}/release", summary="Release a held container (supervisor)"
)
async def release_container(
    request: Request, who: Supervisor, container_id: Annotated[str, _ID], body: Reason
) -> dict[str, str]:
    """A container held by its weight check goes on to loading (audited, with the reason)."""
    line, actor = line_of(request), actor_of(who)
    try:
        await line.putwall.closeout.release(container_id, actor, body.reason)
    except CommandRefused as err:
        problem = _refused(err, "not-held")
        raise _audited_refusal(line, actor, "container.release", container_id, problem) from err
    return {"id": container_id, "state": "released"}


@router.get("/trucks", summary="Every truck's loading: door, state, progress")
async def get_trucks(request: Request, _: Reader) -> list[dict[str, Any]]:
    """The route plan's trucks with how many of their parcels are loaded or accounted for."""
    return line_of(request).loading.overview()


@router.get("/trucks/{truck_id}/load", summary="A truck's load status")
async def get_truck_load(
    request: Request, _: Reader, truck_id: Annotated[str, _ID]
) -> dict[str, Any]:
    """Its load plan in loading order (last stop first) with each unit's state, outcomes by
    kind, what is not loaded and why, the last scans at its door, and once loaded the
    ``truck.loaded`` summary sent upstream."""
    try:
        return line_of(request).loading.status(truck_id)
    except CommandRefused as err:
        raise _refused(err, "unknown-truck") from err


@router.get("/trucks/{truck_id}/load-sheet", summary="A truck's load sheet (CSV or PDF)")
async def get_load_sheet(
    request: Request,
    _: Reader,
    truck_id: Annotated[str, _ID],
    format: Annotated[str, Query(pattern="^(csv|pdf)$")] = "csv",
) -> Response:
    """The load sheet: units in loading order with their load position, stops and weight."""
    line = line_of(request)
    _truck(line, truck_id)
    loading = line.loading
    try:
        if format == "pdf":
            body = await loading.sheet_pdf(truck_id)
            media = "application/pdf"
        else:
            body = loading.sheet_csv(truck_id).encode()
            media = "text/csv; charset=utf-8"
    except CommandRefused as err:
        raise _refused(err, "unknown-truck") from err
    name = f"load-sheet-{truck_id}.{format}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/doors/{door_id}/scan", summary="Scan a code at a dock door (keyboard wedge)")
async def scan_at_door(
    request: Request, who: Reader, door_id: Annotated[str, _ID], body: Scan
) -> dict[str, Any]:
    """As if the door's scanner read ``code``: loaded (in or out of sequence) or refused.
    An unknown door is 404; a door with no truck loading (none, or it left) is 409."""
    line = line_of(request)
    if all(door.id != door_id for door in line.config.topology.doors):
        raise ApiProblem(404, f"no dock door {door_id!r}", "unknown-door")
    try:
        verdict = await line.loading.scan(door_id, body.code, source=f"api:{who.name}")
    except CommandRefused as err:
        raise ApiProblem(409, str(err), "no-truck") from err
    return {"kind": verdict.kind, "unit_id": verdict.unit_id, "reason": verdict.reason}


@router.post("/trucks/{truck_id}/close", summary="Close a truck's loading (supervisor)")
async def close_truck(
    request: Request, who: Supervisor, truck_id: Annotated[str, _ID], body: Reason
) -> dict[str, Any]:
    """What is not loaded now did not arrive: ``truck.loaded`` goes upstream (audited).
    Answers that summary; a truck already reported loaded is refused (409)."""
    line, actor = line_of(request), actor_of(who)
    try:
        _truck(line, truck_id)
        try:
            return await line.loading.close_truck(truck_id, actor, body.reason)
        except CommandRefused as err:
            raise _refused(err, "already-loaded") from err
    except ApiProblem as problem:
        raise _audited_refusal(line, actor, "truck.close", truck_id, problem) from None
