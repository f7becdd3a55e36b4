"""Parcels as the line saw them: state, route, chute, measurements, every event."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse

from controller.api.auth import Reader, line_of
from controller.api.models import iso
from controller.api.problems import ApiProblem
from controller.errors import CommandRefused

router = APIRouter(prefix="/api/v1", tags=["parcels"])

State = Literal["inducted", "identified", "assigned", "sorted", "rejected", "lost"]


def _times(parcel: dict[str, Any]) -> dict[str, Any]:
    for key in ("inducted", "updated"):
        parcel[key] = iso(parcel[key])
    for event in parcel.get("events", ()):
        event["time"] = iso(event["time"])
    for image in parcel.get("images", ()):
        image["time"] = iso(image["time"])
    for event in parcel.get("upstream", ()):
        for key in ("created", "next_attempt", "delivered"):
            event[key] = iso(event[key])
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

    ``images``: the camera frames the parcel was read from (``device``, ``time``,
    ``path`` in the controller's images folder, ``url`` of the JPEG; pruned oldest
    first by the line's ``images`` limits). ``upstream``: its webhook events with their
    delivery ``state`` (pending, delivered, dead), ``attempts``, ``last_error``,
    ``next_attempt`` (pending) or ``delivered`` time. ``handling``: its life after the
    sort at the put wall and the door (``state`` put, loaded, short or exception; wall,
    cubby, container, truck, stop, reason, ``put_at``/``loaded_at``), or null.
    """
    parcel = await asyncio.to_thread(line_of(request).parcels.by_barcode, barcode)
    if parcel is None:
        raise ApiProblem(404, f"no parcel with barcode {barcode!r} on this line", "unknown-parcel")
    for n, image in enumerate(parcel["images"]):
        image["url"] = f"/api/v1/parcels/{quote(barcode, safe='')}/images/{n}"
    return _times(parcel)


@router.get(
    "/parcels/{barcode}/images/{n}",
    summary="One camera image of a parcel (JPEG)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the JPEG image"},
        404: {"description": "no such parcel, or it has no image n (not kept, or pruned)"},
    },
)
async def get_parcel_image(
    request: Request,
    barcode: Annotated[str, Path(min_length=1, max_length=64)],
    n: Annotated[int, Path(ge=0, le=1000, description="index in the parcel's images, from 0")],
    _: Reader,
) -> FileResponse:
    """Image ``n`` of the latest pass of the parcel, as listed in its ``images``."""
    line = line_of(request)
    images = await asyncio.to_thread(line.parcels.images_of, barcode)
    if images is None:
        raise ApiProblem(404, f"no parcel with barcode {barcode!r} on this line", "unknown-parcel")
    if n >= len(images):
        raise ApiProblem(404, f"parcel {barcode!r} has {len(images)} image(s)", "no-image")
    try:
        path = await asyncio.to_thread(line.image_file, images[n]["path"])
    except CommandRefused as err:
        raise ApiProblem(404, str(err), "no-image") from err
    if not await asyncio.to_thread(path.is_file):
        raise ApiProblem(404, f"image {n} of parcel {barcode!r} was deleted", "no-image")
    return FileResponse(path, media_type="image/jpeg")


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
