"""The put-wall simulation built from a line config: who serves what, scans on the wire,
containers routed to their door's loader, faults at their times."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from plc_configs.loader import load_line_config
from plc_configs.schema import LineConfig
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.putwall.loader import Container
from simulators.putwall.operator import OperatorTiming
from simulators.putwall.wiring import PutWallSimulation
from simulators.route_plan import generate_route_plan

CONFIGS = Path(__file__).parents[3] / "plc_configs"


class StandInPrinter:
    """What the simulation uses of ``ZplPrinterSimulator``."""

    def __init__(self) -> None:
        self.printed: list[Any] = []
        self.paper_out = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def config() -> LineConfig:
    base = load_line_config(CONFIGS / "demo-line-routeplan.yaml")
    data = base.model_dump(mode="json")
    data["devices"].update(
        {
            "wall-lights": {
                "kind": "pick_to_light",
                "driver": "atop",
                "url": "tcp://127.0.0.1:1",
                "nodes": "1-6",
            },
            "wall-scanner": {
                "kind": "barcode_reader",
                "at": "putwall",
                "push": True,
                "url": "tcp://127.0.0.1:1",
            },
            "wall-printer": {"kind": "label_printer", "url": "tcp://127.0.0.1:1"},
            "wall-scale": {
                "kind": "scale",
                "at": "putwall",
                "driver": "mt-sics",
                "url": "tcp://127.0.0.1:1",
            },
            "dock-scanner": {
                "kind": "barcode_reader",
                "at": "dock",
                "push": True,
                "url": "tcp://127.0.0.1:1",
            },
        }
    )
    data["putwall"] = {
        "walls": [
            {
                "id": "W1",
                "trucks": ["T01"],
                "lights": "wall-lights",
                "scanner": "wall-scanner",
                "printer": "wall-printer",
                "scale": "wall-scale",
            }
        ]
    }
    data["loading"] = {"stations": [{"door": "D01", "scanner": "dock-scanner"}]}
    data["simulation"]["putwall"] = {
        "scan_delay_s": [0, 0],
        "module_drop": [["wall-lights", 2, 0.0, 0.05]],
        "printer_paper_out": [["wall-printer", 0.0, 0.05]],
    }
    return LineConfig.model_validate(data)


async def test_walls_and_doors_from_the_config() -> None:
    cfg = config()
    assert cfg.simulation.route_plan is not None
    plan = generate_route_plan(cfg.simulation.route_plan, cfg.simulation.seed)
    sim = PutWallSimulation(
        cfg,
        plan=plan,
        any_port=True,
        timing=OperatorTiming(light_timeout_s=0.05),
        light_factory=lambda *_: None,
        printer_factory=lambda *_: StandInPrinter(),
    )
    t01 = [r.id for r in plan.routes if r.truck == "T01"]
    other = next(r.id for r in plan.routes if r.truck != "T01")
    operator = sim.operators["W1"]
    assert operator.nodes == [1, 2, 3, 4, 5, 6]
    assert [operator.serves(parcel(route=r)) for r in (*t01, other)] == [True] * len(t01) + [False]
    assert set(sim.scanners) == {"wall-scanner", "dock-scanner"}
    assert set(sim.scales) == {"wall-scale"}

    received: list[bytes] = []
    got = asyncio.Event()

    async def controller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readline())
        got.set()
        writer.close()

    port = int(sim.urls()["wall-scanner"].rsplit(":", 1)[1])
    listener = await asyncio.start_server(controller, "127.0.0.1", port)
    await sim.start()
    try:
        await asyncio.wait_for(sim.scanners["wall-scanner"].connected.wait(), 2)
        assert not sim.banks["wall-lights"].modules[2].online  # dropped at 0 s
        assert sim.printers["wall-printer"].paper_out
        sim.take(parcel(route=t01[0]))
        await asyncio.wait_for(got.wait(), 2)
        assert received == [b"]C0P0001\r\n"]
        sim.to_dock(Container("C-1", "T01", (2,)))  # T01 docks at D01 in the plan
        sim.to_dock(Container("C-2", "T02", (1,)))  # D02 has no station
        assert sim.loaders["D01"].received == 1
        assert [c.id for c in sim.undocked] == ["C-2"]
        await asyncio.sleep(0.08)
        assert sim.banks["wall-lights"].modules[2].online  # back after 0.05 s
        assert not sim.printers["wall-printer"].paper_out
        counts = sim.counts()
        assert counts["scans"] == 1 and counts["undocked"] == 1
        assert {"puts", "wrong_presses", "shortages", "mismatches", "labels_printed"} <= set(counts)
        assert {"containers_loaded", "out_of_sequence"} <= set(counts)
    finally:
        await sim.stop()
        listener.close()
        await listener.wait_closed()


def parcel(route: str) -> ParcelSpec:
    return ParcelSpec(1, "P0001", route, 300, 200, 100, 1.0, True, ReaderOutcome.OK, None, 1)
