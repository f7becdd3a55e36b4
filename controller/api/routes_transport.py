"""Containers on their way to the truck: where each is, its history, trucks docking, retries."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import Field

from controller.api.auth import Reader, Supervisor, TmsOrSupervisor, actor_of, line_of
from controller.api.models import _Body
from controller.api.problems import ApiProblem
from controller.errors import CommandRefused, JournalError
from controller.line import LineController
from controller.transport.locations import read_history
from controller.transport.service import TransportService

router = APIRouter(prefix="/api/v1", tags=["container transport"])

_ID = Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class Docked(_Body):
    """A truck is at its dock door."""

    door: str | None = Field(
        None, min_length=1, max_length=32, description="the door (default: the planned one)"
    )
    reason: str = Field("", max_length=500, description="kept in the audit log")


class Reason(_Body):
    """Why a supervisor does this (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=500)


def _transport(line: LineController) -> TransportService:
    if line.transport is None:
        raise ApiProblem(404, "this line has no container transport (fleet.enabled)", "no-fleet")
    return line.transport


@router.get("/transport", summary="Containers on their way to the truck")
async def get_transport(request: Request, _: Reader) -> dict[str, Any]:
    """Every container that left a wall: its phase (waiting, to_buffer, storing, stored,
    to_door, loaded, stuck) and location, the trucks at their doors, counts."""
    return _transport(line_of(request)).snapshot()


@router.get("/containers/{container_id}/location", summary="Where a container is, and was")
async def get_location(
    request: Request, _: Reader, container_id: Annotated[str, _ID]
) -> dict[str, Any]:
    """The container's location now (e.g. ``on vehicle LaneSim/AMR-02, last at node X3``)
    and every location it had, oldest first."""
    line = line_of(request)
    transport = _transport(line)
    where = transport.where(container_id)
    try:
        history = await asyncio.to_thread(read_history, line.journal.path, container_id)
    except JournalError as err:
        raise ApiProblem(503, str(err), "journal-unavailable") from err
    if where is None and not history:
        raise ApiProblem(404, f"no container {container_id!r} in transport", "unknown-container")
    carriage = transport.carriages.get(container_id)
    return {
        "container_id": container_id,
        "location": where.as_dict() if where else history[-1],
        "phase": carriage.phase if carriage else None,
        "stuck_reason": carriage.stuck_reason if carriage else "",
        "history": history,
    }


@router.post("/trucks/{truck_id}/docked", summary="A truck is at its door (TMS or supervisor)")
async def truck_docked(
    request: Request, who: TmsOrSupervisor, truck_id: Annotated[str, _ID], body: Docked
) -> dict[str, str]:
    """The truck is at its door: its buffered containers come out last stop first, and
    containers closing from now on go straight to the door when their turn has come."""
    line = line_of(request)
    try:
        door = _transport(line).dock(truck_id, body.door, actor_of(who), body.reason)
    except CommandRefused as err:
        status = 404 if str(err).startswith("no ") else 409
        raise ApiProblem(status, str(err), "refused") from err
    return {"truck": truck_id, "door": door}


@router.post("/containers/{container_id}/retry", summary="Move a stuck container on (supervisor)")
async def retry_container(
    request: Request, who: Supervisor, container_id: Annotated[str, _ID], body: Reason
) -> dict[str, Any]:
    """After the cause of a failed move is solved: the container goes on from where it was
    last known (its wall, a station, the AS/RS). Audited."""
    line = line_of(request)
    transport = _transport(line)
    try:
        transport.retry(container_id, actor_of(who), body.reason)
    except CommandRefused as err:
        line.audit.record(actor_of(who), "container.retry", container_id, str(err), ok=False)
        status = 404 if str(err).startswith("no ") else 409
        raise ApiProblem(status, str(err), "refused") from err
    where = transport.where(container_id)
    return {"container_id": container_id, "location": where.as_dict() if where else None}


@router.get("/buffer", summary="The AS/RS buffer: what is stored, pending orders, faults")
async def get_buffer(request: Request, _: Reader) -> dict[str, Any]:
    """The AS/RS device and its link, the containers stored (with their storage
    locations), the store and retrieve orders not finished yet, active faults, counts."""
    line = line_of(request)
    if line.buffer is None:
        raise ApiProblem(404, "this line has no AS/RS buffer (buffer.asrs)", "no-buffer")
    return line.buffer.snapshot()
