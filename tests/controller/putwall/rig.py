"""A line with a put wall under Banner lights, a ZPL printer and a pushing hand scanner, all
over their real wires on loopback (shared by the service and the API tests).

The route plan has truck T1 (door D1, route A: stops 1 and 2) and truck T2 (door D2,
route B); wall W1 (cubbies on light nodes 1-4, 5 parcels each) serves T1. A test plays the
operator: it pushes codes on the scanner's TCP link (:meth:`Wall.scan`) and presses the
simulator's light modules (``bank.press``), and reads what the line journaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from controller.line.controller import LineController
from controller.manifest.rows import ManifestRow
from drivers.ptl.base import Colour
from simulators.printer import ZplPrinterSimulator
from simulators.ptl.bank import LightBank
from simulators.ptl.banner import BannerLightsSimulator
from tests.conftest import free_port
from tests.controller.line.helpers import line_config, pointed_at, running, simulated_line, until

ROUTE_PLAN = {
    "trucks": [{"id": "T1", "door": "D1"}, {"id": "T2", "door": "D2"}],
    "routes": [
        {"id": "A", "truck": "T1", "stops": [{"sequence": 1}, {"sequence": 2}]},
        {"id": "B", "truck": "T2", "stops": [{"sequence": 1}]},
    ],
}
MANIFEST = [
    ManifestRow("P1", "A", 1, "Acme"),
    ManifestRow("P2", "A", 1, "Acme"),
    ManifestRow("P3", "A", 2, "Bolt"),
    ManifestRow("Q1", "B", 1, "Cord"),
]


@dataclass
class Wall:
    """The running line, the wall's light bank, its printer and the scanner's link."""

    line: LineController
    bank: LightBank
    printer: ZplPrinterSimulator
    scanner: asyncio.StreamWriter

    async def scan(self, code: str) -> None:
        """The hand scanner reads ``code`` (pushed to the line as a Cognex reader does)."""
        self.scanner.write(code.encode() + b"\r\n")
        await self.scanner.drain()


@contextlib.asynccontextmanager
async def wall_rig(tmp_path: Path) -> AsyncIterator[Wall]:
    """The line with wall W1 running, its lights' link up; everything closed on exit."""
    bank = LightBank(range(1, 5))
    lights = BannerLightsSimulator(bank, "127.0.0.1", 0, hold_s=0.3)
    printer = ZplPrinterSimulator("127.0.0.1", 0)
    await lights.start()
    await printer.start()
    try:
        async with _line(tmp_path, lights, printer) as (line, scan_port):
            _, writer = await asyncio.open_connection("127.0.0.1", scan_port)
            try:
                yield Wall(line, bank, printer, writer)
            finally:
                writer.close()
                # The lights go off the bus before the line stops: on Python 3.11 a Banner
                # poll cancelled just as its reply lands loses the cancellation (asyncio.
                # wait_for inside pymodbus), and the driver's close() then waits forever.
                await lights.stop()
    finally:
        await lights.stop()
        await printer.stop()


@contextlib.asynccontextmanager
async def _line(tmp_path, lights, printer) -> AsyncIterator[tuple[LineController, int]]:
    scan_port = free_port()
    config = line_config(
        topology={"doors": [{"id": "D1", "position_mm": 800}, {"id": "D2", "position_mm": 900}]},
        sort_plan={"A": [1], "B": [2]},
        replanning={"enabled": False},
    )
    data = config.model_dump(mode="python")
    data["devices"] |= {
        "lights": {
            "kind": "pick_to_light",
            "driver": "banner-rtu",
            "url": lights.url,
            "nodes": "1-4",
            "poll_interval_ms": 20,
            "reconnect_min_ms": 20,
            "reconnect_max_ms": 100,
        },
        "scanner": {
            "kind": "barcode_reader",
            "driver": "cognex",
            "push": True,
            "at": "putwall",
            "url": f"tcp://127.0.0.1:{scan_port}",
        },
        "printer": {"kind": "label_printer", "url": printer.url, "status_interval_ms": 100},
    }
    data["putwall"] = {
        "walls": [
            {
                "id": "W1",
                "trucks": ["T1"],
                "lights": "lights",
                "cubby_capacity": 5,
                "scanner": "scanner",
                "printer": "printer",
            }
        ]
    }
    with_wall = type(config).model_validate(data)
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(with_wall, sim), tmp_path)
        async with running(line):
            await line.route_plan.replace(ROUTE_PLAN, "tms", "tms", "test")
            await asyncio.to_thread(line.manifest.upsert, MANIFEST)
            await line.putwall.refresh()
            await until(lambda: line.putwall.buses["lights"].link.up, 5)
            yield line, scan_port


def lit(bank: LightBank) -> int | None:
    """The one module lit steady green (put here), or None."""
    found = [m.node for m in bank.lit() if m.colour == Colour.GREEN.value and not m.flash]
    return found[0] if len(found) == 1 else None


def journal_rows(line: LineController, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the line's journal."""
    with sqlite3.connect(line.journal.path) as conn:
        return conn.execute(sql).fetchall()
