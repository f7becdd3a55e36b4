"""Parcels as the line saw them: state, route, chute, measurements, every event."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from controller.api.auth import Reader, line_of
from controller.api.models import iso
from controller.api.problems import ApiProblem

router = APIRouter(prefix="/api/v1", tags=["parcels"])

State = Literal["inducted", "identified", "assigned", "sorted", "rejected", "lost"]


def _times(parcel: dict[str, Any]) -> dict[str, Any]:
    for key in ("inducted", "updated"):
        parcel[key] = iso(parcel[key])
    for event in parcel.get("events", ()):
        event["time"] = iso(event["time"])
    for other in parcel.get("other_passes", ()):
        _times(other)
    return parcel


@router.get(
    "/parcels/{barcode}",
    summary="One parcel: state, route, chute, measurements and events",
    responses={404: {"description": "the line has not seen this barcode"}},
)
async def get_parcel(
    request: Request, barcode: Annotated[str, Path(min_length=1, max_length=64)], _: Reader
) -> dict[str, Any]:
    """The latest pass of the parcel over the line.

    ``measurements`` holds the weight and dimensions as the devices reported them,
    with their raw text; ``events`` every step with its time; ``other_passes``
    earlier passes of the same barcode (recirculation, a second induction).
    """
    parcel = await asyncio.to_thread(line_of(request).parcels.by_barcode, barcode)
    if parcel is None:
        raise ApiProblem(404, f"no parcel with barcode {barcode!r} on this line", "unknown-parcel")
    return _times(parcel)


@router.get("/parcels", summary="Search parcels by time and state")
async def search_parcels(
    request: Request,
    _: Reader,
    since: Annotated[datetime | None, Query(description="inducted at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="inducted before (ISO 8601)")] = None,
    state: Annotated[State | None, Query(description="only parcels in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    """Parcels oldest first, ``limit`` per page; follow ``next_cursor`` for the next page."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiProblem(
                422,
                f"{name} needs a time zone (2026-11-22T10:00:00Z)",
                "validation",
                [{"field": f"query.{name}", "reason": "expected a time zone offset or Z"}],
            )
    try:
        page = await asyncio.to_thread(
            line_of(request).parcels.search,
            since.timestamp() if since else None,
            until.timestamp() if until else None,
            state,
            limit,
            cursor,
        )
    except ValueError as err:
        raise ApiProblem(
            422, str(err), "validation", [{"field": "query.cursor", "reason": str(err)}]
        ) from err
    return {"items": [_times(p) for p in page.items], "next_cursor": page.next_cursor}
