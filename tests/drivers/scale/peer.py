"""A tiny fake device on 127.0.0.1 for driver tests (the simulators live elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

Reply = bytes | list[bytes] | None
"""What the device sends back: bytes, chunks sent 10 ms apart, or nothing."""


class DevicePeer:
    """Answers each request ending with ``end`` with ``respond(request)``.

    ``respond`` may be swapped at any time; ``requests`` records what arrived.
    With ``stream`` set (an iterable of frames) the peer instead sends those frames
    one by one, ``interval_s`` apart, as a continuous-output device does.
    """

    def __init__(
        self,
        respond: Callable[[bytes], Reply] | None = None,
        end: bytes = b"\r",
        stream: Iterable[bytes] | None = None,
        interval_s: float = 0.01,
    ):
        self.respond = respond
        self.end = end
        self.stream = stream
        self.interval_s = interval_s
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._closing = False

    @property
    def url(self) -> str:
        """tcp://127.0.0.1:PORT of the listening socket."""
        assert self._server is not None
        return f"tcp://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> DevicePeer:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._closing = True
        for writer in self._writers:
            writer.close()
        # Closing a writer ends its handler (EOF); cancelling one would make asyncio log.
        async with asyncio.timeout(2):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.stream is not None:
                await self._send_stream(writer)
                await reader.read()  # until the driver or the test closes the connection
            else:
                await self._answer(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _send_stream(self, writer: asyncio.StreamWriter) -> None:
        assert self.stream is not None
        for frame in self.stream:
            if self._closing or writer.is_closing():
                return
            writer.write(frame)
            await writer.drain()
            await asyncio.sleep(self.interval_s)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readuntil(self.end)
            self.requests.append(request)
            assert self.respond is not None
            reply = self.respond(request)
            chunks = [reply] if isinstance(reply, bytes) else (reply or [])
            for i, chunk in enumerate(chunks):
                if i:
                    await asyncio.sleep(0.01)
                writer.write(chunk)
            await writer.drain()
