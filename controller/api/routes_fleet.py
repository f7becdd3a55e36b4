"""The AMR fleet: vehicles and transport tasks; create and cancel tasks, pause the fleet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import Field

from controller.api.auth import Reader, Supervisor, TmsOrSupervisor, actor_of, line_of
from controller.api.models import _Body
from controller.api.problems import ApiProblem, field_errors
from controller.errors import CommandRefused
from controller.fleet.service import FleetService, TaskRefused

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])

_ID = Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class NewTask(_Body):
    """Move a container from one station of the fleet layout to another."""

    container: str = Field(min_length=1, max_length=64, description="the container id")
    from_: str = Field(alias="from", min_length=1, max_length=32, description="a station id")
    to: str = Field(min_length=1, max_length=32, description="a station id")
    note: str | None = Field(None, max_length=500)


class Reason(_Body):
    """Why a supervisor does this (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=500)


def _fleet(request: Request) -> FleetService:
    fleet = getattr(line_of(request), "fleet", None)
    if fleet is None:
        raise ApiProblem(404, "this line has no AMR fleet (fleet.enabled is false)", "no-fleet")
    return fleet


@router.get("", summary="Vehicles, tasks by state and counters")
async def get_fleet(request: Request, _: Reader) -> dict[str, Any]:
    """Every vehicle (connection, lost, position, last node, battery, charging, driving,
    paused, errors, current task), the tasks by state, counters and the MQTT link's."""
    return _fleet(request).snapshot()


@router.get("/tasks", summary="Every transport task, newest first")
async def get_tasks(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Each task without its history (``GET /tasks/{id}`` has it)."""
    tasks = sorted(_fleet(request).tasks.values(), key=lambda t: t.created, reverse=True)
    return [{k: v for k, v in t.as_dict().items() if k != "history"} for t in tasks]


@router.post("/tasks", status_code=201, summary="Create a transport task (tms or supervisor)")
async def create_task(request: Request, who: TmsOrSupervisor, body: NewTask) -> dict[str, Any]:
    """Queue a move of ``container`` from station ``from`` to station ``to``. An unknown
    station or no way between them answers 422 naming the field; a container that already
    has an open task 409."""
    fleet = _fleet(request)
    try:
        task = fleet.create_task(body.container, body.from_, body.to, note=body.note)
    except TaskRefused as err:
        status = 409 if err.conflict else 422
        raise ApiProblem(
            status,
            str(err),
            "conflict" if err.conflict else "validation",
            errors=field_errors({err.field: str(err)}),
        ) from err
    line_of(request).audit.record(
        actor_of(who), "fleet.task.create", task.id, f"{body.container}: {body.from_} -> {body.to}"
    )
    return task.as_dict()


@router.get("/tasks/{task_id}", summary="One transport task with its history")
async def get_task(request: Request, _: Reader, task_id: Annotated[str, _ID]) -> dict[str, Any]:
    """State, vehicle, where the container is, attempts, re-plans and every change."""
    task = _fleet(request).task(task_id)
    if task is None:
        raise ApiProblem(404, f"no transport task {task_id!r}", "unknown-task")
    return task.as_dict()


@router.post("/tasks/{task_id}/cancel", summary="Cancel a transport task (supervisor)")
async def cancel_task(
    request: Request, who: Supervisor, task_id: Annotated[str, _ID], body: Reason
) -> dict[str, Any]:
    """``cancelOrder`` to its vehicle (audited); the task is cancelled once the vehicle
    stopped. A task already done answers 409, an unknown one 404."""
    try:
        task = await _fleet(request).cancel_task(task_id, actor_of(who), body.reason)
    except CommandRefused as err:
        raise ApiProblem(404 if str(err).startswith("no ") else 409, str(err)) from err
    return task.as_dict()


@router.post("/pause", summary="Pause every vehicle (supervisor)")
async def pause(request: Request, who: Supervisor, body: Reason) -> dict[str, Any]:
    """``startPause`` to every vehicle, no new orders until resumed (audited)."""
    fleet = _fleet(request)
    await fleet.pause(actor_of(who), body.reason)
    return {"paused": fleet.paused}


@router.post("/resume", summary="Resume the fleet (supervisor)")
async def resume(request: Request, who: Supervisor, body: Reason) -> dict[str, Any]:
    """``stopPause`` to every vehicle; dispatch goes on (audited)."""
    fleet = _fleet(request)
    await fleet.resume(actor_of(who), body.reason)
    return {"paused": fleet.paused}
