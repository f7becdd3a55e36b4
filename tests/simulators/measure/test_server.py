"""The device server over TCP and over a pty, with link faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tty
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from plc_configs.telegram import SICK
from simulators.measure.faults import Fault, FaultInjector, fixed_rates
from simulators.measure.mtsics import MtSics
from simulators.measure.server import DeviceServer, parse_device_url
from simulators.measure.telegram import DelimitedTelegram
from simulators.measure.toledo import ToledoContinuous
from tests.simulators.measure.helpers import OnScale, parcel

OK = b"S S      1.234 kg\r\n"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[DeviceServer] = []
    writers: list[asyncio.StreamWriter] = []

    async def start(url: str = "tcp://127.0.0.1:0", protocol=None, faults=None, **kw):
        protocol = protocol or MtSics(OnScale(parcel(1.234)))
        injector = FaultInjector(fixed_rates(faults or {}), seed=3)
        server = DeviceServer("dev", url, protocol, injector, **kw)
        await server.start()
        servers.append(server)

        async def connect():
            r, w = await asyncio.open_connection("127.0.0.1", server.port)
            writers.append(w)
            return r, w

        return server, connect

    yield start
    for w in writers:
        w.close()
        with contextlib.suppress(ConnectionError):
            await w.wait_closed()
    for server in servers:
        await server.stop()


def test_parse_device_url():
    tcp = parse_device_url("socket://127.0.0.1:4001")
    assert (tcp.kind, tcp.scheme, tcp.host, tcp.port) == ("tcp", "socket", "127.0.0.1", 4001)
    pty = parse_device_url("/tmp/lanesort/scale?baud=9600")
    assert pty.kind == "pty" and pty.path == Path("/tmp/lanesort/scale")
    assert pty.query == "baud=9600"
    with pytest.raises(ValueError, match="cannot serve"):
        parse_device_url("rfc2217://127.0.0.1:1")


async def test_tcp_request_reply_and_reconnections(serve):
    server, connect = await serve()
    assert server.url == f"tcp://127.0.0.1:{server.port}" and server.port != 0
    for _ in range(3):
        r, w = await connect()
        w.write(b"S\r\nSI\r\n")
        assert await asyncio.wait_for(r.readexactly(2 * len(OK)), 2) == OK + OK
        w.close()
    assert server.connections == 3 and server.requests == 6


async def test_two_clients_at_once(serve):
    _, connect = await serve()
    (r1, w1), (r2, w2) = await connect(), await connect()
    w1.write(b"S\r\n")
    w2.write(b"Z\r\n")
    assert await asyncio.wait_for(r1.readline(), 2) == OK
    assert await asyncio.wait_for(r2.readline(), 2) == b"Z A\r\n"


async def test_split_frame_arrives_in_pieces(serve):
    _, connect = await serve(faults={Fault.SPLIT: 1.0}, split_gap_s=0.02)
    r, w = await connect()
    w.write(b"S\r\n")
    pieces = []
    while sum(map(len, pieces)) < len(OK):
        pieces.append(await asyncio.wait_for(r.read(100), 2))
    assert b"".join(pieces) == OK and len(pieces) >= 2


async def test_garbage_precedes_the_frame(serve):
    _, connect = await serve(faults={Fault.GARBAGE: 1.0})
    r, w = await connect()
    w.write(b"S\r\n")
    line = await asyncio.wait_for(r.readline(), 2)
    assert line.endswith(OK) and len(line) > len(OK)


async def test_silence_answers_nothing(serve):
    _, connect = await serve(faults={Fault.SILENCE: 1.0})
    r, w = await connect()
    w.write(b"S\r\n")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(r.read(100), 0.1)


async def test_disconnect_drops_the_client_mid_frame(serve):
    server, connect = await serve(faults={Fault.DISCONNECT: 1.0})
    r, w = await connect()
    w.write(b"S\r\n")
    got = await asyncio.wait_for(r.read(), 2)  # until EOF
    assert got == OK[: len(OK) // 2]
    # The server still listens: a new client is served.
    server.faults.rates = fixed_rates({})
    r, w = await connect()
    w.write(b"S\r\n")
    assert await asyncio.wait_for(r.readline(), 2) == OK


async def test_toledo_streams_to_every_client(serve):
    protocol = ToledoContinuous(OnScale(parcel(2.5)), period_s=0.005)
    _, connect = await serve(protocol=protocol)
    (r1, _), (r2, _) = await connect(), await connect()
    for r in (r1, r2):
        data = await asyncio.wait_for(r.readexactly(18 * 3), 2)
        assert data[0] == 0x02 and data[4:10] == b"000250"


async def test_pushed_telegram_goes_to_every_client(serve):
    server, connect = await serve(protocol=DelimitedTelegram(OnScale(), SICK))
    (r1, _), (r2, _) = await connect(), await connect()
    await asyncio.sleep(0.01)
    server.parcel_scanned(parcel(1.0))
    for r in (r1, r2):
        frame = await asyncio.wait_for(r.readuntil(b"\x03"), 2)
        assert frame.startswith(b"\x020001;LS0000012345;000001000;g;")


# -- pty --------------------------------------------------------------------------------


def _read_until(fd: int, end: bytes, within: float = 2.0) -> bytes:
    deadline = time.monotonic() + within
    out = b""
    while not out.endswith(end):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {end!r} in time; got {out!r}")
        try:
            out += os.read(fd, 100)
        except BlockingIOError:
            time.sleep(0.002)
    return out


async def _in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)


async def test_pty_with_pyserial(serve, tmp_path):
    path = tmp_path / "dev" / "scale"
    server, _ = await serve(url=f"{path}?baud=9600")
    assert path.is_symlink() and os.readlink(path).startswith("/dev/pts/")
    assert server.url == f"{path}?baud=9600"

    def talk() -> list[bytes]:
        out = []
        with serial.serial_for_url(str(path), baudrate=9600, timeout=2) as port:
            for _ in range(2):
                port.write(b"S\r\n")
                out.append(port.read_until(b"\r\n"))
        return out

    assert await _in_thread(talk) == [OK, OK]
    assert await _in_thread(talk) == [OK, OK]  # reopening the port works
    await server.stop()
    assert not path.exists() and not path.is_symlink()


async def test_pty_replaces_a_stale_symlink_and_refuses_a_real_file(serve, tmp_path):
    path = tmp_path / "scale"
    path.symlink_to("/dev/pts/does-not-exist")
    server, _ = await serve(url=str(path))
    assert os.readlink(path) == server.pty.slave_name  # type: ignore[union-attr]
    real = tmp_path / "real"
    real.write_text("keep me")
    with pytest.raises(FileExistsError):
        await serve(url=str(real))
    assert real.read_text() == "keep me"


async def test_pty_raw_os_read_and_disconnect_mutes(serve, tmp_path):
    path = tmp_path / "scale"
    server, _ = await serve(url=str(path), faults={Fault.DISCONNECT: 1.0}, pty_blackout_s=0.2)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tty.setraw(fd)
        os.write(fd, b"S\r\n")
        half = await _in_thread(_read_until, fd, OK[: len(OK) // 2])
        assert half == OK[: len(OK) // 2]
        server.faults.rates = fixed_rates({})
        os.write(fd, b"S\r\n")  # ignored: the device plays dead
        await asyncio.sleep(0.05)
        with pytest.raises(BlockingIOError):
            os.read(fd, 100)
        await asyncio.sleep(0.2)
        os.write(fd, b"S\r\n")
        assert await _in_thread(_read_until, fd, b"\r\n") == OK
    finally:
        os.close(fd)
