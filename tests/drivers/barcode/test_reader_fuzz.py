"""Arbitrary bytes from a fake reader never crash a preset and never make up a symbol."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.barcode.base import ReadResult
from drivers.barcode.protocols import PROTOCOLS, CognexPushProtocol, CognexSilentProtocol
from drivers.barcode.tcp_reader import TcpReader
from drivers.errors import DriverError
from plc_configs.readers import well_formed_text

VARIANTS = [*PROTOCOLS, "cognex-silent"]
"""The presets; ``cognex`` is its extended response mode, ``cognex-silent`` the silent one."""

FRAGMENTS = {
    "cognex": [b"||:1[0]]C0LS1\r\n", b"||:1[0]NOREAD\r\n", b"||:1[104]\r\n", b"||:2[0]X\r\n"],
    "cognex-silent": [b"]C0LS1\r\n", b"NOREAD\r\n", b"||:1[0]]C0LS2\r\n", b"LS3,LS4\r\n"],
    "sick": [
        b"\x02sAN mTCgateon 1\x03",
        b"\x02sAN mTCgateoff 1\x03",
        b"\x020;1;]C0LS1\x03",
        b"\x022;0\x03",
        b"\x021;0\x03",
    ],
    "keyence": [b"OK,LON\r", b"]C0LS1\r", b"ERROR\r", b"ER,LON,14\r"],
    "datalogic": [b"\x02]C0LS1\r\n", b"\x02???????\r\n", b"\x02A,B\r\n"],
}
HANDSHAKE = {
    "cognex": [b"||:1[0]"],
    "cognex-silent": [],  # the read string alone: any well-formed line is one
    "sick": [b"\x02sAN mTCgateon 1\x03", b"\x02sAN mTCgateoff 1\x03"],
    "keyence": [b"OK,LON\r"],
    "datalogic": [b"\x02"],
}
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _stream(data: st.DataObject, preset: str) -> bytes:
    pieces = st.one_of(st.binary(max_size=40), st.sampled_from(FRAGMENTS[preset]))
    return b"".join(data.draw(st.lists(pieces, max_size=6)))


@pytest.mark.parametrize("preset", [*VARIANTS, "push"])
@given(frame=st.binary(max_size=120))
@settings(max_examples=200, deadline=None)
def test_parsers_never_raise(preset, frame):
    special = {"push": CognexPushProtocol, "cognex-silent": CognexSilentProtocol}
    protocol = special[preset]() if preset in special else PROTOCOLS[preset]()
    message = protocol.parse(frame)
    if message is not None:
        assert all(well_formed_text(s.data) and s.data for s in message.symbols)
        if preset == "cognex-silent":
            assert not message.raw.startswith("||")  # a header is never read as data


@pytest.mark.parametrize("preset", VARIANTS)
@given(data=st.data())
@SETTINGS
async def test_a_fake_reader_sending_anything(preset, data):
    stream = _stream(data, preset)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.read(100)
            writer.write(stream)
            await writer.drain()
            await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    name, _, response = preset.partition("-")
    driver = TcpReader(
        "fake", f"tcp://127.0.0.1:{port}", name, timeout_s=0.03, response=response or "extended"
    )
    try:
        await driver.connect()
        try:
            outcome: ReadResult | DriverError = await driver.trigger()
        except DriverError as err:
            outcome = err
    finally:
        await driver.close()
        server.close()
        await server.wait_closed()
    if isinstance(outcome, ReadResult) and outcome.symbols:
        assert all(part in stream for part in HANDSHAKE[preset])
        for symbol in outcome.symbols:
            assert symbol.data and well_formed_text(symbol.data)
            assert (symbol.symbology + symbol.data).encode("latin-1") in stream
