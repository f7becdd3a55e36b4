"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.api.auth import Reader, line_of
from controller.api.metrics import registry_for

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness (no token)")
async def health() -> dict[str, str]:
    """200 while the controller process answers."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness (no token)",
    responses={503: {"description": "journal not open or PLC link down"}},
)
async def ready(request: Request) -> Any:
    """200 when the journal is open and the PLC link is up, else 503 with what is missing."""
    line = line_of(request)
    checks = {
        "journal": line.journal.is_open and line.journal.last_error is None,
        "plc_link": line.plc.link.up,
        "manifest": line.manifest_ready,
    }
    body = {"ready": all(checks.values()), "checks": checks}
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, _: Reader) -> Response:
    """Parcels by terminal state and reason, answer latency histogram, links, outbox depth."""
    data = generate_latest(registry_for(request.app))
    return Response(data, media_type=CONTENT_TYPE_LATEST)
