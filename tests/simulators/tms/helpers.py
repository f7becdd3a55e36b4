"""Helpers for the reference TMS simulator tests: event bodies, headers, control calls."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp

from plc_configs.webhook import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from simulators.tms import TmsSimulator


def make_event(
    parcel_id: str = "P-1",
    sequence: int = 1,
    type_: str = "parcel.sorted",
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event body as LaneSort sends it."""
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "type": type_,
        "time": "2025-01-01T12:00:00.000+00:00",
        "line": "demo",
        "parcel_id": parcel_id,
        "sequence": sequence,
        "tracking_id": 17,
        "barcode": "1Z999",
        "route": "R01",
        "chute": 3,
        "reason": None,
        "reason_detail": None,
        "weight": {
            "kg": 1.25,
            "raw": "S S      1.250 kg",
            "stable": True,
            "legal_for_trade": True,
            "device": "scale",
        },
        "dimensions": None,
        "volumetric_weight_kg": None,
    }


def delivery_headers(
    event: dict[str, Any], body: bytes, secret: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The headers LaneSort sends with ``body``."""
    headers = {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: str(event.get("event_id")),
        EVENT_HEADER: str(event.get("type")),
    }
    if secret is not None:
        t = int(time.time()) if timestamp is None else timestamp
        headers[SIGNATURE_HEADER] = signature_header(secret, t, body)
    return headers


async def control(
    http: aiohttp.ClientSession, sim: TmsSimulator, method: str, path: str, body: Any = None
) -> Any:
    """Call the control site and return its JSON answer (asserting 200)."""
    async with http.request(method, sim.control_url + path, json=body) as response:
        answer = await response.json()
        assert response.status == 200, answer
        return answer
