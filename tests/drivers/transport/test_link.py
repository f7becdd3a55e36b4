"""ByteLink over a real pty pair, real TCP, socket:// to that TCP server, and loop://."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty

import pytest

from drivers.errors import ConnectionLost, DeviceTimeout
from drivers.transport import ByteLink, DelimitedFramer, open_link


class PtyPeer:
    """The device side of a pty pair: bytes written to/read from the master fd."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self._data = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.master, self._on_readable)

    def _on_readable(self) -> None:
        with contextlib.suppress(OSError):
            self.received += os.read(self.master, 4096)
            self._data.set()

    async def read_until(self, end: bytes) -> bytes:
        async with asyncio.timeout(2):
            while end not in self.received:
                self._data.clear()
                await self._data.wait()
        out, _, rest = bytes(self.received).partition(end)
        self.received[:] = rest
        return out + end

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close_master(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.master >= 0:
            self.close_master()
        os.close(self.slave)


@pytest.fixture
async def pty_peer():
    peer = PtyPeer()
    yield peer
    peer.close()


@pytest.fixture
async def tcp_peer():
    """A TCP server on 127.0.0.1; yields (port, connections queue)."""
    conns: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    writers: list[asyncio.StreamWriter] = []

    async def on_connect(reader, writer):
        writers.append(writer)
        await conns.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], conns
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


def lines() -> DelimitedFramer:
    return DelimitedFramer(end=b"\r\n")


# Parity E and 7 data bits are refused (termios EINVAL) by the ptys of some kernels and
# sandboxes, so the pty tests use 8N1; real serial ports take any of the settings.
async def test_pty_transact_and_split_frames(pty_peer):
    link = open_link("scale", f"{pty_peer.path}?baud=19200&stopbits=1", lines())
    await link.open()
    try:
        assert link.connected
        task = asyncio.create_task(link.transact(b"S\r\n", 2.0))
        assert await pty_peer.read_until(b"\r\n") == b"S\r\n"
        pty_peer.write(b"S S   1")
        await asyncio.sleep(0.02)
        pty_peer.write(b"00.00 g\r")
        await asyncio.sleep(0.02)
        pty_peer.write(b"\nS D")
        assert await task == b"S S   100.00 g\r\n"
        pty_peer.write(b" 1 g\r\n")
        assert await link.read_frame(1.0) == b"S D 1 g\r\n"
    finally:
        await link.close()
    assert not link.connected


async def test_pty_timeout_shows_the_partial_frame(pty_peer):
    link = open_link("scale", pty_peer.path, lines())
    await link.open()
    try:
        pty_peer.write(b"S S  1")
        with pytest.raises(DeviceTimeout) as info:
            await link.read_frame(0.3)
        assert "no complete frame in 300 ms; got b'S S  1'" in str(info.value)
        assert info.value.device == "scale" and info.value.address == pty_peer.path
    finally:
        await link.close()


async def test_pty_master_closed_is_connection_lost(pty_peer):
    link = open_link("scale", pty_peer.path, lines())
    await link.open()
    try:
        pty_peer.close_master()
        with pytest.raises(ConnectionLost):
            await link.read_frame(1.0)
        assert not link.connected
    finally:
        await link.close()


async def test_tcp_transact_drops_stale_frames(tcp_peer):
    port, conns = tcp_peer
    link = open_link("scale", f"tcp://127.0.0.1:{port}", lines())
    await link.open()
    try:
        _, writer = await conns.get()
        writer.write(b"stale 1\r\nstale 2\r\n")
        await asyncio.sleep(0.05)
        reader, writer = _, writer
        task = asyncio.create_task(link.transact(b"SI\r\n", 1.0))
        assert await reader.readuntil(b"\r\n") == b"SI\r\n"
        writer.write(b"S S 5 kg\r\n")
        assert await task == b"S S 5 kg\r\n"
        assert link.drain_frames() == []
    finally:
        await link.close()


async def test_tcp_timeout_with_nothing_and_peer_close(tcp_peer):
    port, conns = tcp_peer
    link = open_link("scale", f"tcp://127.0.0.1:{port}", lines())
    await link.open()
    try:
        _, writer = await conns.get()
        with pytest.raises(DeviceTimeout, match="no complete frame in 50 ms; got nothing"):
            await link.read_frame(0.05)
        writer.write(b"last\r\n")
        writer.close()
        assert await link.read_frame(1.0) == b"last\r\n"
        with pytest.raises(ConnectionLost, match="peer closed"):
            await link.read_frame(1.0)
        with pytest.raises(ConnectionLost):
            await link.write(b"S\r\n")
    finally:
        await link.close()
        await link.close()


async def test_timeout_mentions_skipped_garbage(tcp_peer):
    port, conns = tcp_peer
    link = open_link("scale", f"tcp://127.0.0.1:{port}", DelimitedFramer(b"\r", b"\n"))
    await link.open()
    try:
        _, writer = await conns.get()
        writer.write(b"noise\nhal")
        with pytest.raises(DeviceTimeout) as info:
            await link.read_frame(0.1)
        assert "got b'\\nhal'" in str(info.value)
        assert "skipped 5 bytes" in str(info.value)
    finally:
        await link.close()


async def test_socket_url_to_the_tcp_server(tcp_peer):
    port, conns = tcp_peer
    link = open_link("scale", f"socket://127.0.0.1:{port}", lines())
    await link.open()
    try:
        reader, writer = await conns.get()
        task = asyncio.create_task(link.transact(b"Z\r\n", 1.0))
        assert await reader.readuntil(b"\r\n") == b"Z\r\n"
        writer.write(b"Z ")
        await asyncio.sleep(0.02)
        writer.write(b"A\r\n")
        assert await task == b"Z A\r\n"
    finally:
        await link.close()


async def test_loop_url_without_a_file_descriptor_is_refused_clearly():
    link = open_link("scale", "loop://", lines())
    if os.name == "nt":
        pytest.skip("loop:// is polled on Windows")
    with pytest.raises(ConnectionLost, match="no file descriptor"):
        await link.open()
    assert not link.connected


async def test_cannot_connect_names_device_and_address():
    link = ByteLink("scale", "tcp://127.0.0.1:1", lines())
    with pytest.raises(ConnectionLost) as info:
        await link.open()
    assert info.value.device == "scale" and info.value.address == "tcp://127.0.0.1:1"
    assert "cannot open" in str(info.value)


async def test_missing_device_path_is_connection_lost():
    link = open_link("scale", "/dev/does-not-exist-lanesort", lines())
    with pytest.raises(ConnectionLost, match="does-not-exist"):
        await link.open()


async def test_use_before_open_is_connection_lost():
    link = open_link("scale", "tcp://127.0.0.1:1", lines())
    with pytest.raises(ConnectionLost, match="not connected"):
        await link.write(b"x")
    with pytest.raises(ConnectionLost, match="not connected"):
        await link.read_frame(0.1)


def test_bad_url_is_value_error():
    with pytest.raises(ValueError, match="parity"):
        open_link("scale", "/dev/ttyS0?parity=Q", lines())
