"""Shared test parts: parcel events through the real tracker and a real aiohttp TMS receiver."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.measurement import Measurement
from controller.parcels.state import ParcelEvent, ParcelTracker
from drivers.dimensioner.base import Dimensions
from drivers.scale.base import Weight, WeightMode
from plc_configs.contract import SortResult


def measurement(kg: str = "2.500", length: str = "400.5") -> Measurement:
    """A full measurement with exact values and the devices' raw text."""
    return Measurement(
        weight=Weight(
            Decimal(kg), Decimal(kg), "kg", True, WeightMode.GROSS, True, f"S S     {kg} kg"
        ),
        weight_device="scale-1",
        dimensions=Dimensions(Decimal(length), Decimal("300"), Decimal("200.25"), True, "L400"),
        dimensions_device="dim-1",
        volumetric_kg=Decimal("4.806"),
    )


def parcel_events(
    tracker: ParcelTracker,
    tracking_id: int,
    *,
    result: SortResult = SortResult.DIVERTED,
    decision: Decision | None = None,
    barcode: str | None = None,
    measure: Measurement | None = None,
    t: float = 1.0,
) -> list[ParcelEvent]:
    """Every event of one parcel from scan to confirmation (measured when ``measure``)."""
    barcode = barcode or f"LS{tracking_id:06d}"
    parcel, events = tracker.on_scan(tracking_id, t)
    events += tracker.on_identified(
        parcel, Identification(barcode), ((barcode, "]C0", "reader"),), "raw", t + 0.01
    )
    if measure is not None:
        events += tracker.on_measured(parcel, measure, t + 0.02)
    parcel, more = tracker.on_request(tracking_id, t + 0.03)
    events += more
    events += tracker.on_answered(parcel, decision or Decision(3, "R03", None), t + 0.031)
    events += tracker.on_confirmation(tracking_id, 3, result, t + 0.5)
    return events


def reject_decision(why: str = "LS1 not in the manifest") -> Decision:
    """A decision for the reject chute 99 with a reason and its explanation."""
    return Decision(99, None, RejectReason.NO_ROUTE, why)


def outbox_rows(path: Path, where: str = "1") -> list[dict[str, Any]]:
    """The outbox rows (as dicts, payload parsed with exact decimals), in id order."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute(f"SELECT * FROM outbox WHERE {where} ORDER BY id")]
    finally:
        conn.close()
    for row in rows:
        row["body"] = json.loads(row["payload"], parse_float=Decimal)
    return rows


@dataclass
class Hit:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def key(self) -> str:
        """The Idempotency-Key header."""
        return self.headers["Idempotency-Key"]

    @property
    def json(self) -> dict[str, Any]:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny TMS: an aiohttp server on 127.0.0.1 recording every POST.

    ``answer`` gives the status for each request (default 200).
    """

    answer: Callable[[Hit], int] = lambda hit: 200
    delay: float = 0.0
    """Seconds the receiver takes before it answers."""
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The webhook URL."""
        return f"http://127.0.0.1:{self.port}/events"

    def delivered(self) -> list[Hit]:
        """The requests answered 2xx, in arrival order."""
        return [h for h in self.hits if 200 <= h.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        hit = Hit(dict(request.headers), await request.read(), 0)
        if self.delay:
            await asyncio.sleep(self.delay)
        hit.status = self.answer(hit)
        self.hits.append(hit)
        text = "ok" if hit.status < 300 else "TMS says no"
        return web.Response(status=hit.status, text=text)

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port again after stop)."""
        app = web.Application()
        app.router.add_post("/events", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the server (the port then refuses connections)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def until(predicate: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
