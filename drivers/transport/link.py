"""A framed byte link to one device: raw TCP, or serial (port, pty, device server).

The address is a URL (see :mod:`drivers.transport.url`): ``tcp://HOST:PORT`` is a
raw TCP socket; ``socket://``, ``rfc2217://``, ``loop://`` and absolute device paths
(``/dev/ttyUSB0?baud=9600&parity=E&bytesize=7&stopbits=1``) go through pyserial
(``serial_asyncio_fast``). Either way a background task started by
:meth:`ByteLink.open` reads whatever arrives, feeds the framer and queues complete
frames, so a reply is never lost between two requests and a partial frame can be
shown when a read times out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
from typing import Protocol

import serial_asyncio_fast

from drivers.errors import ConnectionLost, DeviceTimeout
from drivers.transport.url import LinkTarget, parse_link_url

log = logging.getLogger(__name__)

try:  # pyserial lets termios.error (not an OSError) through when a setting is refused
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - Windows

    class _TermiosError(Exception):  # type: ignore[no-redef]
        """Stand-in where termios does not exist."""


READ_CHUNK = 4096


class Framer(Protocol):
    """What a link needs from a framer (see :mod:`drivers.transport.framing`)."""

    garbage_bytes: int

    def feed(self, data: bytes) -> list[bytes]:
        """Complete frames in ``data``."""

    def reset(self) -> None:
        """Drop a partial frame."""

    def pending(self) -> bytes:
        """The partial frame so far."""


class ByteLink:
    """A framed link to one device; every error names the device and its address."""

    def __init__(
        self,
        name: str,
        url: str,
        framer: Framer,
        *,
        connect_timeout_s: float = 3.0,
        max_queued: int = 256,
    ):
        self.name = name
        self.address = url
        self.framer = framer
        self.target = parse_link_url(url)
        self.connect_timeout_s = connect_timeout_s
        self.dropped_frames = 0
        self._frames: collections.deque[bytes] = collections.deque()
        self._max_queued = max_queued
        self._arrived = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost: str | None = None

    @property
    def connected(self) -> bool:
        """True while the link is open and the peer has not closed it."""
        return self._writer is not None and self._lost is None

    async def open(self) -> None:
        """Connect (closing any previous connection) and start reading."""
        await self.close()
        t = self.target
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                if t.kind == "tcp":
                    reader, writer = await asyncio.open_connection(t.host, t.port)
                else:
                    reader, writer = await serial_asyncio_fast.open_serial_connection(
                        url=t.url,
                        baudrate=t.baudrate,
                        parity=t.parity,
                        bytesize=t.bytesize,
                        stopbits=t.stopbits,
                    )
        except TimeoutError as err:
            raise ConnectionLost(
                self.name, self.address, f"cannot open: no connection in {self._ms()} ms"
            ) from err
        except (OSError, ValueError, _TermiosError) as err:
            raise ConnectionLost(self.name, self.address, f"cannot open: {err}") from err
        if os.name != "nt" and t.kind == "serial":
            await self._check_pollable(writer)
        self.framer.reset()
        self._frames.clear()
        self._lost = None
        self._writer = writer
        self._task = asyncio.create_task(self._read_loop(reader), name=f"{self.name}-link")

    async def _check_pollable(self, writer: asyncio.StreamWriter) -> None:
        """asyncio needs a file descriptor on POSIX; pyserial's ``loop://`` has none."""
        port = writer.transport.serial  # type: ignore[attr-defined]
        try:
            port.fileno()
        except OSError as err:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            raise ConnectionLost(
                self.name,
                self.address,
                f"cannot open: {self.target.url} has no file descriptor "
                "for asyncio to poll (pyserial's loop:// works only on Windows)",
            ) from err

    def _ms(self) -> str:
        return f"{self.connect_timeout_s * 1000:.0f}"

    async def close(self) -> None:
        """Stop reading and close the connection; safe to call twice."""
        task, self._task = self._task, None
        writer, self._writer = self._writer, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
        self._frames.clear()
        self._arrived.set()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(READ_CHUNK)
                if not data:
                    self._lost = "the peer closed the connection"
                    break
                for frame in self.framer.feed(data):
                    if len(self._frames) >= self._max_queued:
                        self._frames.popleft()
                        self.dropped_frames += 1
                    self._frames.append(frame)
                if self._frames:
                    self._arrived.set()
        except Exception as err:  # any failure of the transport ends the link
            self._lost = f"link lost: {err or type(err).__name__}"
        finally:
            if self._lost is not None:
                log.warning("%s (%s): %s", self.name, self.address, self._lost)
            self._arrived.set()

    def _require_open(self) -> None:
        if self._writer is None:
            raise ConnectionLost(self.name, self.address, "not connected")

    async def write(self, data: bytes) -> None:
        """Send ``data``; ConnectionLost if the link is down."""
        self._require_open()
        if self._lost is not None:
            raise ConnectionLost(self.name, self.address, self._lost)
        assert self._writer is not None
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as err:
            self._lost = f"link lost: {err}"
            raise ConnectionLost(self.name, self.address, self._lost) from err

    def drain_frames(self) -> list[bytes]:
        """Frames received and not yet read (stale ones), removed from the queue."""
        frames = list(self._frames)
        self._frames.clear()
        return frames

    async def read_frame(self, timeout_s: float) -> bytes:
        """The next complete frame; DeviceTimeout showing what arrived, if none in time."""
        self._require_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        garbage_before = self.framer.garbage_bytes
        while not self._frames:
            if self._writer is None:
                raise ConnectionLost(self.name, self.address, "closed while reading")
            if self._lost is not None:
                raise ConnectionLost(self.name, self.address, self._lost)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DeviceTimeout(
                    self.name,
                    self.address,
                    self._timeout_message(timeout_s, self.framer.garbage_bytes - garbage_before),
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
        return self._frames.popleft()

    def _timeout_message(self, timeout_s: float, skipped: int) -> str:
        pending = self.framer.pending()
        got = repr(pending) if pending else "nothing"
        message = f"no complete frame in {timeout_s * 1000:.0f} ms; got {got}"
        if skipped:
            last = getattr(self.framer, "last_garbage", b"")
            message += f" (skipped {skipped} bytes that are not a frame, last {last!r})"
        return message

    async def transact(self, request: bytes, timeout_s: float) -> bytes:
        """Drop stale frames and any partial one, send ``request``, return the next frame."""
        stale, partial = self.drain_frames(), self.framer.pending()
        self.framer.reset()
        if stale or partial:
            log.info("%s: dropped %d stale frame(s) and partial %r", self.name, len(stale), partial)
        await self.write(request)
        return await self.read_frame(timeout_s)


def open_link(name: str, url: str, framer: Framer) -> ByteLink:
    """A (not yet opened) link for ``url``; ValueError if the URL is not usable."""
    return ByteLink(name, url, framer)


__all__ = ["ByteLink", "Framer", "LinkTarget", "open_link", "parse_link_url"]
