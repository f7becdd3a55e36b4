"""The put wall and the loading at work: a line with a wall under Banner lights, a ZPL printer
and a pushing hand scanner, all over their real wires on loopback.

The route plan has truck T1 (door D1, route A: stops 1 and 2) and truck T2 (route B);
the wall serves T1. The test plays the operator: it pushes codes on the scanner's TCP link
and presses the simulator's light modules, and reads what the line journaled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from tests.controller.line.helpers import until
from tests.controller.putwall.rig import Wall, journal_rows, lit, wall_rig


@pytest.fixture
async def wall(tmp_path) -> AsyncIterator[Wall]:
    async with wall_rig(tmp_path) as rig:
        yield rig


async def test_a_stop_from_scans_to_a_loaded_truck(wall: Wall) -> None:
    line, bank = wall.line, wall.bank
    units = line.putwall.units["W1"]

    await wall.scan("P1")
    node = await until(lambda: lit(bank), 5)
    bank.press(node)
    await until(lambda: "P1" in units.wall.put, 5)

    await wall.scan("Q1")  # truck T2: not this wall's
    await wall.scan("NOPE")
    await until(lambda: units.wall.counts.get("exception") == 2, 5)

    await wall.scan("P2")
    assert await until(lambda: lit(bank), 5) == node  # the stop's cubby again
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

    await wall.scan("P3")  # lights go out in decision order: the close-out's never hides it
    node3 = await until(lambda: lit(bank), 5)
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
    handling = dict(journal_rows(line, "SELECT parcel_id, state FROM handling"))
    assert handling == {
        "P1": "loaded",
        "P2": "loaded",
        "P3": "short",
        "Q1": "exception",
        "NOPE": "exception",
    }
    events = [t for (t,) in journal_rows(line, "SELECT type FROM outbox ORDER BY id")]
    assert events.count("parcel.put") == 2
    for kind in ("parcel.short", "stop.complete", "container.closed", "truck.loaded"):
        assert kind in events, kind
    (body,) = journal_rows(line, "SELECT payload FROM outbox WHERE type = 'truck.loaded'")[0]
    assert json.loads(body)["truck"] == "T1"
