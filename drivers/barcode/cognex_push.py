"""Cognex DataMan in push mode: the reader connects to us and sends every result unsolicited.

The driver listens on the URL's ``tcp://BIND:PORT`` (``0.0.0.0`` for every interface);
the reader (or several) connects and writes one line per read: the payload alone
(``]C0LS0000012345``, ``NOREAD``), no header and no id (see :mod:`plc_configs.readers`).

:meth:`CognexPushReader.trigger` sends nothing: it returns the next pushed result. A
result received before the call is stale and discarded, unless it arrived at most
``grace_s`` before it (the reader and the PLC see the same parcel at about the same
time, and the reader's push may win the race against the PLC's scan event). Each
result is handed out once; several waiting triggers take results in call order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

from drivers.address import host_port
from drivers.barcode.base import ReadResult
from drivers.barcode.protocols import CognexPushProtocol, Message
from drivers.errors import ConnectionLost, DeviceTimeout

log = logging.getLogger(__name__)

MAX_LINE = 8192


class CognexPushReader:
    """Listen at ``tcp://BIND:PORT`` for a pushing DataMan; implements ``BarcodeReader``."""

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.08,
        no_read: str | None = None,
        separator: str | None = None,
        *,
        grace_s: float | None = None,
    ):
        self._host, self._port = host_port(name, url, "tcp")
        self.name = name
        self.address = url
        self.timeout_s = timeout_s
        self.grace_s = min(timeout_s, 0.05) if grace_s is None else grace_s
        self.protocol = CognexPushProtocol(no_read, separator)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._sessions: set[asyncio.Task[object]] = set()
        self._results: collections.deque[tuple[float, Message]] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[Message]] = collections.deque()
        self.garbled_lines = 0
        self.last_garbled = ""
        self.stale_replies = 0
        self.peers = 0
        """Readers connected now."""

    @property
    def connected(self) -> bool:
        """True while listening (a reader may or may not be connected)."""
        return self._server is not None and self._server.is_serving()

    @property
    def port(self) -> int:
        """The port listened on (the real one when the URL said 0)."""
        if self._server is None:
            return self._port
        return self._server.sockets[0].getsockname()[1]

    async def connect(self) -> None:
        """Start listening for the reader."""
        await self.close()
        try:
            self._server = await asyncio.start_server(
                self._serve, self._host, self._port, limit=MAX_LINE, reuse_address=True
            )
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"cannot listen: {err}") from err
        log.info("%s: listening for a pushing reader on %s", self.name, self.address)

    async def close(self) -> None:
        """Stop listening, drop connected readers, fail waiting triggers; safe twice."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        sessions = list(self._sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        self._results.clear()
        waiters, self._waiters = self._waiters, collections.deque()
        for future in waiters:
            if not future.done():
                future.set_exception(ConnectionLost(self.name, self.address, "closed"))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        self._writers.add(writer)
        self.peers += 1
        peer = writer.get_extra_info("peername")
        log.info("%s: reader connected from %s", self.name, peer)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    await reader.read(MAX_LINE)
                    self._garbled(f"<line longer than {MAX_LINE} bytes>")
                    continue
                self._dispatch(raw)
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.peers -= 1
            self._writers.discard(writer)
            if session is not None:
                self._sessions.discard(session)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _garbled(self, line: str) -> None:
        self.garbled_lines += 1
        self.last_garbled = line[:80]
        log.warning(
            "%s (%s): skipped a line that is not a result: %r", self.name, self.address, line[:80]
        )

    def _dispatch(self, raw: bytes) -> None:
        message = self.protocol.parse(raw)
        if message is None:
            if raw.strip(b"\r\n"):
                self._garbled(raw.decode("latin-1"))
            return
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(message)
                return
        self._results.append((time.monotonic(), message))

    def _take_fresh(self) -> Message | None:
        oldest = time.monotonic() - self.grace_s
        while self._results:
            at, message = self._results.popleft()
            if at >= oldest:
                return message
            self.stale_replies += 1
            log.info(
                "%s: discarded a result pushed before the trigger: %r", self.name, message.raw[:80]
            )
        return None

    async def trigger(self) -> ReadResult:
        """The next pushed result (or one pushed at most ``grace_s`` ago)."""
        if not self.connected:
            raise ConnectionLost(self.name, self.address, "not listening")
        message = self._take_fresh()
        if message is None:
            future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                async with asyncio.timeout(self.timeout_s):
                    message = await future
            except TimeoutError as err:
                raise DeviceTimeout(
                    self.name,
                    self.address,
                    f"no result pushed in {self.timeout_s * 1000:.0f} ms"
                    + ("" if self.peers else " (no reader connected)"),
                ) from err
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
        if message.error is not None:
            kind, text = message.error
            raise kind(self.name, self.address, text)
        return ReadResult(symbols=message.symbols, raw=message.raw, multiple=message.multiple)
