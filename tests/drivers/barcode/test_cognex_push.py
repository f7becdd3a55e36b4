"""Contract: Cognex push mode, the reader simulator connecting to the driver's listener."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from drivers.barcode.base import BarcodeRead
from drivers.barcode.cognex_push import CognexPushReader
from drivers.errors import ConnectionLost, DeviceTimeout
from simulators.parcels import ReaderOutcome
from simulators.readers import CognexPushSimulator
from tests.conftest import free_port
from tests.drivers.barcode.reader_rig import device, parcel


@contextlib.asynccontextmanager
async def push_pair(grace_s: float = 0.02, timeout_s: float = 0.2):
    port = free_port()
    driver = CognexPushReader("reader", f"tcp://127.0.0.1:{port}", timeout_s, grace_s=grace_s)
    await driver.connect()
    sim = CognexPushSimulator(
        "reader", device("cognex", push=True), host="127.0.0.1", port=port, late_answer_ms=100
    )
    await sim.start()
    try:
        await asyncio.wait_for(sim.connected.wait(), 2)
        yield driver, sim
    finally:
        await sim.stop()
        await driver.close()


async def _push_soon(sim: CognexPushSimulator, outcome=ReaderOutcome.OK, barcode="LS0000000042"):
    await asyncio.sleep(0.02)
    sim.push(parcel(outcome, barcode))


async def test_trigger_returns_the_next_pushed_result():
    async with push_pair() as (driver, sim):
        pusher = asyncio.create_task(_push_soon(sim))
        result = await driver.trigger()
        await pusher
        assert result.symbols == (BarcodeRead("LS0000000042", "]C0"),)
        assert driver.peers == 1 and sim.triggers == 1


async def test_a_result_pushed_before_the_trigger_is_stale_unless_within_grace():
    async with push_pair(grace_s=0.02) as (driver, sim):
        sim.push(parcel(barcode="LS0000000001"))
        await asyncio.sleep(0.08)
        pusher = asyncio.create_task(_push_soon(sim, barcode="LS0000000002"))
        assert (await driver.trigger()).symbols[0].data == "LS0000000002"
        await pusher
        assert driver.stale_replies == 1
        sim.push(parcel(barcode="LS0000000003"))  # the race with the PLC's scan event
        await asyncio.sleep(0.005)
        assert (await driver.trigger()).symbols[0].data == "LS0000000003"


async def test_no_read_multi_label_and_garbled_pushes():
    async with push_pair() as (driver, sim):
        for outcome in (ReaderOutcome.NO_READ, ReaderOutcome.MULTI_LABEL, ReaderOutcome.GARBLED):
            pusher = asyncio.create_task(_push_soon(sim, outcome))
            if outcome is ReaderOutcome.GARBLED:
                with pytest.raises(DeviceTimeout, match="no result pushed"):
                    await driver.trigger()
            else:
                result = await driver.trigger()
                assert result.no_read == (outcome is ReaderOutcome.NO_READ)
                assert len(result.symbols) == (2 if outcome is ReaderOutcome.MULTI_LABEL else 0)
            await pusher
        assert driver.garbled_lines == 1


async def test_the_reader_reconnects_after_a_drop_and_pushes_again():
    async with push_pair() as (driver, sim):
        assert sim.disconnect_clients() == 1
        await asyncio.sleep(0.01)
        await asyncio.wait_for(sim.connected.wait(), 2)
        assert sim.connections == 2
        pusher = asyncio.create_task(_push_soon(sim))
        assert (await driver.trigger()).symbols
        await pusher


async def test_no_reader_connected_times_out_saying_so_and_close_fails_waiters():
    port = free_port()
    driver = CognexPushReader("reader", f"tcp://127.0.0.1:{port}", timeout_s=0.05)
    await driver.connect()
    assert driver.connected and driver.port == port
    with pytest.raises(DeviceTimeout, match="no reader connected"):
        await driver.trigger()
    waiter = asyncio.create_task(driver.trigger())
    await asyncio.sleep(0.01)
    await driver.close()
    with pytest.raises(ConnectionLost):
        await waiter
    assert not driver.connected
