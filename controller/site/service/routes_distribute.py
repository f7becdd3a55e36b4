"""Manifests and route plans from the TMS, split by route and pushed to the lines.

The answer is 200 when every line took its part and every row or route has a line;
207 when a line refused its part, could not be reached (the part is kept and retried)
or some rows or routes have no line (``unassigned``); 422 when the upload cannot be
split at all (nothing was sent to any line).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from controller.api.auth import Reader, Tms
from controller.api.problems import ApiProblem
from controller.site.service.assign import split_manifest, split_route_plan
from controller.site.service.distribute import LineResult, Part
from controller.site.service.errors import SplitError
from controller.site.service.routes_read import site_of

router = APIRouter(prefix="/api/v1", tags=["distribution"])

_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json",
}
MAX_UPLOAD = 256 * 2**20
"""The largest manifest the site splits (it is read into memory)."""


def _answer(results: dict[str, LineResult], unassigned: dict[str, Any], **extra: Any) -> Any:
    ok = all(r.status in ("accepted", "loading") for r in results.values())
    complete = ok and not any(unassigned.values())
    body = {
        "complete": complete,
        "lines": {name: r.as_dict() for name, r in results.items()},
        "unassigned": unassigned,
        **extra,
    }
    return JSONResponse(body, status_code=200 if complete else 207)


@router.post(
    "/manifest",
    summary="Send a manifest to the lines by route (tms)",
    responses={
        207: {"description": "a line refused or is unreachable, or rows have no line"},
        413: {"description": "larger than the site splits (256 MiB)"},
        415: {"description": "not CSV, NDJSON or JSON"},
        422: {"description": "rows without a route, or not readable; nothing was sent"},
    },
)
async def post_manifest(
    request: Request,
    who: Tms,
    partial: Annotated[
        bool, Query(description="each line loads its good rows even if some are bad")
    ] = False,
) -> Any:
    """The same formats as a line's manifest (CSV with a header, NDJSON, JSON). Each
    line's rows go to it as one upload in the same format; the line checks them. Rows
    whose route no line sorts are counted by route under ``unassigned``."""
    site = site_of(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(media)
    if fmt is None:
        raise ApiProblem(
            415,
            f"Content-Type {media or '(none)'} is not a manifest format; send text/csv, "
            "application/x-ndjson or application/json",
            "unsupported-format",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise ApiProblem(413, "the manifest is larger than 256 MiB", "too-large")
    if not body:
        raise ApiProblem(422, "the upload is empty", "bad-manifest")
    try:
        split = await asyncio.to_thread(split_manifest, bytes(body), fmt, site.assigner)
    except SplitError as err:
        raise ApiProblem(422, str(err), "bad-manifest", err.problems) from err
    flag = "true" if partial else "false"
    parts = {
        # The line waits for its import as long as the site waits for one answer.
        line: Part(
            "manifest",
            "POST",
            f"/api/v1/manifest?partial={flag}&wait_s={site.config.lines[line].timeout_s:g}",
            p.body,
            p.media_type,
            p.rows,
        )
        for line, p in split.parts.items()
    }
    results = await site.distributor.send(parts)
    unassigned = {"rows": sum(split.unassigned.values()), "routes": split.unassigned}
    return _answer(results, unassigned, rows=split.rows, by=who.name)


@router.put(
    "/route-plan",
    summary="Send the route plan to the lines by route (tms)",
    responses={
        207: {"description": "a line refused or is unreachable, or routes/trucks have no line"},
        422: {"description": "not a route plan the site can split; nothing was sent"},
    },
)
async def put_route_plan(
    request: Request,
    who: Tms,
    body: Annotated[dict[str, Any], Body(description="trucks, routes and reason, as on a line")],
) -> Any:
    """Each line gets the routes the site assigns it and the trucks those routes name, as
    its whole new route plan (a line with no route gets an empty plan). ``reason`` is
    passed on; ``expected_version`` is not (each line has its own versions)."""
    site = site_of(request)
    if body.get("expected_version") is not None:
        raise ApiProblem(
            422,
            "expected_version is per line and cannot be sent through the site; leave it out",
            "invalid-route-plan",
            [{"field": "body.expected_version", "reason": "not supported by the site"}],
        )
    unknown = sorted(set(body) - {"trucks", "routes", "reason", "expected_version"})
    if unknown:
        raise ApiProblem(
            422,
            f"unknown keys in the route plan: {', '.join(unknown)}",
            "invalid-route-plan",
            [{"field": f"body.{k}", "reason": "unknown key"} for k in unknown],
        )
    try:
        split = split_route_plan(body, site.assigner, list(site.config.lines))
    except SplitError as err:
        raise ApiProblem(422, str(err), "invalid-route-plan", err.problems) from err
    parts = {
        line: Part(
            "route-plan",
            "PUT",
            "/api/v1/route-plan",
            json.dumps(plan).encode(),
            "application/json",
            len(plan["routes"]),
        )
        for line, plan in split.parts.items()
    }
    results = await site.distributor.send(parts)
    unassigned = {"routes": split.unassigned_routes, "trucks": split.unassigned_trucks}
    return _answer(results, unassigned, by=who.name)


@router.get("/distribution", summary="Parts waiting for lines that could not be reached")
async def get_pending(request: Request, _: Reader) -> dict[str, Any]:
    """Per line, the manifest and route-plan parts still to be sent (oldest first)."""
    return {"pending": site_of(request).distributor.pending()}


@router.post("/distribution/retry", summary="Send waiting parts now (tms)")
async def post_retry(request: Request, _: Tms) -> dict[str, Any]:
    """Try every line with waiting parts now; each line's result and what still waits."""
    distributor = site_of(request).distributor
    results = await distributor.retry()
    return {
        "lines": {name: r.as_dict() for name, r in results.items()},
        "pending": distributor.pending(),
    }
