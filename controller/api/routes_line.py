"""Line state, line commands, the audit log and chutes (alarms: routes_alarms)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from controller.api.auth import Reader, Supervisor, actor_of, line_of
from controller.api.models import ChuteChange, LineCommand, iso
from controller.api.problems import ApiProblem
from controller.api.routes_alarms import alarm_json
from controller.containers import ContainerInfo
from controller.errors import CommandRefused
from controller.line import LineController
from controller.packml import state_name
from plc_configs.contract import PackMLCommand

log = logging.getLogger("lanesort.api")

router = APIRouter(prefix="/api/v1", tags=["line"])


def _wall(line: LineController, monotonic: float) -> float:
    return monotonic + line.journal.wall_offset


@router.get("/line", summary="Line state, counters and device links")
async def get_line(request: Request, _: Reader) -> dict[str, Any]:
    """PackML state, parcel counters by state and reject reason, answer latency, links, and
    the alarms on the board (not shelved, oldest first, as ``GET /alarms`` lists them)."""
    line = line_of(request)
    snap = line.snapshot()
    return {
        "line": snap.line,
        "packml_state": state_name(snap.packml_state) if snap.packml_state is not None else None,
        "conveyor_running": snap.conveyor_running,
        "plc_heartbeat_ok": snap.heartbeat_ok,
        "counts": snap.counts,
        "reject_reasons": snap.reasons,
        "on_belt": snap.on_belt,
        "answer_ms": {"p50": snap.answer_p50_ms, "p99": snap.answer_p99_ms},
        "manifest_parcels": snap.manifest_size,
        "sort_plan_version": snap.plan_version,
        "links": [
            {
                "device": link.device,
                "address": link.address,
                "up": link.up,
                "since": iso(_wall(line, link.since)),
                "last_error": link.last_error,
            }
            for link in snap.links
        ],
        "active_alarms": len(snap.alarms),
        "alarms": [alarm_json(line, a) for a in sorted(snap.alarms, key=lambda a: a.since)],
    }


@router.post(
    "/line/commands",
    status_code=202,
    summary="Send a PackML command (supervisor)",
    responses={409: {"description": "not possible in the line's state, or the PLC is offline"}},
)
async def post_command(body: LineCommand, request: Request, who: Supervisor) -> dict[str, Any]:
    """Start, Stop, Reset … the line. Refused (409) when PackML does not allow it now."""
    command = PackMLCommand[body.command.upper()]
    try:
        line_of(request).command(command, actor_of(who))
    except CommandRefused as err:
        raise ApiProblem(409, str(err), "command-refused") from err
    return {"accepted": True, "command": body.command, "by": who.name}


@router.get("/audit", summary="The audit log (supervisor)")
async def get_audit(
    request: Request,
    _: Supervisor,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Operator actions newest first: who, role, through API/HMI/console, what, refused or not."""
    rows = await line_of(request).audit.query(
        since.timestamp() if since else None,
        until.timestamp() if until else None,
        user,
        action,
        limit,
    )
    return [row | {"time": iso(row["time"])} for row in rows]


def _container(line: LineController, info: ContainerInfo | None) -> dict[str, Any] | None:
    """The container filling in a chute: since when, and how many parcels are in it."""
    if info is None:
        return None
    return {"opened": iso(_wall(line, info.opened)), "parcels": info.count}


def _chutes(line: LineController) -> list[dict[str, Any]]:
    snap = line.snapshot()
    routes: dict[int, list[str]] = {}
    for route, chutes in line.plan.as_dict().items():
        for chute in chutes:
            routes.setdefault(chute, []).append(route)
    reject = line.config.topology.reject_chute
    out = []
    for chute in (*line.config.topology.chutes, reject):
        out.append(
            {
                "id": chute.id,
                "position_mm": chute.position_mm,
                "capacity": chute.capacity,
                "reject": chute.id == reject.id,
                "routes": routes.get(chute.id, []),
                "full": chute.id in snap.chute_full,
                "enabled": chute.id not in snap.chute_disabled,
                "disabled_by_host": chute.id in line.plc.disabled_by_host,
                "parcels_this_session": snap.per_chute.get(chute.id, 0),
                "fill_estimate": round(
                    min(1.0, snap.chute_fill.get(chute.id, 0) / chute.capacity), 3
                ),
                "container": _container(line, snap.containers.get(chute.id)),
            }
        )
    return out


@router.get("/chutes", summary="Chutes with their routes and fill state")
async def get_chutes(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Every chute: routes bound to it, full (PLC sensor), enabled, parcels this session,
    and its ``container`` (opened when, ``parcels`` in it; see ``POST …/close-out``).

    ``fill_estimate`` (0..1) is the parcels landed since the chute's full sensor last
    cleared (its container was swapped) over its capacity: the PLC reports no level.
    """
    return _chutes(line_of(request))


@router.patch(
    "/chutes/{chute_id}",
    summary="Enable or disable a chute (supervisor)",
    responses={404: {"description": "no such sort chute"}},
)
async def patch_chute(
    body: ChuteChange,
    request: Request,
    chute_id: Annotated[int, Path(ge=1, le=65535)],
    who: Supervisor,
) -> dict[str, Any]:
    """Disable a chute (its parcels go to the route's next chute, else to reject) or enable it."""
    line = line_of(request)
    try:
        line.set_chute_enabled(chute_id, body.enabled, actor_of(who))
    except CommandRefused as err:
        raise ApiProblem(404, str(err), "unknown-chute") from err
    return next(c for c in _chutes(line) if c["id"] == chute_id)
