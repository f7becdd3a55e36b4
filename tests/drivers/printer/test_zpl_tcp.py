"""The ZPL printer driver against the printer simulator over real TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.errors import ConnectionLost, DeviceTimeout, ProtocolError
from drivers.printer import PrinterStatus, ZplTcpPrinter
from drivers.printer.zpl_tcp import parse_host_status
from simulators.printer import ZplPrinterSimulator

LABEL = "^XA^FO20,30^A0N,40,40^FDTRUCK 7^FS^FO20,100^BY2^BCN,80,Y,N,N^FD>:C00042^FS^PQ2^XZ"


@pytest.fixture
async def sim() -> AsyncIterator[ZplPrinterSimulator]:
    printer = ZplPrinterSimulator("127.0.0.1", 0)
    await printer.start()
    yield printer
    await printer.stop()


@pytest.fixture
async def driver(sim: ZplPrinterSimulator) -> AsyncIterator[ZplTcpPrinter]:
    printer = ZplTcpPrinter("dock-printer", sim.url, timeout_s=0.5)
    yield printer
    await printer.close()


async def test_status_ready(driver: ZplTcpPrinter, sim: ZplPrinterSimulator):
    status = await driver.status()
    assert status == PrinterStatus(False, False, False, status.raw)
    assert status.ready and status.problems == ()
    assert len(status.raw) == 3 and status.raw[0].split(",")[1] == "0"
    assert sim.status_queries == 1


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("paper_out", "paper out"), ("paused", "paused"), ("head_up", "head up")],
)
async def test_status_flags(
    driver: ZplTcpPrinter, sim: ZplPrinterSimulator, flag: str, expected: str
):
    setattr(sim, flag, True)
    status = await driver.status()
    assert not status.ready
    assert status.problems == (expected,)
    assert getattr(status, flag) is True


async def test_field_positions_are_configurable(sim: ZplPrinterSimulator):
    sim.head_up = True  # string 2, field 3
    printer = ZplTcpPrinter("p", sim.url, timeout_s=0.5, paper_out_field=(2, 3))
    try:
        status = await printer.status()
    finally:
        await printer.close()
    assert status.paper_out and status.head_up and not status.paused


async def test_malformed_status_is_a_protocol_error_showing_the_bytes(
    driver: ZplTcpPrinter, sim: ZplPrinterSimulator
):
    sim.status_reply = b"\x02030,X,0\x03\r\n\x02001,0,0\x03\r\n\x021234,0\x03\r\n"
    with pytest.raises(ProtocolError, match=r"paper-out flag .* is 'X'.*030,X,0"):
        await driver.status()
    sim.status_reply = b"030,0,0\r\n\x02001,0,0\x03\r\n\x021234,0\x03\r\n"
    with pytest.raises(ProtocolError, match=r"not <STX>.*'030,0,0\\r\\n'"):
        await driver.status()


async def test_too_few_fields_is_a_protocol_error():
    lines = [b"\x02030,0\x03\r\n", b"\x02001,0,0\x03\r\n", b"\x021234,0\x03\r\n"]
    with pytest.raises(ProtocolError, match="string 1 has 2 fields, pause expected in field 3"):
        parse_host_status(lines)


async def test_no_answer_is_a_timeout(sim: ZplPrinterSimulator):
    sim.silent_when_faulted = True
    sim.paper_out = True
    printer = ZplTcpPrinter("dock-printer", sim.url, timeout_s=0.15)
    try:
        with pytest.raises(DeviceTimeout, match=r"dock-printer \(tcp://.*no answer to ~HS"):
            await printer.status()
    finally:
        await printer.close()


async def test_send_label_is_recorded_with_its_fields(
    driver: ZplTcpPrinter, sim: ZplPrinterSimulator
):
    await driver.send(LABEL)
    await driver.status()  # the printer reads in order: it has the label now
    assert sim.rejected == []
    [label] = sim.printed
    assert label.quantity == 2
    assert label.texts() == ["TRUCK 7"]
    assert label.barcodes() == ["C00042"]
    assert (label.fields[1].x, label.fields[1].y, label.fields[1].start_code) == (20, 100, "B")
    assert driver.labels_sent == 1


async def test_dead_link_then_reconnect(driver: ZplTcpPrinter, sim: ZplPrinterSimulator):
    await driver.status()
    await sim.offline()
    with pytest.raises(ConnectionLost, match=r"dock-printer \(tcp://127.0.0.1:\d+\)"):
        await driver.status()
    with pytest.raises(ConnectionLost):
        await driver.send(LABEL)
    await sim.online()
    assert (await driver.status()).ready
    await driver.send(LABEL)
    await driver.status()
    assert len(sim.printed) == 1
    assert sim.connections == 2
