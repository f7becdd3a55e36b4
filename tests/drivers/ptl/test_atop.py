"""Contract: the Atop ABLEPick driver against the controller simulator over real TCP."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from drivers.errors import ConnectionLost
from drivers.ptl.atop import AtopPickToLight
from drivers.ptl.base import Colour, EventKind, LightEvent
from plc_configs import atop
from simulators.ptl.atop import AtopControllerSimulator
from simulators.ptl.bank import LightBank
from simulators.ptl.operator import PressingOperator
from tests.conftest import free_port

NODES = [1, 2, 3, 4]


@contextlib.asynccontextmanager
async def rig(nodes=NODES, **driver_options):
    bank = LightBank(nodes)
    sim = AtopControllerSimulator(bank, "127.0.0.1", 0)
    await sim.start()
    options = {"timeout_s": 0.3, "poll_interval_s": 0.02, **driver_options}
    driver = AtopPickToLight("wall-1", sim.url, list(nodes), **options)
    try:
        await driver.connect()
        yield driver, sim, bank
    finally:
        await driver.close()
        await sim.stop()


async def event(driver: AtopPickToLight, timeout_s: float = 1.0) -> LightEvent:
    async with asyncio.timeout(timeout_s):
        return await driver.next_event()


async def until(condition, timeout_s: float = 1.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


async def test_show_and_clear_reach_the_modules_with_colour_and_flash():
    async with rig() as (driver, sim, bank):
        await driver.show(1, 42, Colour.GREEN)
        await driver.show(2, 999999, Colour.ORANGE, flash=True)
        m1, m2 = bank.modules[1], bank.modules[2]
        await until(lambda: m1.value == 42 and m2.flash)
        assert (m1.colour, m1.flash) == ("green", False)
        assert (m2.value, m2.colour) == (999999, "orange")
        sent = [f.subcmd for f in sim.received if f.node == 2]
        assert sent == [atop.CONFIG, atop.FLASH_DISPLAY, atop.FLASH_LED]
        await driver.clear(1)
        await until(lambda: not m1.lit)
        assert m1.value is None and m1.colour == "off"
        assert driver.offline_nodes() == frozenset()


async def test_press_is_a_confirm_event_with_the_value_shown_and_a_repeat_is_dropped():
    async with rig() as (driver, _sim, bank):
        await driver.show(3, 7, Colour.GREEN)
        await until(lambda: bank.modules[3].value == 7)
        bank.press(3)
        bank.press(3)  # a bounce within the press interval
        got = await event(driver)
        assert (got.kind, got.node, got.value) == (EventKind.CONFIRM, 3, 7)
        await until(lambda: driver.duplicate_presses == 1)
        await driver.show(3, 8, Colour.GREEN)  # a new task: the next press counts
        await until(lambda: bank.modules[3].value == 8)
        bank.press(3, "shortage")
        bank.press(3)
        shortage, confirm = await event(driver), await event(driver)
        assert (shortage.kind, shortage.value) == (EventKind.SHORTAGE, 8)
        assert (confirm.kind, confirm.value) == (EventKind.CONFIRM, 8)


async def test_an_offline_module_is_an_event_the_others_work_and_it_comes_back():
    async with rig(poll_interval_s=5.0) as (driver, sim, bank):  # only the 0x0A tells
        bank.set_online(2, False)
        await driver.show(2, 5, Colour.GREEN)  # no exception: the module is dropped
        got = await event(driver)
        assert (got.kind, got.node, got.detail) == (EventKind.OFFLINE, 2, "timeout")
        assert driver.offline_nodes() == {2}
        await until(lambda: sim.answers[atop.DEVICE_TIMEOUT] == 2)  # colour and digits
        await driver.show(1, 6, Colour.GREEN)
        await until(lambda: bank.modules[1].value == 6)
        bank.set_online(2, True)
        bank.press(2)  # a frame from the module: it is back
        back, press = await event(driver), await event(driver)
        assert (back.kind, back.node) == (EventKind.ONLINE, 2)
        assert (press.kind, press.node) == (EventKind.CONFIRM, 2)
        assert driver.offline_nodes() == frozenset()


async def test_the_status_poll_finds_modules_that_drop_out_and_come_back():
    async with rig() as (driver, sim, bank):
        bank.set_online(4, False)
        got = await event(driver)
        assert (got.kind, got.node, got.detail) == (EventKind.OFFLINE, 4, "status")
        bank.set_online(4, True)
        got = await event(driver)
        assert (got.kind, got.node) == (EventKind.ONLINE, 4)
    bank = LightBank([1])  # a module off the bus at connect is known after connect()
    bank.set_online(1, False)
    sim = AtopControllerSimulator(bank)
    await sim.start()
    driver = AtopPickToLight("wall-2", sim.url, [1], poll_interval_s=5.0)
    try:
        await driver.connect()
        assert driver.offline_nodes() == {1}
        assert (await event(driver)).kind is EventKind.OFFLINE
    finally:
        await driver.close()
        await sim.stop()


async def test_fault_returns_are_fault_events():
    async with rig() as (driver, sim, bank):
        sim.malfunction(1)
        sim.lock_buttons(2)
        await driver.show(1, 1, Colour.RED)
        await driver.clear(2)
        sim.send_raw(atop.encode_frame(0x42, 3))  # an unknown command, as a real host might send
        await driver._send(atop.encode_frame(0x42, 3))  # the illegal command itself
        events = [await event(driver) for _ in range(4)]  # show = colour + digits: two 0x0B
        assert {e.kind for e in events} == {EventKind.FAULT}
        details = sorted((e.node, e.detail) for e in events)
        assert details == [
            (1, "malfunction"),
            (1, "malfunction"),
            (2, "buttons_locked"),
            (3, "illegal_command"),
        ]
        assert bank.modules[1].value is None  # not applied
        assert driver.unknown_frames == 1  # the raw 0x42 "return"


async def test_split_frames_and_garbage_between_frames_still_decode():
    async with rig() as (driver, sim, bank):
        await driver.show(1, 123456, Colour.GREEN)
        await until(lambda: bank.modules[1].value == 123456)
        sim.split_frames = True
        bank.press(1)
        assert (await event(driver)).value == 123456
        sim.split_frames = False
        sim.garbage_before_next(b"\xff\xfe\xaa\x13\x37")
        await driver.show(2, 9, Colour.GREEN)
        await until(lambda: bank.modules[2].value == 9)
        bank.press(2)
        assert (await event(driver)).value == 9
        assert driver.malformed_frames == 1


async def test_a_malformed_frame_is_counted_and_the_stream_goes_on():
    async with rig() as (driver, sim, _bank):
        sim.send_raw(bytes([9, 0, 0x60, 0, 0, 0, atop.CONFIRM, 1, 0x31]))  # confirm of 9 bytes
        sim.send_raw(atop.encode_frame(atop.MALFUNCTION, 2, msg_type=0x61))  # port 2's type
        sim.send_raw(atop.encode_frame(atop.CONFIRM, 1, atop.digits_data(4)))
        got = await event(driver)
        assert (got.kind, got.node, got.value) == (EventKind.CONFIRM, 1, 4)
        assert driver.malformed_frames == 2


async def test_server_closing_raises_connection_lost_for_waiters_and_commands():
    async with rig() as (driver, sim, _bank):
        waiter = asyncio.create_task(driver.next_event())
        await asyncio.sleep(0.01)
        assert sim.disconnect_clients() == 1
        with pytest.raises(ConnectionLost, match="closed the connection"):
            await asyncio.wait_for(waiter, 1.0)
        with pytest.raises(ConnectionLost):
            await driver.show(1, 1, Colour.GREEN)
        assert not driver.connected


async def test_close_fails_a_pending_next_event_and_connect_needs_a_listener():
    async with rig() as (driver, _sim, _bank):
        waiter = asyncio.create_task(driver.next_event())
        await asyncio.sleep(0.01)
        await driver.close()
        with pytest.raises(ConnectionLost, match="closed"):
            await waiter
    lonely = AtopPickToLight("wall-3", f"tcp://127.0.0.1:{free_port()}", [1])
    with pytest.raises(ConnectionLost, match="cannot connect"):
        await lonely.connect()
    with pytest.raises(ValueError, match="not on this bus"):
        await driver.show(9, 1, Colour.RED)


async def test_a_controller_that_stops_answering_the_status_poll_is_a_lost_link():
    async with rig(timeout_s=0.05, poll_interval_s=0.02) as (driver, sim, _bank):
        sim.answer_status = False
        with pytest.raises(ConnectionLost, match="no device status answer"):
            await event(driver)
        assert driver.missed_polls == 3


async def test_an_operator_wrong_press_and_the_controllers_correction_over_the_wire():
    async with rig() as (driver, _sim, bank):
        operator = PressingOperator(
            bank, random.Random(11), delay_s=(0.0, 0.01), wrong_press_rate=1.0
        )
        operator.start()
        try:
            await driver.show(2, 4, Colour.GREEN)
            wrong = await event(driver)
            assert wrong.kind is EventKind.CONFIRM and wrong.node in (1, 3, 4)
            await driver.show(2, 4, Colour.RED, flash=True)  # "not that one: this one"
            right = await event(driver)
            assert (right.kind, right.node, right.value) == (EventKind.CONFIRM, 2, 4)
        finally:
            await operator.stop()
