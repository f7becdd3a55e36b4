"""The same contract for every pick-to-light backend, built from its config by the registry.

Each backend runs against its simulator over its real wire (Atop binary frames over TCP,
Banner PICK-IQ Modbus RTU over an RTU-over-TCP gateway), as python-can runs one contract
over every interface: light, clear, a press with the value shown, a module off the bus
and back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from drivers.ptl.base import Colour, EventKind, LightEvent, PickToLight
from drivers.registry import create_pick_to_light
from plc_configs.devices import PickToLightDevice
from simulators.ptl.atop import AtopControllerSimulator
from simulators.ptl.bank import LightBank
from simulators.ptl.banner import BannerLightsSimulator
from tests.simulators.sim_helpers import wait_for as until

NODES = [1, 2, 3]


@contextlib.asynccontextmanager
async def backend(driver: str) -> AsyncIterator[tuple[PickToLight, LightBank]]:
    bank = LightBank(NODES)
    sim = (
        AtopControllerSimulator(bank, "127.0.0.1", 0)
        if driver == "atop"
        else BannerLightsSimulator(bank, "127.0.0.1", 0, hold_s=0.2)
    )
    await sim.start()
    url = sim.url if driver == "atop" else sim.url.replace("tcp://", "socket://")
    device = PickToLightDevice(
        kind="pick_to_light", driver=driver, url=url, nodes="1-3", poll_interval_ms=20
    )
    lights = create_pick_to_light("contract", device)
    try:
        await lights.connect()
        yield lights, bank
    finally:
        await lights.close()
        await sim.stop()


async def next_of(lights: PickToLight, kind: EventKind, within: float = 3.0) -> LightEvent:
    async with asyncio.timeout(within):
        while True:
            event = await lights.next_event()
            if event.kind is kind:
                return event


@pytest.mark.parametrize("driver", ["atop", "banner-rtu"])
async def test_every_backend_keeps_the_contract(driver: str) -> None:
    async with backend(driver) as (lights, bank):
        await lights.show(2, 7, Colour.GREEN)
        module = bank.modules[2]
        await until(lambda: module.lit and module.colour == "green" and not module.flash)
        await lights.show(2, 7, Colour.GREEN, flash=True)
        await until(lambda: module.flash)

        assert bank.press(2)
        event = await next_of(lights, EventKind.CONFIRM)
        assert event.node == 2

        await lights.clear(2)
        await until(lambda: not module.lit)

        bank.set_online(3, False)
        await lights.show(3, 1, Colour.RED)  # to a module off the bus: no exception
        offline = await next_of(lights, EventKind.OFFLINE)
        assert offline.node == 3 and 3 in lights.offline_nodes()
        await lights.show(1, 5, Colour.ORANGE)  # the rest of the bus goes on
        await until(lambda: bank.modules[1].colour == "orange")
        bank.set_online(3, True)
        online = await next_of(lights, EventKind.ONLINE)
        assert online.node == 3 and 3 not in lights.offline_nodes()
