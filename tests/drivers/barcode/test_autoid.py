"""Contract: the OPC UA AutoID reader driver against the AutoID simulator over opc.tcp."""

from __future__ import annotations

import pytest

from drivers.barcode.autoid import AutoIdReader
from drivers.barcode.base import BarcodeRead
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from simulators.parcels import ReaderOutcome
from simulators.readers import AutoIdReaderSimulator
from tests.conftest import free_port
from tests.drivers.barcode.reader_rig import ScanField, parcel


@pytest.fixture
async def autoid():
    scan = ScanField()
    sim = AutoIdReaderSimulator("reader", scan, late_answer_ms=400)
    await sim.start()
    driver = AutoIdReader("reader", sim.url, timeout_s=0.3)
    await driver.connect()
    yield driver, sim, scan
    await driver.close()
    await sim.stop()


async def test_scan_outcomes_map_to_results(autoid):
    driver, sim, scan = autoid
    scan.parcel = parcel()
    result = await driver.trigger()
    assert result.symbols == (BarcodeRead("LS0000000042", "]C0"),) and "Status=0" in result.raw
    scan.parcel = parcel(ReaderOutcome.NO_READ)
    assert (await driver.trigger()).no_read  # NO_IDENTIFIER
    scan.parcel = parcel(ReaderOutcome.MULTI_LABEL)
    multi = await driver.trigger()  # MULTIPLE_IDENTIFIERS
    assert multi.multiple and [s.data for s in multi.symbols] == ["LS0000000042", "LS900000001"]
    scan.parcel = parcel(ReaderOutcome.DUPLICATE_READ)
    assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042"] * 2
    assert sim.triggers == 4


@pytest.mark.parametrize(("status", "name"), [(10, "READ_ERROR"), (11, "DECODING_ERROR")])
async def test_read_and_decoding_errors_are_device_faults(autoid, status, name):
    driver, sim, scan = autoid
    scan.parcel = parcel()
    sim.fault = status
    with pytest.raises(DeviceFault, match=f"status {status} \\({name}\\)"):
        await driver.trigger()


async def test_a_garbled_result_is_a_protocol_error_and_counted(autoid):
    driver, _, scan = autoid
    scan.parcel = parcel(ReaderOutcome.GARBLED)
    with pytest.raises(ProtocolError, match="bad Scan result"):
        await driver.trigger()
    assert driver.garbled_lines == 1


async def test_a_late_scan_times_out(autoid):
    driver, _, scan = autoid
    scan.parcel = parcel(ReaderOutcome.LATE_ANSWER)
    with pytest.raises(DeviceTimeout, match="no Scan answer"):
        await driver.trigger()


async def test_the_reader_is_found_by_browse_path_and_node_id(autoid):
    _, sim, scan = autoid
    scan.parcel = parcel()
    for node in ("Objects/Reader1", f"ns={sim.ns};s=Reader1"):
        driver = AutoIdReader("reader", sim.url, node=node, timeout_s=0.3)
        await driver.connect()
        try:
            assert (await driver.trigger()).symbols
        finally:
            await driver.close()


async def test_unreachable_reader_is_connection_lost_naming_the_url():
    url = f"opc.tcp://127.0.0.1:{free_port()}/reader"
    driver = AutoIdReader("reader", url, connect_timeout_s=1.0)
    with pytest.raises(ConnectionLost, match=f"cannot connect to {url}"):
        await driver.connect()
    with pytest.raises(ConnectionLost, match="not connected"):
        await driver.trigger()
