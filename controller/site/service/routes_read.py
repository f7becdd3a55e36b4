"""The site's read endpoints: a parcel across lines, counters, trucks, lines, metrics."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from controller.api.auth import Reader
from controller.api.problems import ApiProblem
from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.metrics import metrics_text
from controller.site.service.site import Site

router = APIRouter(tags=["site"])


def site_of(request: Request) -> Site:
    """The site the app serves."""
    return request.app.state.site


@router.get("/health", tags=["operations"], summary="Liveness (no token)")
async def health() -> dict[str, str]:
    """200 while the site process answers (PostgreSQL may still be down: see /ready)."""
    return {"status": "ok"}


@router.get(
    "/ready",
    tags=["operations"],
    summary="Readiness (no token)",
    responses={503: {"description": "the site store (PostgreSQL) cannot be reached"}},
)
async def ready(request: Request) -> dict[str, Any]:
    """200 when the site store answers a query, else 503 with why."""
    await site_of(request).store.fetch("SELECT 1 AS one")
    return {"ready": True}


@router.get(
    "/api/v1/parcels/{barcode}",
    tags=["parcels"],
    summary="A parcel on any line, with its events",
    responses={404: {"description": "no line relayed a parcel with this barcode"}},
)
async def get_parcel(
    request: Request, barcode: Annotated[str, Path(min_length=1, max_length=64)], _: Reader
) -> dict[str, Any]:
    """Every parcel read with ``barcode`` on any line (newest first; a parcel re-inducted
    is one entry per induction), each with its state, chute, measurements and events."""
    parcels = await site_of(request).store.parcels(barcode)
    if not parcels:
        raise ApiProblem(
            404, f"no line has relayed a parcel with barcode {barcode!r}", "unknown-parcel"
        )
    return {"barcode": barcode, "parcels": parcels}


@router.get("/api/v1/counters", summary="Parcels by state per line and for the site")
async def get_counters(request: Request, _: Reader) -> dict[str, Any]:
    """Per line: parcels by state, terminal parcels, terminal in the last hour (throughput),
    relay positions per stream and the relay's age (seconds since its last commit). The
    ``site`` entry sums the lines."""
    site = site_of(request)
    counters = await site.store.counters()
    for name in site.config.lines:
        counters["lines"].setdefault(
            name, {"states": {}, "terminal": 0, "last_hour": 0, "relay": {}, "relay_age_s": None}
        )
    return counters


@router.get("/api/v1/trucks", summary="Trucks' loading summaries across lines")
async def get_trucks(
    request: Request,
    _: Reader,
    truck: Annotated[str | None, Query(max_length=64, description="only this truck")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Loading summaries newest first, each with the line that loaded it."""
    return await site_of(request).store.trucks(truck, limit)


@router.get("/api/v1/lines", summary="The site's lines: links, state, relay")
async def get_lines(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Each configured line: its API and HMI links, its own state as it last answered
    (PackML state, its alarms and their count), and when it last relayed to the site store. Answers
    even while PostgreSQL is down (``store_error`` says why the relay part is missing)."""
    site = site_of(request)
    seen: dict[str, dict[str, Any]] = {}
    store_error = None
    try:
        seen = {row["line"]: row for row in await site.store.known_lines()}
    except SiteStoreUnavailable as err:
        store_error = str(err)
    now = time.time()
    out = []
    for name, cfg in site.config.lines.items():
        row = seen.get(name)
        out.append(
            {
                "line": name,
                "api_url": cfg.api_url,
                "hmi_url": cfg.hmi_url,
                "status": site.watcher.status[name].as_dict(),
                "relay_last_seen": row["last_seen"] if row else None,
                "relay_age_s": round(now - row["last_seen"], 3) if row else None,
                "store_error": store_error,
            }
        )
    return out


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, _: Reader) -> Response:
    """Per-line parcels by state, last hour's throughput, relay age, line reachability and
    whether PostgreSQL answers (``lanesort_site_postgres_up``)."""
    return Response(await metrics_text(site_of(request)), media_type=CONTENT_TYPE_LATEST)
