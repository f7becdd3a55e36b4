"""Contract: the Cognex-style TCP reader driver against the reader simulator over a real socket."""

from __future__ import annotations

import asyncio

import pytest

from drivers.barcode.base import BarcodeRead
from drivers.barcode.cognex_tcp import CognexTcpReader
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.reader_tcp import ReaderSimulator
from tests.conftest import free_port

DEVICE = BarcodeReaderDevice(kind="barcode_reader", url="tcp://127.0.0.1:1", no_read="NOREAD")


def _parcel(outcome: ReaderOutcome, barcode: str = "LS0000000042") -> ParcelSpec:
    return ParcelSpec(
        tracking_id=42,
        barcode=barcode,
        route="R01",
        length_mm=300,
        width_mm=200,
        height_mm=100,
        weight_kg=1.0,
        in_manifest=True,
        reader_outcome=outcome,
        second_label="LS900000001" if outcome is ReaderOutcome.MULTI_LABEL else None,
    )


@pytest.fixture
async def reader_pair():
    in_field: list[ParcelSpec | None] = [None]
    sim = ReaderSimulator("reader", DEVICE, lambda: in_field[0], port=0, late_answer_ms=150)
    await sim.start()
    driver = CognexTcpReader("reader", f"tcp://127.0.0.1:{sim.port}", timeout_s=0.08)
    await driver.connect()
    yield driver, sim, in_field
    await driver.close()
    await sim.stop()


async def test_a_good_read_returns_data_and_aim_symbology(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.OK)
    result = await driver.trigger()
    assert result.symbols == (BarcodeRead("LS0000000042", "]C0"),)
    assert result.raw.startswith("||:1[0]")


async def test_no_parcel_or_no_read_is_an_explicit_no_read(reader_pair):
    driver, _, in_field = reader_pair
    assert (await driver.trigger()).no_read
    in_field[0] = _parcel(ReaderOutcome.NO_READ)
    result = await driver.trigger()
    assert result.no_read and "NOREAD" in result.raw


async def test_multi_label_and_duplicate_reads_return_every_symbol(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.MULTI_LABEL)
    assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042", "LS900000001"]
    in_field[0] = _parcel(ReaderOutcome.DUPLICATE_READ)
    assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042"] * 2


async def test_several_triggers_in_flight_each_get_their_own_reply(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.OK)
    results = await asyncio.gather(*(driver.trigger() for _ in range(10)))
    assert all(r.symbols[0].data == "LS0000000042" for r in results)
    assert len({r.raw.split("[")[0] for r in results}) == 10


async def test_a_late_reply_times_out_and_is_never_bound_to_the_next_trigger(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER, barcode="LS0000000001")
    with pytest.raises(DeviceTimeout, match=r"reader \(tcp://127\.0\.0\.1:\d+\): no reply"):
        await driver.trigger()
    in_field[0] = _parcel(ReaderOutcome.OK, barcode="LS0000000002")
    await asyncio.sleep(0.2)  # the late reply to the first trigger arrives meanwhile
    result = await driver.trigger()
    assert result.symbols[0].data == "LS0000000002"
    assert driver.stale_replies == 1


async def test_a_garbled_line_is_skipped_and_counted(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.GARBLED)
    with pytest.raises(DeviceTimeout):
        await driver.trigger()
    assert driver.garbled_lines == 1 and driver.last_garbled
    in_field[0] = _parcel(ReaderOutcome.OK)
    assert (await driver.trigger()).symbols


async def test_a_dropped_connection_fails_triggers_and_reconnect_works(reader_pair):
    driver, sim, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.OK)
    sim.disconnect_clients()
    await asyncio.sleep(0.05)
    assert not driver.connected
    with pytest.raises(ConnectionLost):
        await driver.trigger()
    await driver.connect()
    assert (await driver.trigger()).symbols


async def test_an_error_status_is_a_device_fault():
    async def serve(reader, writer):
        line = await reader.readline()
        cmd_id = line.decode().split(":")[1].split(">")[0]
        writer.write(f"||:{cmd_id}[104]\r\n".encode())
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    driver = CognexTcpReader("reader", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    await driver.connect()
    with pytest.raises(DeviceFault, match="status 104"):
        await driver.trigger()
    await driver.close()
    server.close()
    await server.wait_closed()


async def test_unreachable_reader_names_its_address():
    port = free_port()
    driver = CognexTcpReader("reader", f"tcp://127.0.0.1:{port}")
    with pytest.raises(ConnectionLost, match=f"reader \\(tcp://127.0.0.1:{port}\\)"):
        await driver.connect()
