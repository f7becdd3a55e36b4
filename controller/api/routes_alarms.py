"""Alarms (ISA-18.2): the board, acknowledge, shelve, and the history of every transition.

Alarm keys name the condition and its device, e.g. ``link:sorter`` or
``register:sorter:packml_state``; they go into the path as they are (a ``/`` in a
key is allowed too). An unknown key answers 404, a transition the alarm's state
does not allow (acknowledging an acknowledged alarm, unshelving one that is not
shelved) 409; both as problem+json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from controller.alarms import Alarm, Severity, UnknownAlarm
from controller.api.auth import Reader, Supervisor, actor_of, line_of
from controller.api.models import iso
from controller.api.problems import ApiProblem
from controller.errors import CommandRefused
from controller.line import LineController

router = APIRouter(prefix="/api/v1", tags=["alarms"])

AlarmKey = Annotated[str, Path(min_length=1, max_length=200, description="e.g. link:sorter")]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no alarm with this key is on the board"},
    409: {"description": "the alarm's state does not allow this"},
}


class ShelveRequest(BaseModel):
    """How long to shelve an alarm, and why."""

    model_config = ConfigDict(extra="forbid")

    minutes: float = Field(ge=1, le=480, description="1 minute to 8 hours")
    reason: str | None = Field(None, max_length=500, description="kept in the alarm's history")


def _wall(line: LineController, monotonic: float | None) -> str | None:
    return iso(monotonic + line.journal.wall_offset) if monotonic is not None else None


def alarm_json(line: LineController, alarm: Alarm) -> dict[str, Any]:
    """One alarm as the API shows it; times are ISO 8601 UTC."""
    return {
        "key": alarm.key,
        "device": alarm.device,
        "severity": alarm.severity.value,
        "text": alarm.text,
        "since": _wall(line, alarm.since),
        "count": alarm.count,
        "state": alarm.state.value,
        "acked_by": alarm.acked_by,
        "acked_at": _wall(line, alarm.acked_at),
        "shelved": alarm.is_shelved,
        "shelved_until": _wall(line, alarm.shelved_until),
        "shelved_by": alarm.shelved_by,
        "shelve_reason": alarm.shelve_reason,
        "cleared_at": _wall(line, alarm.cleared_at),
    }


def _after(line: LineController, key: str) -> dict[str, Any]:
    """The alarm after a change, or ``{"key", "state": "normal"}`` once it left the board."""
    alarm = line.alarms.get(key)
    return alarm_json(line, alarm) if alarm else {"key": key, "state": "normal"}


def _refused(err: CommandRefused) -> ApiProblem:
    if isinstance(err, UnknownAlarm):
        return ApiProblem(404, str(err), "unknown-alarm")
    return ApiProblem(409, str(err), "command-refused")


@router.get("/alarms", summary="Alarms on the board")
async def get_alarms(
    request: Request,
    _: Reader,
    include_shelved: Annotated[bool, Query(description="also list shelved alarms")] = False,
) -> list[dict[str, Any]]:
    """Unacknowledged, acknowledged and returned-unacknowledged alarms, oldest first.

    ``state`` is ``unacknowledged``, ``acknowledged`` or ``returned-unacknowledged``
    (the condition cleared but nobody acknowledged it). Shelved alarms are hidden
    unless ``include_shelved=true``.
    """
    line = line_of(request)
    snap = line.snapshot()
    alarms = [*snap.alarms, *snap.shelved] if include_shelved else list(snap.alarms)
    return [alarm_json(line, a) for a in sorted(alarms, key=lambda a: a.since)]


@router.get("/alarms/history", summary="Every alarm transition, newest first")
async def get_alarm_history(
    request: Request,
    _: Reader,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    severity: Severity | None = None,
    device: Annotated[str | None, Query(max_length=200)] = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
    text: Annotated[str | None, Query(max_length=200, description="substring, any case")] = None,
    state: Literal["raised", "cleared", "acknowledged", "shelved", "unshelved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Raised, cleared, acknowledged, shelved and unshelved, with who did it (``user``)."""
    rows = await line_of(request).alarm_history.query(
        since.timestamp() if since else None,
        until.timestamp() if until else None,
        severity.value if severity else None,
        device,
        key,
        text,
        state,
        limit,
    )
    return [row | {"time": iso(row["time"])} for row in rows]


@router.post(
    "/alarms/{key:path}/ack", summary="Acknowledge an alarm (supervisor)", responses=_REFUSALS
)
async def post_ack(key: AlarmKey, request: Request, who: Supervisor) -> dict[str, Any]:
    """Unacknowledged -> acknowledged; returned-unacknowledged -> normal (``state: normal``)."""
    line = line_of(request)
    try:
        line.acknowledge_alarm(key, actor_of(who))
    except CommandRefused as err:
        raise _refused(err) from err
    return _after(line, key)


@router.post(
    "/alarms/{key:path}/shelve", summary="Shelve an alarm (supervisor)", responses=_REFUSALS
)
async def post_shelve(
    body: ShelveRequest, key: AlarmKey, request: Request, who: Supervisor
) -> dict[str, Any]:
    """Hide the alarm from the board for ``minutes``; shelving it again sets a new end."""
    line = line_of(request)
    try:
        line.shelve_alarm(key, body.minutes, body.reason, actor_of(who))
    except CommandRefused as err:
        raise _refused(err) from err
    return _after(line, key)


@router.delete(
    "/alarms/{key:path}/shelve", summary="Unshelve an alarm (supervisor)", responses=_REFUSALS
)
async def delete_shelve(key: AlarmKey, request: Request, who: Supervisor) -> dict[str, Any]:
    """Show a shelved alarm on the board again."""
    line = line_of(request)
    try:
        line.unshelve_alarm(key, actor_of(who))
    except CommandRefused as err:
        raise _refused(err) from err
    return _after(line, key)
