"""The TMS manifest: bulk upload (CSV, NDJSON, JSON) as import jobs, query, delete.

An upload is streamed to a spool file in the data directory (never held in
memory), then a separate process parses, validates and loads it in batches, so
a million rows never slow the line's decisions. The answer waits up to
``wait_s`` seconds for the import: 200 with the result when it finished, 422
when rows were bad and nothing was loaded, 202 with the job's address otherwise.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path as FilePath
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from controller.api.auth import Reader, Tms, line_of
from controller.api.problems import ApiProblem, problem_response
from controller.errors import ManifestError
from controller.line import LineController
from controller.manifest import ImportJob

router = APIRouter(prefix="/api/v1/manifest", tags=["manifest"])

_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json",
}
_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["barcode", "route"],
    "additionalProperties": False,
    "properties": {
        "barcode": {"type": "string", "minLength": 1, "maxLength": 64},
        "route": {"type": "string", "minLength": 1, "maxLength": 64},
        "stop_sequence": {"type": ["integer", "null"], "minimum": 0},
        "consignee": {"type": ["string", "null"], "maxLength": 200},
        "postal_code": {"type": ["string", "null"], "maxLength": 16},
        "service_level": {"type": ["string", "null"], "maxLength": 32},
    },
}
_CSV_EXAMPLE = (
    "barcode,route,stop_sequence,consignee,postal_code,service_level\n"
    "JD014600006251380001,R07,12,Acme GmbH,80331,express\n"
)
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The manifest rows. CSV needs a header with at least barcode,route.",
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"barcode": "JD014600006251380001", "route": "R07"}\n',
            },
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "array", "items": _ROW_SCHEMA},
                        {
                            "type": "object",
                            "required": ["parcels"],
                            "additionalProperties": False,
                            "properties": {"parcels": {"type": "array", "items": _ROW_SCHEMA}},
                        },
                    ]
                }
            },
        },
    }
}


def _content_format(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(media)
    if fmt is None:
        raise ApiProblem(
            415,
            f"Content-Type {media or '(none)'} is not a manifest format; send text/csv, "
            "application/x-ndjson or application/json",
            "unsupported-format",
        )
    return fmt


async def _spool(request: Request, path: FilePath, limit: int) -> int:
    """Stream the request body to ``path`` (writes in a thread); returns its size."""
    size, pending = 0, bytearray()
    handle: BinaryIO = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiProblem(
                    413,
                    f"the upload is larger than api.max_upload_mb ({limit // 2**20} MiB)",
                    "too-large",
                )
            pending += chunk
            if len(pending) >= 1 << 20:
                await asyncio.to_thread(handle.write, bytes(pending))
                pending.clear()
        if pending:
            await asyncio.to_thread(handle.write, bytes(pending))
    except BaseException:
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    await asyncio.to_thread(handle.close)
    return size


def _job_answer(request: Request, job: Any) -> Response:
    body = job.as_dict()
    location = f"/api/v1/manifest/jobs/{job.id}"
    if not job.state.finished:
        return JSONResponse(body, status_code=202, headers={"Location": location})
    if job.state.value == "failed" or (job.rows_bad and not job.partial):
        what = (
            f"{job.rows_bad} bad rows; nothing was loaded (send partial=true to load the good rows)"
            if job.rows_bad and not job.partial
            else job.error or "the import failed"
        )
        errors = [
            {"field": f"line {b['line']}.{b['field']}", "reason": b["reason"]}
            for b in body.get("bad_rows", [])
        ]
        return problem_response(
            request, 422, what, "bad-manifest", errors, {"Location": location}, job=body
        )
    return JSONResponse(body, status_code=200, headers={"Location": location})


@router.post(
    "",
    summary="Upload manifest rows: upsert by barcode (tms)",
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"description": "loaded; the import job's result"},
        202: {"description": "still loading; poll the Location"},
        413: {"description": "larger than api.max_upload_mb"},
        415: {"description": "not CSV, NDJSON or JSON"},
        422: {"description": "bad rows (each by line, field and reason) or a bad header"},
    },
)
async def upload(
    request: Request,
    who: Tms,
    partial: Annotated[
        bool, Query(description="load the good rows even if some rows are bad")
    ] = False,
    wait_s: Annotated[
        float, Query(ge=0, le=60, description="wait this long for the import to finish")
    ] = 10.0,
) -> Response:
    """Insert or update parcels by barcode (CSV, NDJSON or JSON; millions of rows are fine).

    Every bad row is reported with its line number (CSV/NDJSON; ``item N`` for JSON),
    the field and the reason. Without ``partial=true`` a file with any bad row loads
    nothing; with it, the good rows load. Rows repeating a barcode: the last wins.
    """
    line = line_of(request)
    fmt = _content_format(request)
    spool_dir = line.data_dir / "uploads"
    await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
    path = spool_dir / f"{uuid.uuid4().hex}.{fmt}"
    size = await _spool(request, path, line.config.api.max_upload_mb * 2**20)
    if size == 0:
        await asyncio.to_thread(path.unlink)
        raise ApiProblem(422, "the upload is empty", "bad-manifest")
    try:
        job = await line.imports.start(path, fmt, partial, who.name)
    except ManifestError as err:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise ApiProblem(503, str(err), "import-unavailable") from err
    job = await line.imports.wait(job.id, wait_s) or job
    return _job_answer(request, job)


@router.get("/jobs", summary="Recent manifest imports")
async def list_jobs(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Import jobs, newest first, with progress and bad-row counts."""
    line = line_of(request)
    live = {job.id: job for job in line.imports.list()}
    stored = await asyncio.to_thread(line.manifest.jobs, 50)
    jobs = {**{job.id: job for job in stored}, **live}
    return [j.as_dict() for j in sorted(jobs.values(), key=lambda j: j.created, reverse=True)]


async def _job(line: LineController, job_id: str, cancel: bool = False) -> ImportJob:
    """The job (cancelled first if asked), from the running manager or the store; else 404."""
    job = await line.imports.cancel(job_id) if cancel else None
    job = job or line.imports.status(job_id)
    job = job or await asyncio.to_thread(line.manifest.job, job_id)
    if job is None:
        raise ApiProblem(404, f"no import job {job_id!r}", "unknown-job")
    return job


@router.get(
    "/jobs/{job_id}",
    summary="One manifest import: progress, result, bad rows",
    responses={404: {"description": "no such job"}},
)
async def get_job(
    request: Request, job_id: Annotated[str, Path(max_length=64)], _: Reader
) -> dict[str, Any]:
    """The job's state, rows read/loaded/bad, rows/s, and its bad rows (first 1000)."""
    return (await _job(line_of(request), job_id)).as_dict()


@router.delete(
    "/jobs/{job_id}",
    summary="Cancel a running import (tms)",
    responses={404: {"description": "no such job"}},
)
async def cancel_job(
    request: Request, job_id: Annotated[str, Path(max_length=64)], _: Tms
) -> dict[str, Any]:
    """Stop the import; a job that was not partial loads nothing."""
    return (await _job(line_of(request), job_id, cancel=True)).as_dict()


@router.get("", summary="Query manifest parcels")
async def query(
    request: Request,
    _: Reader,
    route: Annotated[str | None, Query(max_length=64, description="only this route")] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="next_after of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Parcels ordered by barcode, ``limit`` per page; follow ``next_after``."""
    rows = await asyncio.to_thread(line_of(request).manifest.query, route, after, limit)
    items = [r.as_dict() for r in rows]
    return {"items": items, "next_after": items[-1]["barcode"] if len(items) == limit else None}


@router.get(
    "/{barcode}",
    summary="One manifest parcel",
    responses={404: {"description": "not in the manifest"}},
)
async def get_row(
    request: Request, barcode: Annotated[str, Path(min_length=1, max_length=64)], _: Reader
) -> dict[str, Any]:
    """The parcel's route, stop sequence, consignee, postal code and service level."""
    row = await asyncio.to_thread(line_of(request).manifest.record, barcode)
    if row is None:
        raise ApiProblem(404, f"{barcode!r} is not in the manifest", "unknown-parcel")
    return row.as_dict()


@router.delete(
    "/{barcode}",
    status_code=204,
    summary="Remove a parcel from the manifest (tms)",
    responses={404: {"description": "not in the manifest"}},
)
async def delete_row(
    request: Request, barcode: Annotated[str, Path(min_length=1, max_length=64)], _: Tms
) -> Response:
    """The parcel is no longer routable (a later read of it is a no-route reject)."""
    if not await asyncio.to_thread(line_of(request).manifest.delete, barcode):
        raise ApiProblem(404, f"{barcode!r} is not in the manifest", "unknown-parcel")
    return Response(status_code=204)
