"""The put wall and the loading at work: a line with a wall under Banner lights, a ZPL printer
and a pushing hand scanner, all over their real wires on loopback.

The route plan has truck T1 (door D1, route A: stops 1 and 2) and truck T2 (route B);
the wall serves T1. The test plays the operator: it pushes codes on the scanner's TCP link
and presses the simulator's light modules, and reads what the line journaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

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
    line: LineController
    bank: LightBank
    printer: ZplPrinterSimulator
    scanner: asyncio.StreamWriter

    async def scan(self, code: str) -> None:
        self.scanner.write(code.encode() + b"\r\n")
        await self.scanner.drain()


@pytest.fixture
async def wall(tmp_path) -> AsyncIterator[Wall]:
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


def _lit(bank: LightBank) -> int | None:
    lit = [m.node for m in bank.lit() if m.colour == Colour.GREEN.value and not m.flash]
    return lit[0] if len(lit) == 1 else None


def _rows(line: LineController, sql: str) -> list[tuple]:
    with sqlite3.connect(line.journal.path) as conn:
        return conn.execute(sql).fetchall()


async def test_a_stop_from_scans_to_a_loaded_truck(wall: Wall) -> None:
    line, bank = wall.line, wall.bank
    units = line.putwall.units["W1"]

    await wall.scan("P1")
    node = await until(lambda: _lit(bank), 5)
    bank.press(node)
    await until(lambda: "P1" in units.wall.put, 5)

    await wall.scan("Q1")  # truck T2: not this wall's
    await wall.scan("NOPE")
    await until(lambda: units.wall.counts.get("exception") == 2, 5)

    await wall.scan("P2")
    assert await until(lambda: _lit(bank), 5) == node  # the stop's cubby again
    other = next(n for n in bank.modules if n != node)
    bank.press(other)  # wrong cubby: nothing recorded, alarm, the right one flashes
    await until(lambda: units.wall.counts.get("wrong_put") == 1, 5)
    assert line.alarms.is_active("wrong-put:W1")
    assert "P2" not in units.wall.put
    await until(lambda: bank.modules[node].flash, 5)
    await asyncio.sleep(0.4)  # the wrong press's hold time ends before the next press
    bank.press(node)
    await until(lambda: units.wall.counts.get("stop_complete") == 1, 5)

    # stop 1 complete: its container closed, labelled and (no scale) off to loading
    containers = line.putwall.closeout.containers
    container = await until(lambda: next(iter(containers.values()), None), 5)
    await until(lambda: container.state == "ok", 5)
    assert container.parcels == ["P1", "P2"] and container.state == "ok"
    label = await until(lambda: wall.printer.printed, 5)
    assert container.id in [f.data for f in label[0].fields if f.kind == "code128"]

    await wall.scan("P3")
    node3 = await until(lambda: _lit(bank), 5)
    bank.press(node3, "shortage")
    await until(lambda: units.wall.counts.get("short") == 1, 5)

    refused = await line.loading.scan("D1", "Q1")
    assert refused.kind == "wrong_truck" and "T2" in refused.reason
    assert line.alarms.is_active("wrong-truck:D1")
    verdict = await line.loading.scan("D1", container.id)
    assert verdict.kind == "ok"
    await until(lambda: line.loading.trucks["T1"].done, 10)
    summary = line.loading.trucks["T1"].summary
    assert summary["outcomes"] == {"loaded": 2, "short": 1}

    await line.journal.barrier()
    handling = dict(_rows(line, "SELECT parcel_id, state FROM handling"))
    assert handling == {
        "P1": "loaded",
        "P2": "loaded",
        "P3": "short",
        "Q1": "exception",
        "NOPE": "exception",
    }
    events = [t for (t,) in _rows(line, "SELECT type FROM outbox ORDER BY id")]
    assert events.count("parcel.put") == 2
    for kind in ("parcel.short", "stop.complete", "container.closed", "truck.loaded"):
        assert kind in events, kind
    (body,) = _rows(line, "SELECT payload FROM outbox WHERE type = 'truck.loaded'")[0]
    assert json.loads(body)["truck"] == "T1"
