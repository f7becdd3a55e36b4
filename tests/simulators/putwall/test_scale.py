"""The settable check scale over its real wire: MT-SICS on TCP."""

from __future__ import annotations

import asyncio

from plc_configs.schema import ScaleDevice
from simulators.putwall.scale import CheckScale


async def ask(scale: CheckScale, command: bytes) -> bytes:
    host, port = scale.url.removeprefix("tcp://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(command)
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), 2)
    finally:
        writer.close()
        await writer.wait_closed()


def device() -> ScaleDevice:
    return ScaleDevice(kind="scale", at="putwall", driver="mt-sics", url="tcp://127.0.0.1:1")


async def test_si_reads_the_load_set_and_zero_when_cleared() -> None:
    scale = CheckScale("wall-scale", device(), any_port=True)
    await scale.start()
    try:
        assert await ask(scale, b"SI\r\n") == b"S S      0.000 kg\r\n"
        scale.set_load(12.345)
        assert await ask(scale, b"SI\r\n") == b"S S     12.345 kg\r\n"
        scale.set_load(3.5)
        assert await ask(scale, b"S\r\n") == b"S S      3.500 kg\r\n"
        scale.clear()
        assert await ask(scale, b"SI\r\n") == b"S S      0.000 kg\r\n"
        assert scale.loads == 2
    finally:
        await scale.stop()
