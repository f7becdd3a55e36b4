"""Contract: the Cognex DMCC driver against the reader simulator over a real socket, in both
DMCC response modes: silent (``COM.DMCC-RESPONSE`` 0, the DataMan's factory default) and
extended (1)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from drivers.barcode.base import BarcodeRead
from drivers.barcode.cognex_tcp import CognexTcpReader
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.readers.cognex import ReaderSimulator
from tests.conftest import free_port
from tests.simulators.sim_helpers import wait_for

MODES = ("silent", "extended")


def _device(response: str) -> BarcodeReaderDevice:
    return BarcodeReaderDevice(
        kind="barcode_reader", url="tcp://127.0.0.1:1", no_read="NOREAD", response=response
    )


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


@contextlib.asynccontextmanager
async def _pair(response: str, timeout_s: float = 0.08, late_answer_ms: float = 150, **kw):
    in_field: list[ParcelSpec | None] = [None]
    sim = ReaderSimulator(
        "reader", _device(response), lambda: in_field[0], port=0, late_answer_ms=late_answer_ms
    )
    await sim.start()
    driver = CognexTcpReader("reader", sim.url, timeout_s=timeout_s, response=response, **kw)
    await driver.connect()
    try:
        yield driver, sim, in_field
    finally:
        await driver.close()
        await sim.stop()


@pytest.fixture(params=MODES)
async def reader_pair(request):
    async with _pair(request.param) as pair:
        yield pair


# -- both response modes ---------------------------------------------------------------


async def test_a_good_read_returns_data_and_aim_symbology(reader_pair):
    driver, sim, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.OK)
    result = await driver.trigger()
    assert result.symbols == (BarcodeRead("LS0000000042", "]C0"),)
    if sim.response == "silent":
        assert result.raw == "]C0LS0000000042"  # the read string alone, no header
    else:
        assert result.raw == "||:1[0]]C0LS0000000042"


async def test_no_parcel_or_no_read_is_an_explicit_no_read(reader_pair):
    driver, _, in_field = reader_pair
    assert (await driver.trigger()).no_read
    in_field[0] = _parcel(ReaderOutcome.NO_READ)
    result = await driver.trigger()
    assert result.no_read and result.raw.endswith("NOREAD")


async def test_multi_label_and_duplicate_reads_return_every_symbol(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.MULTI_LABEL)
    assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042", "LS900000001"]
    in_field[0] = _parcel(ReaderOutcome.DUPLICATE_READ)
    assert [s.data for s in (await driver.trigger()).symbols] == ["LS0000000042"] * 2


async def test_a_late_reply_times_out_and_is_never_bound_to_the_next_trigger(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER, barcode="LS0000000001")
    with pytest.raises(DeviceTimeout, match=r"reader \(tcp://127\.0\.0\.1:\d+\): no reply"):
        await driver.trigger()
    in_field[0] = _parcel(ReaderOutcome.OK, barcode="LS0000000002")
    await wait_for(lambda: driver.stale_replies == 1)  # the late reply came, discarded
    result = await driver.trigger()
    assert result.symbols[0].data == "LS0000000002"
    assert driver.stale_replies == 1


async def test_a_late_reply_coming_while_the_next_parcel_is_triggered_is_discarded(reader_pair):
    driver, sim, in_field = reader_pair
    driver.timeout_s = 0.12
    in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER, barcode="LS0000000001")
    with pytest.raises(DeviceTimeout):
        await driver.trigger()  # the reply comes 150 ms after the trigger: 30 ms late
    in_field[0] = _parcel(ReaderOutcome.OK, barcode="LS0000000002")
    result = await driver.trigger()  # called at once: the late reply comes during it
    assert [s.data for s in result.symbols] == ["LS0000000002"]
    await wait_for(lambda: driver.stale_replies == 1)
    assert sim.triggers == 2


async def test_a_garbled_line_is_skipped_and_counted(reader_pair):
    driver, _, in_field = reader_pair
    in_field[0] = _parcel(ReaderOutcome.GARBLED)
    with pytest.raises(DeviceTimeout):
        await driver.trigger()
    assert driver.garbled_lines == 1 and driver.last_garbled
    in_field[0] = _parcel(ReaderOutcome.OK)
    assert (await driver.trigger()).symbols  # a garbled reply paid its own trigger


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


# -- silent: the factory default --------------------------------------------------------


async def test_silent_triggers_never_overlap_a_second_one_waits_its_turn():
    # Each read takes 30 ms; the simulated DataMan refuses, without a word, a trigger that
    # comes while it is still reading: every trigger answered shows none overlapped.
    async with _pair("silent", timeout_s=0.3, late_answer_ms=30) as (driver, sim, in_field):
        in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER)
        started = time.monotonic()
        results = await asyncio.gather(*(driver.trigger() for _ in range(4)))
        assert [r.symbols[0].data for r in results] == ["LS0000000042"] * 4
        assert time.monotonic() - started >= 0.11  # four reads of 30 ms, one after another
        assert sim.triggers == 4 and sim.refused_triggers == 0
        assert driver.stale_replies == 0


async def test_silent_a_second_trigger_gives_up_when_the_first_runs_past_its_timeout():
    async with _pair("silent", timeout_s=0.05, late_answer_ms=80) as (driver, sim, in_field):
        in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER)
        first, second = await asyncio.gather(
            driver.trigger(), driver.trigger(), return_exceptions=True
        )
        assert isinstance(first, DeviceTimeout)
        assert isinstance(second, DeviceTimeout) and "earlier one still running" in str(second)
        assert sim.triggers == 1  # the second never reached the reader


async def test_silent_a_timed_out_read_is_ended_with_trigger_off():
    async with _pair("silent") as (driver, sim, in_field):
        in_field[0] = _parcel(ReaderOutcome.LATE_ANSWER)
        with pytest.raises(DeviceTimeout):
            await driver.trigger()
        await wait_for(lambda: sim.trigger_offs == 1)


async def test_silent_no_trigger_is_sent_while_a_late_reply_is_owed(caplog):
    # The reader refuses the trigger without a word (silent mode has no error status): the
    # driver cannot know whether a reply is still coming, so it sends nothing until the
    # reply came or late_window_s passed, and whatever comes after a trigger is its own.
    async with _pair("silent", late_window_s=0.3) as (driver, sim, in_field):
        in_field[0] = _parcel(ReaderOutcome.OK)
        sim.fault = 104
        with pytest.raises(DeviceTimeout, match="no reply to the trigger"):
            await driver.trigger()
        sim.fault = None
        with pytest.raises(DeviceTimeout, match="not triggered: the reply to an earlier"):
            await driver.trigger()
        assert sim.triggers == 1
        await asyncio.sleep(0.25)  # the debt expires 300 ms after the first trigger gave up
        with caplog.at_level(logging.WARNING):
            assert (await driver.trigger()).symbols[0].data == "LS0000000042"
        assert sim.triggers == 2 and driver.stale_replies == 0
        assert "no longer owed" in caplog.text


async def test_silent_a_reader_set_to_extended_is_named_in_the_timeout():
    dev = _device("extended")
    sim = ReaderSimulator("reader", dev, lambda: None, port=0)
    await sim.start()
    driver = CognexTcpReader("reader", sim.url, timeout_s=0.08)  # silent, the default
    await driver.connect()
    try:
        with pytest.raises(DeviceTimeout, match=r"COM\.DMCC-RESPONSE 1 \(extended\)"):
            await driver.trigger()
        assert driver.last_garbled.rstrip() == "||[0]NOREAD"  # never read as a symbol
    finally:
        await driver.close()
        await sim.stop()


async def test_silent_sends_trigger_on_without_an_id_and_reads_the_line_alone():
    received: list[bytes] = []

    async def serve(reader, writer):
        received.append(await reader.readline())
        writer.write(b"]C1LS1@812:377#B,LS2\r\n")
        await writer.drain()
        received.append(await reader.readline())  # nothing: the connection closes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    driver = CognexTcpReader("reader", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    await driver.connect()
    try:
        result = await driver.trigger()
    finally:
        await driver.close()
        server.close()
        await server.wait_closed()
    assert received[0] == b"||>TRIGGER ON\r\n"
    assert result.symbols == (BarcodeRead("LS1", "]C1", (812, 377), "B"), BarcodeRead("LS2"))


# -- extended ---------------------------------------------------------------------------


async def test_extended_several_triggers_in_flight_each_get_their_own_reply():
    async with _pair("extended") as (driver, _, in_field):
        in_field[0] = _parcel(ReaderOutcome.OK)
        results = await asyncio.gather(*(driver.trigger() for _ in range(10)))
        assert all(r.symbols[0].data == "LS0000000042" for r in results)
        assert len({r.raw.split("[")[0] for r in results}) == 10


async def test_extended_a_device_error_status_is_a_device_fault():
    async with _pair("extended") as (driver, sim, in_field):
        in_field[0] = _parcel(ReaderOutcome.OK)
        sim.fault = 104
        with pytest.raises(DeviceFault, match=r"status 104 \(refused in this state"):
            await driver.trigger()
        sim.fault = 105
        with pytest.raises(DeviceFault, match=r"status 105 \(reader unavailable\)"):
            await driver.trigger()
        sim.fault = None
        assert (await driver.trigger()).symbols  # the next trigger is fine


async def test_extended_against_a_reader_left_silent_says_so():
    # The field problem: a DataMan at its factory setting answers without a header.
    dev = _device("silent")
    sim = ReaderSimulator("reader", dev, lambda: _parcel(ReaderOutcome.OK), port=0)
    await sim.start()
    driver = CognexTcpReader("reader", sim.url, timeout_s=0.08, response="extended")
    await driver.connect()
    try:
        with pytest.raises(DeviceTimeout, match=r"COM\.DMCC-RESPONSE 0 \(silent"):
            await driver.trigger()
        assert driver.garbled_lines == 1
    finally:
        await driver.close()
        await sim.stop()


async def test_an_error_status_from_a_raw_server_is_a_device_fault():
    async def serve(reader, writer):
        line = await reader.readline()
        cmd_id = line.decode().split(":")[1].split(">")[0]
        writer.write(f"||:{cmd_id}[104]\r\n".encode())
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    driver = CognexTcpReader(
        "reader", f"tcp://127.0.0.1:{port}", timeout_s=0.5, response="extended"
    )
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


def test_an_unknown_response_mode_is_refused():
    with pytest.raises(ValueError, match="response: expected one of silent, extended"):
        CognexTcpReader("reader", "tcp://127.0.0.1:1", response="quiet")
