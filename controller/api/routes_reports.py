"""Reports: the shift report (JSON or CSV) and the line's throughput series."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from controller.api.auth import Reader, line_of
from controller.api.models import iso
from controller.api.problems import ApiProblem
from controller.errors import ReportError

router = APIRouter(prefix="/api/v1", tags=["reports"])

DEFAULT_SHIFT = timedelta(hours=8)


def _invalid(err: ReportError) -> ApiProblem:
    return ApiProblem(
        422, str(err), "validation", errors=[{"field": f"query.{err.field}", "reason": str(err)}]
    )


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def csv_filename(line: str, since: float, until: float) -> str:
    """``lanesort-shift-<line>-<since>-<until>.csv`` with UTC times, safe as a file name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", line).strip("-.") or "line"
    return f"lanesort-shift-{safe}-{_stamp(since)}-{_stamp(until)}.csv"


@router.get(
    "/reports/shift",
    summary="Shift report: KPIs of a period (JSON, or CSV with format=csv)",
    responses={
        200: {"content": {"text/csv": {}}, "description": "the report (JSON or CSV)"},
        422: {"description": "since is not before until, or the period is over 31 days"},
    },
)
async def get_shift_report(
    request: Request,
    _: Reader,
    since: Annotated[
        datetime | None,
        Query(
            description="ISO 8601, inclusive (no offset: the controller's local time); "
            "default: until - 8 h"
        ),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="ISO 8601, exclusive; default: now")
    ] = None,
    fmt: Annotated[
        Literal["json", "csv"] | None,
        Query(
            alias="format",
            description="csv for a spreadsheet; default: JSON unless Accept asks for text/csv",
        ),
    ] = None,
) -> Any:
    """Parcels inducted in the period by terminal state, throughput (running, wall, 5-min
    peak), read rate, reject rate by reason, measurement coverage, answer latency, and the
    time not in Execute by cause with the availability.

    The CSV is one ``section,key,value`` table (units in the key names) sent as an
    attachment named ``lanesort-shift-<line>-<since>-<until>.csv``.
    """
    line = line_of(request)
    end = until.timestamp() if until else datetime.now(UTC).timestamp()
    start = since.timestamp() if since else end - DEFAULT_SHIFT.total_seconds()
    try:
        report = await line.shift_report(start, end)
    except ReportError as err:
        raise _invalid(err) from err
    wants_csv = fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))
    if not wants_csv:
        return {"line": line.config.line.name, **report.to_dict()}
    name = csv_filename(line.config.line.name, start, end)
    return Response(
        report.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/line/throughput",
    summary="Parcels finished per time bucket, ending now",
    responses={422: {"description": "more than 10,000 buckets"}},
)
async def get_throughput(
    request: Request,
    _: Reader,
    minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60, description="how far back")] = 60,
    bucket_s: Annotated[int, Query(ge=1, le=86400, description="bucket width (s)")] = 60,
) -> dict[str, Any]:
    """Parcels reaching a terminal state (sorted, rejected, lost) per bucket, oldest first,
    every bucket present (0 when empty). Buckets are aligned to multiples of ``bucket_s``;
    the last one holds now and is still filling."""
    line = line_of(request)
    try:
        series = await line.throughput_series(minutes, bucket_s)
    except ReportError as err:
        raise _invalid(err) from err
    return {
        "line": line.config.line.name,
        "minutes": minutes,
        "bucket_s": bucket_s,
        "buckets": [{"start": iso(start), "parcels": count} for start, count in series],
    }
