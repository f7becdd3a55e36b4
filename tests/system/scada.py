"""The site's Sparkplug primary host for system tests: a :class:`TestHost` in a thread of its
own (with its own event loop), connected again whenever the broker drops it.

Every message it receives, over all its connections, is appended to :attr:`Scada.seen` in
arrival order. On each connection it subscribes first, then publishes its STATE (online or
offline, as last set, with a new timestamp), so it sees every birth its STATE causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

import aiomqtt

from tests.drivers.sparkplug.host import Seen, TestHost, now_ms

HOST_ID = "scada"


class Scada:
    """The primary host ``scada`` on the broker at ``address:port``."""

    def __init__(self, address: str, port: int, user: str, password: str):
        self.address, self.port, self.user, self.password = address, port, user, password
        self.seen: list[Seen] = []
        self.connections = 0
        self._online = True
        self._host: TestHost | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="scada-host", daemon=True)

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the thread; return once connected with its STATE online published."""
        self._thread.start()
        self.wait(lambda: self.connections > 0, timeout_s, "the primary host's first connection")

    def set_online(self, online: bool, timeout_s: float = 10.0) -> None:
        """Publish STATE ``online`` now (and on every later connection)."""
        self._online = online
        host = self._host
        assert host is not None, "the primary host is not connected"
        future = asyncio.run_coroutine_threadsafe(host.state(online, now_ms()), self._loop)
        future.result(timeout_s)

    def count(self, kind: str, node: str) -> int:
        """Messages of type ``kind`` (``NBIRTH``, ``NDEATH``…) from edge node ``node``."""
        return sum(
            1
            for s in list(self.seen)
            if (t := s.sparkplug) is not None and t.type == kind and t.edge_node == node
        )

    def wait(self, test: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``test`` (from the test's thread) until it holds; fail naming ``what``."""
        deadline = time.monotonic() + timeout_s
        while not test():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            time.sleep(0.05)

    def close(self) -> None:
        """Disconnect (DISCONNECT: the broker discards its will) and end the thread."""
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        while not self._stop.is_set():
            host = TestHost(self.port, HOST_ID, self.user, self.password, address=self.address)
            host.seen = self.seen  # one stream across connections
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                async with host.connected():
                    stamp = host.born_at if self._online else now_ms()
                    await host.state(self._online, stamp)
                    self._host = host
                    self.connections += 1
                    assert host._reader is not None
                    stop = asyncio.create_task(self._stop.wait())
                    await asyncio.wait({host._reader, stop}, return_when=asyncio.FIRST_COMPLETED)
                    stop.cancel()
            self._host = None
            if not self._stop.is_set():
                await asyncio.sleep(0.2)
