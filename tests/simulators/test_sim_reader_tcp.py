"""The Cognex DMCC reader simulator over a real TCP socket, with asyncio streams, in both
response modes: silent (the DataMan's factory default) and extended."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.reader_tcp import ReaderSimulator, parse_command, trigger_reply
from simulators.readers.cognex import parse_any_command, read_string
from simulators.twin import LineTwin
from tests.simulators.sim_helpers import make_config, wait_for


def spec(outcome: ReaderOutcome, barcode: str = "LS0000012345") -> ParcelSpec:
    second = "LS9000000077" if outcome is ReaderOutcome.MULTI_LABEL else None
    return ParcelSpec(1, barcode, "A", 300, 200, 100, 1.0, True, outcome, second)


class Field:
    """What the reader sees: a settable parcel."""

    def __init__(self) -> None:
        self.parcel: ParcelSpec | None = None

    def __call__(self) -> ParcelSpec | None:
        return self.parcel


@pytest.fixture
async def reader() -> AsyncIterator[Callable[..., Any]]:
    started: list[tuple[ReaderSimulator, list[asyncio.StreamWriter]]] = []

    async def start(field: Field, **device: Any):
        dev = BarcodeReaderDevice(kind="barcode_reader", url="tcp://127.0.0.1:1", **device)
        sim = ReaderSimulator("r1", dev, field, late_answer_ms=150)
        await sim.start()
        writers: list[asyncio.StreamWriter] = []
        started.append((sim, writers))

        async def connect():
            r, w = await asyncio.open_connection("127.0.0.1", sim.port)
            writers.append(w)
            return r, w

        return sim, connect

    yield start
    for sim, writers in started:
        for w in writers:
            w.close()
            with contextlib.suppress(ConnectionError):
                await w.wait_closed()
        await sim.stop()


async def line(r: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(r.readuntil(b"\r\n"), 2)


async def test_reply_format_and_no_read(reader):
    field = Field()
    _, connect = await reader(field, response="extended")
    r, w = await connect()
    w.write(b"||:7>TRIGGER ON\r\n")
    assert await line(r) == b"||:7[0]NOREAD\r\n"  # nothing in the field
    field.parcel = spec(ReaderOutcome.OK)
    w.write(b"||:8>TRIGGER ON\r\n")
    assert await line(r) == b"||:8[0]]C0LS0000012345\r\n"
    field.parcel = spec(ReaderOutcome.NO_READ)
    w.write(b"||:9>TRIGGER ON\r\n")
    assert await line(r) == b"||:9[0]NOREAD\r\n"


async def test_configured_no_read_and_separator_multi_and_duplicate(reader):
    field = Field()
    _, connect = await reader(field, no_read="NR?", separator=";", response="extended")
    r, w = await connect()
    w.write(b"||:1>TRIGGER ON\r\n")
    assert await line(r) == b"||:1[0]NR?\r\n"
    field.parcel = spec(ReaderOutcome.MULTI_LABEL)
    w.write(b"||:2>TRIGGER ON\r\n")
    assert await line(r) == b"||:2[0]]C0LS0000012345;]C0LS9000000077\r\n"
    field.parcel = spec(ReaderOutcome.DUPLICATE_READ)
    w.write(b"||:3>TRIGGER ON\r\n")
    assert await line(r) == b"||:3[0]]C0LS0000012345;]C0LS0000012345\r\n"


async def test_invalid_commands_and_garbled_lines(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.GARBLED)
    sim, connect = await reader(field, response="extended")
    r, w = await connect()
    w.write(b"hello\r\n||:5>GET DEVICE.NAME\r\n||>GET DEVICE.NAME\r\n")
    assert await line(r) == b"||:5[101]\r\n"  # "hello" is no DMCC command: no reply
    assert await line(r) == b"||[101]\r\n"  # without an id: a header without one
    w.write(b"||:6>TRIGGER ON\r\n")
    garbled = await line(r)
    assert not garbled.startswith(b"||") and b"[0]" not in garbled
    assert sim.invalid_commands == 2 and sim.triggers == 1


async def test_several_triggers_in_flight_each_answered_with_its_id(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.LATE_ANSWER)
    _, connect = await reader(field, response="extended")
    r, w = await connect()
    loop = asyncio.get_running_loop()
    sent = loop.time()
    w.write(b"||:11>TRIGGER ON\r\n")
    await asyncio.sleep(0.01)
    field.parcel = spec(ReaderOutcome.OK, "LS0000000002")
    w.write(b"||:12>TRIGGER ON\r\n||:13>TRIGGER ON\r\n")
    replies = [await line(r) for _ in range(3)]
    assert replies == [
        b"||:12[0]]C0LS0000000002\r\n",
        b"||:13[0]]C0LS0000000002\r\n",
        b"||:11[0]]C0LS0000012345\r\n",  # the late one, 150 ms later
    ]
    assert loop.time() - sent >= 0.14


async def test_reconnect_after_the_client_dropped(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.OK)
    sim, connect = await reader(field, response="extended")
    r, w = await connect()
    w.write(b"||:1>TRIGGER ON\r\n")
    assert (await line(r)).startswith(b"||:1[0]")
    w.close()
    await w.wait_closed()
    r2, w2 = await connect()
    w2.write(b"||:2>TRIGGER ON\r\n")
    assert (await line(r2)).startswith(b"||:2[0]")
    assert sim.disconnect_clients() == 1  # fault injection: the reader drops us
    assert await asyncio.wait_for(r2.read(), 2) == b""
    r3, w3 = await connect()
    w3.write(b"||:3>TRIGGER ON\r\n")
    assert (await line(r3)).startswith(b"||:3[0]")


def test_parse_command():
    assert parse_command("||:42>TRIGGER ON\r\n") == (42, "TRIGGER ON")
    assert parse_command("||ab12:42>TRIGGER ON") == (42, "TRIGGER ON")  # with a checksum field
    assert parse_command("||>TRIGGER ON") is None
    assert parse_command("TRIGGER ON") is None


def test_parse_any_command_takes_a_header_with_or_without_an_id():
    assert parse_any_command("||>TRIGGER ON\r\n") == (None, "TRIGGER ON")
    assert parse_any_command("||1>TRIGGER OFF") == (None, "TRIGGER OFF")  # checksum, no id
    assert parse_any_command("||0:123>TRIGGER ON") == (123, "TRIGGER ON")
    assert parse_any_command("TRIGGER ON") is None


def test_reader_sees_the_twin_parcel_in_the_field():
    config = make_config(simulation={"parcels": 1})
    twin = LineTwin(config)
    device = config.readers["reader"]
    parcel = twin._next
    assert parcel is not None
    twin.advance(0, parcel.induct_mm + 150)  # front 50 mm past the eye
    seen = twin.parcel_in_scan_field()
    reply = trigger_reply(4, seen.spec if seen else None, device, 0)
    assert parcel.spec.reader_outcome is ReaderOutcome.OK  # reader fault rates are 0 here
    assert reply.line == f"||:4[0]]C0{parcel.spec.barcode}"
    assert read_string(seen.spec if seen else None, device, 0).line == f"]C0{parcel.spec.barcode}"
    twin.advance(0, parcel.induct_mm + 2000)
    assert trigger_reply(5, None, device, 0).line == "||:5[0]NOREAD"
    assert read_string(None, device, 0).line == "NOREAD"
    assert twin.parcel_in_scan_field() is None


# -- silent: COM.DMCC-RESPONSE 0, the factory default ----------------------------------


async def test_silent_is_the_default_and_answers_the_read_string_alone(reader):
    field = Field()
    sim, connect = await reader(field)
    assert sim.response == "silent"
    r, w = await connect()
    w.write(b"||>TRIGGER ON\r\n")
    assert await line(r) == b"NOREAD\r\n"
    field.parcel = spec(ReaderOutcome.OK)
    w.write(b"||:8>TRIGGER ON\r\n")  # an id does not bring a header back either
    assert await line(r) == b"]C0LS0000012345\r\n"
    field.parcel = spec(ReaderOutcome.MULTI_LABEL)
    w.write(b"||0:9>trigger on\r\n")
    assert await line(r) == b"]C0LS0000012345,]C0LS9000000077\r\n"


async def test_silent_answers_nothing_but_triggers(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.DUPLICATE_READ)
    sim, connect = await reader(field, no_read="NR", separator=";")
    r, w = await connect()
    w.write(b"hello\r\n||:5>GET DEVICE.NAME\r\n||>TRIGGER OFF\r\n||>TRIGGER ON\r\n")
    assert await line(r) == b"]C0LS0000012345;]C0LS0000012345\r\n"  # the first line back
    assert sim.invalid_commands == 2 and sim.trigger_offs == 1 and sim.triggers == 1
    sim.fault = 104  # a refused trigger: no word in silent mode
    field.parcel = None
    w.write(b"||>TRIGGER ON\r\n")
    await wait_for(lambda: sim.refused_triggers == 1)
    sim.fault = None
    w.write(b"||>TRIGGER ON\r\n")
    assert await line(r) == b"NR\r\n"
    assert sim.refused_triggers == 1 and sim.triggers == 3


async def test_silent_late_read_string_refuses_triggers_until_it_is_sent(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.LATE_ANSWER, "LS0000000001")
    sim, connect = await reader(field)
    r, w = await connect()
    loop = asyncio.get_running_loop()
    sent = loop.time()
    w.write(b"||>TRIGGER ON\r\n")
    await wait_for(lambda: sim.triggers == 1)
    field.parcel = spec(ReaderOutcome.OK, "LS0000000002")
    w.write(b"||>TRIGGER ON\r\n||>TRIGGER OFF\r\n")  # still reading: refused, no word
    assert await line(r) == b"]C0LS0000000001\r\n"  # the late one, 150 ms later
    assert loop.time() - sent >= 0.14
    w.write(b"||>TRIGGER ON\r\n")
    assert await line(r) == b"]C0LS0000000002\r\n"
    assert sim.refused_triggers == 1 and sim.triggers == 3 and sim.trigger_offs == 1


async def test_silent_garbled_line_has_no_header(reader):
    field = Field()
    field.parcel = spec(ReaderOutcome.GARBLED)
    _, connect = await reader(field)
    r, w = await connect()
    w.write(b"||>TRIGGER ON\r\n")
    garbled = await line(r)
    assert not garbled.startswith(b"||") and b"\x7f" in garbled
