"""Serve one measuring-device protocol over TCP or over a pty, with fault injection.

The device URL decides the transport:

- ``tcp://HOST:PORT`` or ``socket://HOST:PORT``: a TCP server (any number of clients,
  one after the other or at once; port 0 picks a free port);
- an absolute path (``/tmp/lanesort/scale?baud=9600``; the query is kept in :attr:`url`
  for the driver and otherwise ignored): a pty whose slave is published as a symlink at
  the path (see :mod:`simulators.measure.ptylink`).

Each connection is a session: received bytes are split into requests by the protocol,
faults are drawn per request, the reply is delayed as the protocol says and delivered
with the link faults applied (:func:`~simulators.measure.faults.plan_delivery`). Devices
that stream (:attr:`MeasureProtocol.push_period_s`) send their frames to every session;
:meth:`DeviceServer.parcel_scanned` pushes per-parcel telegrams to every session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from simulators.measure.base import MeasureProtocol, Reply
from simulators.measure.faults import Draw, FaultInjector, plan_delivery
from simulators.measure.ptylink import PtyPort
from simulators.parcels import ParcelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """Where a device simulator listens: a TCP address or a pty symlink path."""

    kind: Literal["tcp", "pty"]
    scheme: str = "tcp"
    host: str = "127.0.0.1"
    port: int = 0
    path: Path | None = None
    query: str = ""


def parse_device_url(url: str) -> Endpoint:
    """The endpoint of ``tcp://H:P``, ``socket://H:P`` or an absolute path (query ignored)."""
    if url.startswith("/"):
        path, _, query = url.partition("?")
        return Endpoint("pty", path=Path(path), query=query)
    parts = urlsplit(url)
    if parts.scheme in ("tcp", "socket") and parts.hostname and parts.port is not None:
        return Endpoint("tcp", scheme=parts.scheme, host=parts.hostname, port=parts.port)
    raise ValueError(
        f"cannot serve {url!r}: expected tcp://HOST:PORT, socket://HOST:PORT or an absolute path"
    )


class Link(Protocol):
    """Where a session's bytes go (a TCP stream or the pty)."""

    def write(self, data: bytes) -> None:
        """Send bytes (dropped silently if the link is gone or muted)."""

    async def drain(self) -> None:
        """Wait until the bytes are handed to the OS."""

    def drop(self) -> None:
        """The ``disconnect`` fault."""

    def muted(self) -> bool:
        """True when nothing can be sent now."""


class _TcpLink:
    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def drop(self) -> None:
        self.writer.close()

    def muted(self) -> bool:
        return self.writer.is_closing()


class _Session:
    """One connection: requests in, replies (and pushed frames) out, one frame at a time."""

    def __init__(self, server: DeviceServer, reader: asyncio.StreamReader, link: Link):
        self.server = server
        self.reader = reader
        self.link = link
        self.lock = asyncio.Lock()

    async def run(self) -> None:
        protocol = self.server.protocol
        pusher = None
        if protocol.push_period_s is not None:
            pusher = asyncio.create_task(self._push_loop(protocol.push_period_s))
            pusher.set_name(f"measure-push-{self.server.name}")
        buffer = bytearray()
        try:
            while data := await self.reader.read(4096):
                buffer += data
                for request in protocol.requests(buffer):
                    await self._answer(request)
        except (ConnectionError, OSError) as err:
            log.info("%s: client gone (%s)", self.server.name, err)
        finally:
            if pusher is not None:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher

    async def _answer(self, request: bytes) -> None:
        if self.link.muted():
            return
        self.server.requests += 1
        draw = self.server.faults.draw()
        reply = self.server.protocol.reply(request, draw)
        if reply is not None:
            await self.deliver(reply, draw)

    async def _push_loop(self, period_s: float) -> None:
        while True:
            await asyncio.sleep(period_s)
            draw = self.server.faults.draw()
            reply = self.server.protocol.push(draw)
            if reply is not None:
                await self.deliver(reply, draw)

    async def deliver(self, reply: Reply, draw: Draw) -> None:
        """Send one frame with the link faults of ``draw`` (frames never interleave)."""
        async with self.lock:
            if reply.delay_s > 0:
                await asyncio.sleep(reply.delay_s)
            plan = plan_delivery(reply.data, draw, self.server.split_gap_s)
            for index, chunk in enumerate(plan.chunks):
                if index:
                    await asyncio.sleep(plan.gap_s)
                self.link.write(chunk)
                await self.link.drain()
            self.server.frames += 1 if plan.chunks else 0
            if plan.drop:
                log.info("%s: dropping the link mid-frame (fault)", self.server.name)
                self.link.drop()


class DeviceServer:
    """One simulated scale or dimensioner at its URL."""

    def __init__(
        self,
        name: str,
        url: str,
        protocol: MeasureProtocol,
        faults: FaultInjector | None = None,
        *,
        split_gap_s: float = 0.003,
        pty_blackout_s: float = 1.0,
    ):
        self.name = name
        self.endpoint = parse_device_url(url)
        self.protocol = protocol
        self.faults = faults or FaultInjector()
        self.split_gap_s = split_gap_s
        self.pty_blackout_s = pty_blackout_s
        self.server: asyncio.Server | None = None
        self.pty: PtyPort | None = None
        self.sessions: set[_Session] = set()
        self.connections = 0
        self.requests = 0
        self.frames = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=f"{name}-{self.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """Listen on TCP or open the pty."""
        ep = self.endpoint
        if ep.kind == "tcp":
            self.server = await asyncio.start_server(self._on_client, ep.host, ep.port)
        else:
            assert ep.path is not None
            self.pty = PtyPort(ep.path, blackout_s=self.pty_blackout_s)
            self.pty.open()
            session = _Session(self, self.pty.reader, self.pty)
            self.sessions.add(session)
            self._spawn(session.run(), "measure-pty")
        log.info("%s (%s) at %s", self.name, type(self.protocol).__name__, self.url)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        session = _Session(self, reader, _TcpLink(writer))
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.sessions.add(session)
        self._writers.add(writer)
        try:
            await session.run()
        except asyncio.CancelledError:
            # stop() cancels client sessions. Ending quietly keeps asyncio's stream callback
            # (which calls task.exception() on 3.11) from logging a CancelledError.
            pass
        finally:
            self.sessions.discard(session)
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @property
    def port(self) -> int:
        """The TCP port listened on (after start)."""
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    @property
    def path(self) -> Path:
        """The pty symlink (pty endpoints)."""
        assert self.endpoint.path is not None
        return self.endpoint.path

    @property
    def url(self) -> str:
        """The device URL a driver connects to (the actual port once started)."""
        ep = self.endpoint
        if ep.kind == "tcp":
            port = self.port if self.server is not None else ep.port
            return f"{ep.scheme}://{ep.host}:{port}"
        return str(ep.path) + (f"?{ep.query}" if ep.query else "")

    def parcel_scanned(self, parcel: ParcelSpec) -> None:
        """A parcel's front passed the scan point: devices that push send their telegram."""
        draw = self.faults.draw()
        reply = self.protocol.on_scanned(parcel, draw)
        if reply is None:
            return
        for session in list(self.sessions):
            self._spawn(session.deliver(reply, draw), "measure-telegram")

    def disconnect_clients(self) -> int:
        """Drop every TCP client; return how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.close()
        return len(writers)

    async def stop(self) -> None:
        """Stop listening, drop the clients, close the pty, cancel what is in flight."""
        if self.server is not None:
            self.server.close()
        self.disconnect_clients()
        if self.pty is not None:
            self.pty.close()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None
        self.pty = None
        self.sessions.clear()
