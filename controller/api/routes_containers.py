"""Chute containers: close one out, list the closed ones."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from controller.api.auth import Reader, Supervisor, actor_of, line_of
from controller.api.models import CloseOut, iso
from controller.api.problems import ApiProblem
from controller.containers import ContainerInfo
from controller.errors import CommandRefused, JournalError
from controller.line import LineController

log = logging.getLogger("lanesort.api")

router = APIRouter(prefix="/api/v1", tags=["line"])

#: How long a close-out answer waits for its record to be committed.
_JOURNAL_WAIT_S = 5.0


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """A ``containers`` row as the API shows it (ISO times)."""
    return row | {"opened": iso(row["opened"]), "closed": iso(row["closed"])}


def _unjournaled(line: LineController, info: ContainerInfo) -> dict[str, Any]:
    """The record of ``info`` as the controller counted it (its row is not committed yet)."""
    offset = line.journal.wall_offset
    return {
        "id": info.id,
        "session": line.journal.session,
        "chute": info.chute,
        "route": ",".join(info.routes) or None,
        "opened": iso(info.opened + offset),
        "closed": iso(info.closed + offset) if info.closed is not None else None,
        "parcels": info.count,
        "closed_by": info.closed_by,
        "reason": info.reason,
    }


@router.post(
    "/chutes/{chute_id}/close-out",
    summary="Close out a chute's container (supervisor)",
    responses={404: {"description": "no such chute"}},
)
async def close_out(
    request: Request,
    chute_id: Annotated[int, Path(ge=1, le=65535)],
    who: Supervisor,
    body: CloseOut | None = None,
) -> dict[str, Any]:
    """The container is full or its route is done: record it (with the parcels in it, also
    reported to the TMS as ``container.closed``) and start the chute's count again.

    Answers the closed container: ``id, session, chute, route, opened, closed, parcels,
    closed_by, reason``.
    """
    line = line_of(request)
    try:
        info = line.close_container(chute_id, actor_of(who), body.reason if body else None)
    except CommandRefused as err:
        raise ApiProblem(404, str(err), "unknown-chute") from err
    assert info.id is not None
    try:
        async with asyncio.timeout(_JOURNAL_WAIT_S):
            await line.journal.barrier()
        rows = await line.containers.history(container_id=info.id)
    except (TimeoutError, JournalError) as err:
        log.warning("container %s: record not read back: %s", info.id, err or "journal busy")
        rows = []
    return _record(rows[0]) if rows else _unjournaled(line, info)


@router.get("/containers", summary="Closed-out containers, newest first")
async def get_containers(
    request: Request,
    _: Reader,
    chute: Annotated[int | None, Query(ge=1, le=65535)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Closed containers (of one chute, or all): ``id, session, chute, route, opened, closed,
    parcels, closed_by, reason``; the parcels in each went to the TMS as ``container.closed``."""
    try:
        rows = await line_of(request).container_history(chute, limit)
    except JournalError as err:
        raise ApiProblem(503, str(err), "journal-unavailable") from err
    return [_record(row) for row in rows]
