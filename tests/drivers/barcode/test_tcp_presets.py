"""Contract: every TCP reader preset's driver against its simulator over a real socket."""

from __future__ import annotations

import asyncio

import pytest

from drivers.barcode.base import BarcodeRead
from drivers.errors import ConnectionLost, DeviceTimeout
from simulators.parcels import ReaderOutcome
from tests.drivers.barcode.reader_rig import PRESETS, parcel, rig

pytestmark = pytest.mark.parametrize("preset", PRESETS)


async def test_a_good_read_returns_data_and_aim_symbology(preset):
    async with rig(preset) as (driver, sim, scan):
        scan.parcel = parcel()
        result = await driver.trigger()
        assert result.symbols == (BarcodeRead("LS0000000042", "]C0"),)
        assert not result.no_read and not result.multiple
        assert "LS0000000042" in result.raw and sim.triggers == 1


async def test_nothing_in_the_field_or_a_no_read_is_an_explicit_no_read(preset):
    async with rig(preset) as (driver, _, scan):
        assert (await driver.trigger()).no_read
        scan.parcel = parcel(ReaderOutcome.NO_READ)
        result = await driver.trigger()
        assert result.no_read and result.symbols == ()


async def test_a_configured_no_read_string_and_separator_are_used(preset):
    async with rig(preset, no_read="NR", separator="|") as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.NO_READ)
        assert (await driver.trigger()).no_read
        scan.parcel = parcel(ReaderOutcome.MULTI_LABEL)
        result = await driver.trigger()
        assert [s.data for s in result.symbols] == ["LS0000000042", "LS900000001"]
        assert "|" in result.raw


async def test_multi_label_and_duplicate_reads_return_every_symbol(preset):
    async with rig(preset) as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.MULTI_LABEL)
        assert [s.data for s in (await driver.trigger()).symbols] == [
            "LS0000000042",
            "LS900000001",
        ]
        scan.parcel = parcel(ReaderOutcome.DUPLICATE_READ)
        assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042"] * 2


async def test_a_late_reply_is_never_bound_to_the_next_trigger(preset):
    async with rig(preset) as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.LATE_ANSWER, barcode="LS0000000001")
        with pytest.raises(DeviceTimeout, match=r"reader \(tcp://127\.0\.0\.1:\d+\): no reply"):
            await driver.trigger()
        scan.parcel = parcel(ReaderOutcome.OK, barcode="LS0000000002")
        await asyncio.sleep(0.1)  # the late reply to the first trigger arrives meanwhile
        assert (await driver.trigger()).symbols[0].data == "LS0000000002"
        assert driver.stale_replies == 1


async def test_a_late_reply_arriving_during_the_next_trigger_is_discarded(preset):
    async with rig(preset, timeout_s=0.1, late_answer_ms=150) as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.LATE_ANSWER, barcode="LS0000000001")
        with pytest.raises(DeviceTimeout):
            await driver.trigger()
        scan.parcel = parcel(ReaderOutcome.OK, barcode="LS0000000002")
        result = await driver.trigger()  # the late reply comes 50 ms into this one
        assert [s.data for s in result.symbols] == ["LS0000000002"]
        await asyncio.sleep(0.1)
        assert driver.stale_replies == 1


async def test_a_garbled_frame_is_skipped_and_counted(preset):
    async with rig(preset) as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.GARBLED)
        with pytest.raises(DeviceTimeout):
            await driver.trigger()
        assert driver.garbled_lines == 1 and driver.last_garbled
        scan.parcel = parcel(ReaderOutcome.OK)
        assert (await driver.trigger()).symbols


async def test_a_dropped_connection_fails_triggers_and_reconnect_works(preset):
    async with rig(preset) as (driver, sim, scan):
        scan.parcel = parcel()
        assert sim.disconnect_clients() == 1
        await asyncio.sleep(0.05)
        assert not driver.connected
        with pytest.raises(ConnectionLost, match="not connected"):
            await driver.trigger()
        await driver.connect()
        assert (await driver.trigger()).symbols[0].data == "LS0000000042"


async def test_triggers_in_a_burst_each_get_the_parcel_then_in_the_field(preset):
    async with rig(preset, timeout_s=0.5) as (driver, _, scan):
        scan.parcel = parcel()
        results = await asyncio.gather(*(driver.trigger() for _ in range(5)))
        assert all(r.symbols[0].data == "LS0000000042" for r in results)
        assert driver.stale_replies == 0
