"""A scripted TCP device for driver tests: answers requests, pushes bytes, hangs up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

Reply = Callable[[bytes], bytes | None]


class TcpPeer:
    """Listens on 127.0.0.1 (a free port); ``reply`` maps each received chunk to an answer."""

    def __init__(self, reply: Reply | None = None):
        self.reply = reply
        self.received = bytearray()
        self.client = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._handlers: set[asyncio.Task] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """``tcp://127.0.0.1:PORT`` of the listening socket."""
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writer = writer
        self.client.set()
        try:
            while data := await reader.read(1024):
                self.received += data
                answer = self.reply(bytes(data)) if self.reply else None
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def push(self, data: bytes, pieces: int = 1) -> None:
        """Send ``data`` unasked, in ``pieces`` separate writes."""
        await self.client.wait()
        assert self._writer is not None
        step = max(1, -(-len(data) // pieces))
        for i in range(0, len(data), step):
            self._writer.write(data[i : i + step])
            await self._writer.drain()
            await asyncio.sleep(0.005)

    async def hang_up(self) -> None:
        """Close the client connection."""
        if self._writer is not None:
            self._writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._writer is not None:
            self._writer.close()
        for task in list(self._handlers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
