"""The upstream outbox: depth, events by state, and replay of dead letters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from controller.api.auth import Reader, TmsOrSupervisor, line_of
from controller.api.models import ReplayRequest, iso
from controller.api.problems import ApiProblem
from controller.errors import UpstreamError
from controller.upstream import UpstreamDelivery

router = APIRouter(prefix="/api/v1/upstream", tags=["upstream"])


def _upstream(request: Request) -> UpstreamDelivery:
    return line_of(request).upstream


@router.get("", summary="Outbox depth and delivery state")
async def get_upstream(request: Request, _: Reader) -> dict[str, Any]:
    """Events waiting, dead-lettered and delivered; the last error; the webhook URL."""
    upstream = _upstream(request)
    stats = asdict(upstream.stats())
    for key in ("last_delivery_time",):
        if key in stats:
            stats[key] = iso(stats[key])
    return {"webhook_url": upstream.config.webhook_url, **stats}


@router.get("/events", summary="Outbox events by state")
async def get_events(
    request: Request,
    _: Reader,
    state: Annotated[Literal["pending", "dead", "delivered"], Query()] = "dead",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        int | None, Query(ge=0, le=2**62, description="outbox id of the last row seen")
    ] = None,
) -> list[dict[str, Any]]:
    """Events in ``state``, oldest first, with attempts and the last error."""
    rows = await _upstream(request).list_events(state, limit, after)
    for row in rows:
        for key in ("created", "delivered", "next_attempt"):
            if row.get(key) is not None:
                row[key] = iso(row[key])
    return rows


@router.post(
    "/replay",
    summary="Send events again (tms, supervisor)",
    responses={404: {"description": "an event id is not in the outbox"}},
)
async def replay(body: ReplayRequest, request: Request, who: TmsOrSupervisor) -> dict[str, Any]:
    """Put dead-lettered (or delivered) events back in the queue with their original
    event ids, so the TMS can deduplicate by ``Idempotency-Key``."""
    try:
        n = await _upstream(request).replay(body.event_ids, body.state)
    except UpstreamError as err:
        if "unknown" in str(err):
            raise ApiProblem(404, str(err), "unknown-event") from err
        raise ApiProblem(503, str(err), "outbox-unavailable") from err
    return {"replayed": n, "by": who.name}
