"""The label printer simulator: its ZPL checker, its stream splitter and its faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from simulators.printer import (
    PrintedLabel,
    RejectedLabel,
    StreamEvent,
    ZplPrinterSimulator,
    ZplStream,
    check_label,
)

W, H = 812, 1218  # 4 x 6 inch at 203 dpi
GOOD = (
    "^XA^CI28^PW812^LL1218\n"
    "^FO10,20^A0N,30,30^FDTRUCK^FS\n"
    "^FO10,60^A0N,60,50^FH_^FDA_5EB^FS\n"
    "^FO50,300^BY3^BCN,100,Y,N,N^FD>:C123^FS\n"
    "^PQ2\n^XZ"
)


def reasons(raw: str) -> list[str]:
    result = check_label(raw, W, H)
    assert isinstance(result, RejectedLabel), result
    return result.reasons


def test_good_label_is_accepted_with_its_fields():
    label = check_label(GOOD, W, H)
    assert isinstance(label, PrintedLabel)
    assert [(f.x, f.y, f.kind, f.data) for f in label.fields] == [
        (10, 20, "text", "TRUCK"),
        (10, 60, "text", "A^B"),
        (50, 300, "code128", "C123"),
    ]
    assert label.fields[2].start_code == "B"
    assert label.quantity == 2


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("^XA^FO1,1^A0N,20,20^FDx^FS", "does not end with ^XZ"),
        ("^XA^FO1,1^A0N,20,20^FDx^XZ", "^FD 'x' without ^FS"),
        ("^XA^FO1,1^FDx^FO2,2^FDy^FS^XZ", "^FD 'x' without ^FS (next came ^FO)"),
        ("^XA^A0N,20,20^FDx^FS^XZ", "^FD 'x' without a ^FO before it"),
        ("^XA^FO812,10^FDx^FS^XZ", "^FO812,10: field origin outside the label (812x1218 dots)"),
        ("^XA^FO10,1218^FDx^FS^XZ", "field origin outside the label"),
        ("^XA^FO10,10^BCN,100,Y,N,N^FD>:^FS^XZ", "^BC without data in its ^FD"),
        ("^XA^FO10,10^BCN,100,Y,N,N^FS^XZ", "^BC without a ^FD before ^FS"),
        ("^XA^FO10,10^BCN,100,Y,N,N^XZ", "^BC without a ^FD"),
        ("^XA^FO1,1^A0N,5,5^FDx^FS^XZ", "^A0N,5,5: expected ^A0o,h,w"),
        ("^XA^FO1,1^A0X,20^FDx^FS^XZ", "expected ^A0o,h,w"),
        ("^XA^FO1,1^FH_^FDbad_ZZ^FS^XZ", "not followed by two hex digits"),
        ("^XA^FO1,1^BY11^BCN,50^FDx^FS^XZ", "module width must be 1-10"),
        ("^XA^FT1,1^FDx^FS^XZ", "unknown command ^FT"),
        ("^FO1,1^FDx^FS^XZ", "does not start with ^XA"),
    ],
)
def test_bad_labels_are_rejected_with_the_reason(raw: str, reason: str):
    assert any(reason in r for r in reasons(raw)), reasons(raw)


def test_stream_split_across_chunks():
    """Byte by byte: a status query inside a label, and two labels, come out whole."""
    data = (GOOD[:40] + "~HS" + GOOD[40:] + "\r\n" + GOOD).encode()
    stream = ZplStream()
    events = [e for i in range(len(data)) for e in stream.feed(data[i : i + 1])]
    assert [e.kind for e in events] == ["control", "label", "label"]
    assert events[0].text == "HS" and events[1].text == GOOD and events[2].text == GOOD
    assert stream.close() == []


def test_stream_reports_what_is_not_a_label():
    stream = ZplStream()
    events = stream.feed(b"junk ^XA^FO1,1^XA^FO2,2^FDx^FS^XZ^XA^FO")
    assert events == [
        StreamEvent("garbage", "junk ", "data outside ^XA … ^XZ"),
        StreamEvent("garbage", "^XA^FO1,1", "no ^XZ before the next ^XA"),
        StreamEvent("label", "^XA^FO2,2^FDx^FS^XZ"),
    ]
    assert stream.close() == [StreamEvent("garbage", "^XA^FO", "connection closed before ^XZ")]


@pytest.fixture
async def sim() -> AsyncIterator[ZplPrinterSimulator]:
    printer = ZplPrinterSimulator("127.0.0.1", 0, dpi=203, width_mm=100, height_mm=150)
    await printer.start()
    yield printer
    await printer.stop()


async def _host_status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> list[bytes]:
    writer.write(b"~HS")
    return [await asyncio.wait_for(reader.readuntil(b"\x03\r\n"), 1.0) for _ in range(3)]


async def test_over_tcp_in_pieces_with_faults(sim: ZplPrinterSimulator):
    assert (sim.width_dots, sim.height_dots) == (799, 1199)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        for piece in (GOOD[:7], GOOD[7:33], GOOD[33:]):
            writer.write(piece.encode())
            await writer.drain()
            await asyncio.sleep(0.01)
        s1, s2, _ = await _host_status(reader, writer)
        assert s1.split(b",")[1:3] == [b"0", b"0"] and s2.split(b",")[2] == b"0"
        assert len(sim.printed) == 1 and sim.printed[0].barcodes() == ["C123"]

        sim.paused = True
        writer.write(GOOD.encode())
        s1, _, _ = await _host_status(reader, writer)
        assert s1.split(b",")[2] == b"1" and s1.split(b",")[4] == b"001"  # one format held
        assert len(sim.printed) == 1 and len(sim.held) == 1
        sim.paused = False
        assert len(sim.printed) == 2 and sim.held == []

        sim.paper_out = sim.head_up = True
        writer.write(GOOD.encode())
        s1, s2, _ = await _host_status(reader, writer)
        assert s1.split(b",")[1] == b"1" and s2.split(b",")[2] == b"1"
        assert len(sim.printed) == 2 and len(sim.lost_while_out) == 1

        writer.write(b"^XA^FO1,1^FDcut off")
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    for _ in range(100):
        if sim.rejected:
            break
        await asyncio.sleep(0.01)
    assert sim.rejected[0].reasons == ["connection closed before ^XZ"]


async def test_offline_drops_and_online_listens_again(sim: ZplPrinterSimulator):
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await sim.offline()
    assert await asyncio.wait_for(reader.read(), 1.0) == b""  # dropped
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", sim.port)
    await sim.online()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        assert len(await _host_status(reader, writer)) == 3
    finally:
        writer.close()
        await writer.wait_closed()
