"""The wall operator against a LightBank and a stand-in controller (the pushes it gets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from plc_configs.contract import SortResult
from plc_configs.putwall import PutWallSimulation
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.ptl.bank import LightBank, Press
from simulators.putwall.labels import label_value, parse_stops
from simulators.putwall.loader import Container
from simulators.putwall.operator import OperatorTiming, WallOperator
from simulators.twin import Event, EventKind, Parcel

FAST = OperatorTiming(
    light_timeout_s=0.15,
    walk_off_s=0.05,
    flash_timeout_s=0.3,
    clear_timeout_s=0.2,
    label_wait_s=1.0,
    weigh_hold_s=0.01,
    recheck_delay_s=0.01,
    handoff_delay_s=0.01,
    poll_s=0.01,
)
TARE = 0.8


def spec(n: int, kg: float = 1.0, route: str = "R1", stop: int = 1) -> ParcelSpec:
    return ParcelSpec(n, f"P{n:04d}", route, 300, 200, 100, kg, True, ReaderOutcome.OK, None, stop)


def landed(s: ParcelSpec, result: SortResult = SortResult.DIVERTED) -> Event:
    return Event(EventKind.LANDED, Parcel(s, 0.0, result=result, landed_chute=1), 0.0)


@dataclass
class TextField:
    x: int
    y: int
    kind: str
    data: str


@dataclass
class StandInLabel:
    fields: list[TextField]


def container_label(cid: str, cubby: str, truck: str = "T01", stops: str = "1") -> StandInLabel:
    """As controller.printing.zpl lays it out: captions with their values right below."""
    return StandInLabel(
        [
            TextField(32, 32, "text", "TRUCK"),
            TextField(32, 60, "text", truck),
            TextField(400, 175, "text", "STOPS"),
            TextField(400, 203, "text", stops),
            TextField(288, 431, "text", "CUBBY"),
            TextField(288, 459, "text", cubby),
            TextField(32, 431, "text", "WALL"),
            TextField(32, 459, "text", "W1"),
            TextField(80, 640, "code128", cid),
        ]
    )


@dataclass
class Scale:
    load: float | None = None
    history: list[float | None] = field(default_factory=list)

    def set_load(self, kg: float) -> None:
        self.load = kg
        self.history.append(kg)

    def clear(self) -> None:
        self.load = None
        self.history.append(None)


class Controller:
    """Stands in for the controller's wall: a scan lights the parcel's node green (count
    shown), a confirm there clears it, a wrong confirm flashes the right one and shows
    red on the pressed one. Everything it got is in :attr:`log`."""

    def __init__(self, bank: LightBank, scale: Scale, node_of: dict[str, int]):
        self.bank, self.scale, self.node_of = bank, scale, node_of
        self.pending: tuple[str, int] | None = None
        self.log: list[tuple[object, ...]] = []
        self.put: dict[int, int] = {}

    def push(self, code: str) -> None:
        self.log.append(("scan", code, self.scale.load))
        node = self.node_of.get(code)
        if node is not None:
            self.pending = (code, node)
            shown = self.put.get(node, 0) + 1
            asyncio.get_running_loop().call_soon(self.bank.show, node, shown, "green")

    def on_press(self, press: Press) -> None:
        flash = self.bank.modules[self.pending[1]].flash if self.pending else False
        self.log.append(("press", press.node, press.kind, flash))
        if self.pending is None:
            return
        _, node = self.pending
        if press.node != node:
            self.bank.show(press.node, 0, "red")
            self.bank.show(node, self.put.get(node, 0) + 1, "green", flash=True)
            return
        self.pending = None
        if press.kind == "confirm":
            self.put[node] = self.put.get(node, 0) + 1
        self.bank.clear(node)

    async def run(self) -> None:
        while True:
            self.on_press(await self.bank.next_press())


@dataclass
class Rig:
    bank: LightBank
    controller: Controller
    operator: WallOperator
    scale: Scale
    labels: list[StandInLabel]
    handed: list[Container]


@pytest.fixture
async def rig() -> AsyncIterator[Callable[..., Rig]]:
    started: list[tuple[WallOperator, asyncio.Task[None]]] = []

    def make(node_of: dict[str, int] | None = None, **rates: float) -> Rig:
        bank = LightBank(range(1, 7))
        scale = Scale()
        controller = Controller(bank, scale, node_of or {})
        labels: list[StandInLabel] = []
        handed: list[Container] = []
        settings = PutWallSimulation(scan_delay_s=(0, 0), press_delay_s=(0, 0.005), **rates)
        operator = WallOperator(
            "W1",
            bank,
            [1, 2, 3, 4, 5, 6],
            push=controller.push,
            serves=lambda s: s.route == "R1",
            labels=lambda: labels,
            scale=scale,
            handoff=handed.append,
            settings=settings,
            tare_kg=TARE,
            timing=FAST,
        )
        task = asyncio.get_running_loop().create_task(controller.run())
        started.append((operator, task))
        return Rig(bank, controller, operator, scale, labels, handed)

    yield make
    for operator, task in started:
        await operator.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], bool], timeout_s: float = 2.0) -> None:
    for _ in range(int(timeout_s / 0.005)):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


async def test_a_landed_parcel_of_the_wall_is_scanned_and_its_green_module_pressed(rig) -> None:
    r = rig({"P0001": 3}, no_press_rate=0, shortage_rate=0, wrong_press_rate=0)
    await r.operator.start()
    r.operator.on_twin_event(landed(spec(1)))
    r.operator.on_twin_event(landed(spec(2, route="R9")))  # another wall's
    r.operator.on_twin_event(landed(spec(3), SortResult.CHUTE_FULL))  # went to reject
    await until(lambda: r.operator.counts["puts"] == 1)
    assert r.controller.log == [("scan", "P0001", None), ("press", 3, "confirm", False)]
    assert [p.barcode for p in r.operator.contents[3]] == ["P0001"]
    assert r.operator.counts["taken"] == 1


async def test_one_parcel_at_a_time_and_no_light_means_the_exception_cage(rig) -> None:
    r = rig({"P0002": 2}, no_press_rate=0, shortage_rate=0, wrong_press_rate=0)
    await r.operator.start()
    r.operator.take(spec(1))  # the controller does not know it: no light
    r.operator.take(spec(2))
    await until(lambda: r.operator.counts["puts"] == 1)
    assert [e[:2] for e in r.controller.log] == [("scan", "P0001"), ("scan", "P0002"), ("press", 2)]
    assert [s.barcode for s in r.operator.exceptions] == ["P0001"]


async def test_wrong_press_then_the_right_one_once_it_flashes(rig) -> None:
    r = rig({"P0001": 4}, no_press_rate=0, shortage_rate=0, wrong_press_rate=1)
    await r.operator.start()
    r.operator.take(spec(1))
    await until(lambda: r.operator.counts["puts"] == 1)
    _, wrong, right = r.controller.log
    assert wrong[0] == "press" and wrong[1] != 4 and wrong[2] == "confirm"
    assert right == ("press", 4, "confirm", True)  # pressed while the right one flashed
    assert r.bank.modules[wrong[1]].colour == "red"
    assert r.operator.counts["wrong_presses"] == 1
    assert 4 in r.operator.contents


async def test_shortage_puts_the_parcel_on_the_damaged_list(rig) -> None:
    r = rig({"P0001": 1}, no_press_rate=0, shortage_rate=1, wrong_press_rate=0)
    await r.operator.start()
    r.operator.take(spec(1))
    await until(lambda: r.operator.counts["shortages"] == 1)
    assert r.controller.log[-1] == ("press", 1, "shortage", False)
    assert [s.barcode for s in r.operator.damaged] == ["P0001"]
    assert r.operator.contents == {}


async def test_no_press_then_the_same_parcel_is_scanned_again(rig) -> None:
    r = rig({"P0001": 5}, no_press_rate=1, shortage_rate=0, wrong_press_rate=0)
    await r.operator.start()
    r.operator.take(spec(1))
    await until(lambda: r.operator.counts["puts"] == 1)
    assert [e[:2] for e in r.controller.log] == [("scan", "P0001"), ("scan", "P0001"), ("press", 5)]
    assert r.operator.counts["no_presses"] == 1


async def put_two(r: Rig) -> None:
    await r.operator.start()
    r.operator.take(spec(1, kg=2.5, stop=3))
    r.operator.take(spec(2, kg=1.25, stop=3))
    await until(lambda: r.operator.counts["puts"] == 2)
    r.labels.append(container_label("C-0000", "W1-02", stops="3"))  # an older one
    r.labels.append(container_label("C-0001", "W1-01", stops="2"))  # another cubby's
    r.labels.append(container_label("C-0002", "W1-02", stops="3"))
    r.bank.show(2, 2, "orange", flash=True)  # the controller closed cubby W1-02


async def test_orange_module_container_is_weighed_scanned_and_handed_to_the_dock(rig) -> None:
    r = rig({"P0001": 2, "P0002": 2}, no_press_rate=0, shortage_rate=0, wrong_press_rate=0)
    r.operator.settings = r.operator.settings.model_copy(update={"weight_mismatch_rate": 0})
    await put_two(r)
    await until(lambda: len(r.handed) == 1)
    assert r.controller.log[-1] == ("scan", "C-0002", pytest.approx(TARE + 3.75))
    assert r.scale.load is None  # taken off after weighing
    (container,) = r.handed
    assert (container.id, container.truck, container.stops, container.cubby) == (
        "C-0002",
        "T01",
        (3,),
        "W1-02",
    )
    assert container.parcels == ("P0001", "P0002")
    assert r.operator.contents == {}


async def test_a_parcel_falls_out_then_the_recheck_weighs_the_whole_container(rig) -> None:
    r = rig({"P0001": 2, "P0002": 2}, no_press_rate=0, shortage_rate=0, wrong_press_rate=0)
    r.operator.settings = r.operator.settings.model_copy(update={"weight_mismatch_rate": 1})
    await put_two(r)
    await until(lambda: len(r.handed) == 1)
    weighed = [e[2] for e in r.controller.log if e[:2] == ("scan", "C-0002")]
    assert len(weighed) == 2
    assert weighed[0] in (pytest.approx(TARE + 1.25), pytest.approx(TARE + 2.5))
    assert weighed[1] == pytest.approx(TARE + 3.75)
    assert (r.operator.counts["mismatches"], r.operator.counts["rechecks"]) == (1, 1)


def test_label_values_and_stop_ranges() -> None:
    label = container_label("C-9", "W1-07", stops="1-3, 5")
    assert label_value(label, "CUBBY") == "W1-07"
    assert label_value(StandInLabel([TextField(0, 0, "text", "CUBBY W2-01")]), "CUBBY") == "W2-01"
    assert label_value(label, "DOOR") is None
    assert parse_stops(label_value(label, "STOPS")) == (1, 2, 3, 5)
