"""Banner PICK-IQ driver against the simulator: Modbus RTU framing over real TCP sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.errors import ConnectionLost
from drivers.ptl.banner import BannerPickToLight, serial_url
from drivers.ptl.base import Colour, EventKind, LightEvent
from plc_configs.banner import BannerRegisterMap
from simulators.ptl.bank import LightBank
from simulators.ptl.banner import BannerLightsSimulator
from tests.conftest import free_port
from tests.simulators.sim_helpers import wait_for

NODES = [1, 2, 3]
FAST = {"timeout_s": 0.08, "poll_interval_s": 0.01, "offline_retry_s": 0.1}


@pytest.fixture
async def rig() -> AsyncIterator[tuple[LightBank, BannerLightsSimulator, BannerPickToLight]]:
    bank = LightBank(NODES)
    sim = BannerLightsSimulator(bank, hold_s=0.15)
    await sim.start()
    ptl = BannerPickToLight("wall", sim.url, NODES, **FAST)
    try:
        await ptl.connect()
        yield bank, sim, ptl
    finally:
        await ptl.close()
        await sim.stop()


async def next_kind(ptl: BannerPickToLight, kind: EventKind, within: float = 2.0) -> LightEvent:
    """The next event of ``kind`` (others before it are skipped)."""
    async with asyncio.timeout(within):
        while True:
            event = await ptl.next_event()
            if event.kind is kind:
                return event


async def test_show_and_clear_reach_the_bank_with_colour_flash_and_value(rig):
    bank, _, ptl = rig
    await ptl.show(2, 1234, Colour.GREEN)
    module = bank.modules[2]
    assert (module.value, module.colour, module.flash) == (1234, "green", False)
    await ptl.show(2, 70000, Colour.ORANGE, flash=True)
    assert (module.value, module.colour, module.flash) == (70000, "orange", True)
    await ptl.show(3, 5, Colour.RED)
    assert bank.modules[3].colour == "red"
    await ptl.clear(2)
    assert (module.value, module.colour) == (None, "off")
    assert not module.lit and bank.modules[3].lit
    assert ptl.offline_nodes() == frozenset()


async def test_a_press_is_one_confirm_with_the_value_shown(rig):
    bank, _, ptl = rig
    await ptl.show(1, 42, Colour.GREEN)
    assert bank.press(1)
    event = await next_kind(ptl, EventKind.CONFIRM)
    assert (event.node, event.value) == (1, 42)
    # the output stays on for the hold time, read by many polls: still one event
    await asyncio.sleep(0.25)
    assert ptl._events.empty()
    assert bank.press(1, "shortage")
    shortage = await next_kind(ptl, EventKind.SHORTAGE)
    assert (shortage.node, shortage.value) == (1, 42)


async def test_a_silent_light_goes_offline_the_others_still_work_and_it_comes_back(rig):
    bank, _, ptl = rig
    bank.set_online(2, False)
    event = await next_kind(ptl, EventKind.OFFLINE)
    assert (event.node, event.detail) == (2, "timeout")
    assert ptl.offline_nodes() == frozenset({2})
    await ptl.show(2, 9, Colour.RED)  # dropped, no exception
    assert bank.modules[2].colour == "off"
    await ptl.show(3, 8, Colour.GREEN)
    assert bank.modules[3].colour == "green"
    bank.press(3)
    assert (await next_kind(ptl, EventKind.CONFIRM)).node == 3
    bank.set_online(2, True)
    back = await next_kind(ptl, EventKind.ONLINE)
    assert back.node == 2 and ptl.offline_nodes() == frozenset()
    # the light gets what the host last asked for while it was away
    await wait_for(lambda: bank.modules[2].colour == "red", within=1.0)
    assert bank.modules[2].value == 9


async def test_garbled_replies_are_retried_counted_and_survived(rig):
    bank, sim, ptl = rig
    sim.corrupt_next(1)
    await ptl.show(1, 7, Colour.GREEN)  # the value write's reply is garbled, then retried
    assert ptl.crc_errors >= 1 and sim.corrupted == 1
    assert bank.modules[1].colour == "green" and ptl.offline_nodes() == frozenset()
    sim.corrupt_next(2)  # twice in a row: no answer for that request
    await wait_for(lambda: sim.corrupted == 3, within=1.0)
    await wait_for(lambda: ptl.crc_errors >= 3, within=1.0)
    bank.press(1)
    confirm = await next_kind(ptl, EventKind.CONFIRM)
    assert confirm.node == 1 and confirm.value == 7


async def test_random_crc_errors_do_not_lose_presses():
    bank = LightBank(NODES)
    sim = BannerLightsSimulator(bank, hold_s=0.3, crc_error_rate=0.1, seed=3)
    await sim.start()
    ptl = BannerPickToLight("wall", sim.url, NODES, **FAST)
    try:
        await ptl.connect()
        for node in NODES:
            await ptl.show(node, node * 10, Colour.GREEN)
        for node in NODES:
            bank.press(node)
            event = await next_kind(ptl, EventKind.CONFIRM)
            assert (event.node, event.value) == (node, node * 10)
        assert sim.corrupted > 0 and ptl.crc_errors > 0
    finally:
        await ptl.close()
        await sim.stop()


async def test_gateway_gone_is_connection_lost_from_calls_and_next_event():
    bank = LightBank(NODES)
    sim = BannerLightsSimulator(bank)
    await sim.start()
    ptl = BannerPickToLight("wall", sim.url, NODES, **FAST)
    await ptl.connect()
    waiting = asyncio.create_task(ptl.next_event())
    await sim.stop()
    with pytest.raises(ConnectionLost) as err:
        async with asyncio.timeout(2):
            await waiting
    assert "wall" in str(err.value) and "socket://" in str(err.value)
    with pytest.raises(ConnectionLost):
        await ptl.show(1, 1, Colour.RED)
    with pytest.raises(ConnectionLost):
        await ptl.next_event()
    await ptl.close()


async def test_connect_to_nothing_is_connection_lost():
    ptl = BannerPickToLight("wall", f"socket://127.0.0.1:{free_port()}", [1], **FAST)
    with pytest.raises(ConnectionLost):
        await ptl.connect()
    await ptl.close()


async def test_close_wakes_next_event():
    bank = LightBank([5])
    sim = BannerLightsSimulator(bank)
    await sim.start()
    ptl = BannerPickToLight("wall", sim.url, [5], **FAST)
    try:
        await ptl.connect()
        waiting = asyncio.create_task(ptl.next_event())
        await asyncio.sleep(0)
        await ptl.close()
        with pytest.raises(ConnectionLost):
            await waiting
    finally:
        await sim.stop()


def test_urls_and_nodes_are_checked():
    assert serial_url("w", "tcp://10.0.0.9:4001") == ("socket://10.0.0.9:4001", {})
    port, settings = serial_url("w", "/dev/ttyUSB0?parity=E")
    assert port == "/dev/ttyUSB0" and settings["baudrate"] == 19200 and settings["parity"] == "E"
    assert serial_url("w", "/dev/ttyUSB0?baud=9600")[1]["baudrate"] == 9600
    with pytest.raises(ValueError, match=r"1\.\.247"):
        BannerPickToLight("w", "socket://h:1", [0, 248])
    with pytest.raises(ValueError, match="w:"):
        BannerPickToLight("w", "http://h:1", [1])


async def test_a_light_without_display_refuses_the_value_once_and_still_lights():
    bank = LightBank([4])
    sim = BannerLightsSimulator(bank, register_map=BannerRegisterMap(value_register=None))
    await sim.start()
    ptl = BannerPickToLight("wall", sim.url, [4], **FAST)
    try:
        await ptl.connect()
        await ptl.show(4, 12, Colour.RED)
        assert (bank.modules[4].value, bank.modules[4].colour) == (None, "red")
        assert ptl._no_display == {4}  # asked once, not again
        await ptl.show(4, 13, Colour.GREEN, flash=True)
        assert bank.modules[4].flash and ptl._events.empty()
    finally:
        await ptl.close()
        await sim.stop()


async def test_an_exception_reply_is_one_fault_event():
    bank = LightBank([6])
    sim = BannerLightsSimulator(bank)
    await sim.start()
    wrong = BannerRegisterMap(display_block=6290)  # not a register of the light
    ptl = BannerPickToLight("wall", sim.url, [6], register_map=wrong, **FAST)
    try:
        await ptl.connect()
        await ptl.show(6, 1, Colour.GREEN)
        await ptl.show(6, 2, Colour.GREEN)
        fault = await next_kind(ptl, EventKind.FAULT)
        assert (fault.node, fault.detail) == (6, "modbus exception 2")
        assert ptl._events.empty() and ptl.offline_nodes() == frozenset()
    finally:
        await ptl.close()
        await sim.stop()
