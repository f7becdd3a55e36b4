"""What both AS/RS drivers share: the link, retransmission, duplicates, orders, events.

* :meth:`TelegramStorage.send` writes a telegram and waits for the answer registered
  under its key (OSIP: the RES_ with SEQ + 1; Gebhardt: the ack with the same Seq);
  with no answer after ``reply_timeout_s`` it writes the **same bytes** again, up to
  ``max_retries`` times, then raises DeviceTimeout naming the device and address.
* :meth:`TelegramStorage.seen` remembers the last incoming telegrams (by sequence and
  content, not by connection), so a repeated one is answered again from the cache and
  reported once.
* Orders keep their telegram until it is taken: calling ``store``/``retrieve`` again
  with the same order id (after a reconnect) resends it unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from drivers.asrs.base import FINAL_KINDS, AsrsEvent, Listener
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from drivers.transport.link import ByteLink, Framer

log = logging.getLogger(__name__)

SEEN_KEPT = 256
READ_WAIT_S = 3600.0


@dataclass
class Order:
    """One store or retrieve order and its outcome."""

    order_id: str
    kind: str
    hu: str
    source: str | None
    dest: str | None
    frame: bytes = b""
    reply_key: Hashable = None
    taken: bool = False
    outcome: asyncio.Future[AsrsEvent] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class TelegramStorage:
    """Base of the OSIP and Gebhardt drivers; subclasses decode and handle frames."""

    def __init__(
        self,
        name: str,
        url: str,
        framer: Framer,
        *,
        in_location: str,
        out_location: str,
        reply_timeout_s: float = 2.0,
        max_retries: int = 3,
    ):
        self.name = name
        self.address = url
        self.link = ByteLink(name, url, framer)
        self._in, self._out = in_location, out_location
        self.reply_timeout_s = reply_timeout_s
        self.max_retries = max_retries
        self.retransmissions = 0
        self.duplicates = 0
        self.bad_frames = 0
        self.orders: dict[str, Order] = {}
        self._replies: dict[Hashable, asyncio.Future[object]] = {}
        self._seen: collections.OrderedDict[Hashable, bytes | None] = collections.OrderedDict()
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    @property
    def connected(self) -> bool:
        """True while the link is up."""
        return self.link.connected and self._task is not None and not self._lost.is_set()

    @property
    def in_location(self) -> str:
        """The in-port."""
        return self._in

    @property
    def out_location(self) -> str:
        """The out-port."""
        return self._out

    async def connect(self) -> None:
        """Open the link and start reading (ConnectionLost if it cannot)."""
        await self.close()
        await self.link.open()
        self._lost = asyncio.Event()
        self._task = asyncio.create_task(self._read_loop(), name=f"{self.name}-asrs")

    async def close(self) -> None:
        """Stop reading and close the link; waiting sends fail. Safe twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.link.close()
        self._fail_sends(ConnectionLost(self.name, self.address, "closed"))
        self._lost.set()

    async def run(self) -> None:
        """Wait while the link is up; ConnectionLost when it drops."""
        if self._task is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        await self._lost.wait()
        raise ConnectionLost(self.name, self.address, "link lost")

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; returns its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def wait(self, order_id: str, timeout_s: float | None = None) -> AsrsEvent:
        """The order's final event; DeviceFault if refused or faulted."""
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"{self.name}: no order {order_id!r}")
        try:
            async with asyncio.timeout(timeout_s):
                event = await asyncio.shield(order.outcome)
        except TimeoutError as err:
            raise DeviceTimeout(
                self.name, self.address, f"order {order_id} ({order.hu}) not done in {timeout_s} s"
            ) from err
        if event.kind in ("refused", "fault"):
            raise DeviceFault(
                self.name,
                self.address,
                f"order {order_id} ({order.kind} {order.hu}) {event.kind}: "
                f"{event.error_text} (code {event.error_code})",
            )
        return event

    # --- for subclasses -------------------------------------------------------------

    def new_order(
        self, order_id: str | None, kind: str, hu: str, source: str | None, dest: str | None
    ) -> tuple[Order, bool]:
        """The order with ``order_id`` if known (and whether it is new)."""
        if order_id is not None and order_id in self.orders:
            return self.orders[order_id], False
        order = Order(order_id or "T" + uuid.uuid4().hex[:9].upper(), kind, hu, source, dest)
        self.orders[order.order_id] = order
        return order, True

    def emit(self, event: AsrsEvent) -> None:
        """Hand ``event`` to every listener; end its order when final."""
        log.info("%s: %s", self.name, event)
        order = self.orders.get(event.order_id or "")
        if order is not None and event.kind in FINAL_KINDS and not order.outcome.done():
            order.outcome.set_result(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the link
                log.exception("%s: event listener failed", self.name)

    def open_orders(self) -> list[Order]:
        """Orders sent to the device (taken, or a reply may be on its way) and not done."""
        return [o for o in self.orders.values() if o.frame and not o.outcome.done()]

    async def send(self, frame: bytes, key: Hashable, what: str) -> object:
        """Write ``frame`` and return the answer registered under ``key`` (see module)."""
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._replies[key] = future
        try:
            for attempt in range(self.max_retries + 1):
                if attempt:
                    self.retransmissions += 1
                    log.warning("%s: no %s, sending the same telegram again", self.name, what)
                await self.link.write(frame)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.reply_timeout_s):
                        return await asyncio.shield(future)
            raise DeviceTimeout(
                self.name,
                self.address,
                f"no {what} after {self.max_retries + 1} sends, "
                f"{self.reply_timeout_s * 1000:.0f} ms each",
            )
        finally:
            if self._replies.get(key) is future:
                del self._replies[key]
            if not future.done():
                future.cancel()

    def answer(self, key: Hashable, reply: object) -> bool:
        """Resolve the send waiting under ``key``; False if none waits (a late reply)."""
        future = self._replies.get(key)
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def seen(self, key: Hashable) -> tuple[bool, bytes | None]:
        """(already seen, the reply sent then) for an incoming telegram's ``key``."""
        if key in self._seen:
            self.duplicates += 1
            self._seen.move_to_end(key)
            return True, self._seen[key]
        return False, None

    def remember(self, key: Hashable, reply: bytes | None) -> None:
        """Remember an incoming telegram and the reply sent to it."""
        self._seen[key] = reply
        while len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)

    async def handle(self, frame: bytes) -> None:
        """Act on one incoming frame (subclasses)."""
        raise NotImplementedError

    # --- internals ------------------------------------------------------------------

    def _fail_sends(self, err: Exception) -> None:
        for future in self._replies.values():
            if not future.done():
                future.set_exception(err)
                future.exception()  # retrieved here: the sender may be gone already

    async def _read_loop(self) -> None:
        try:
            while True:
                try:
                    frame = await self.link.read_frame(READ_WAIT_S)
                except DeviceTimeout:
                    continue
                try:
                    await self.handle(frame)
                except (ValueError, ProtocolError) as err:
                    self.bad_frames += 1
                    log.warning("%s: skipped a bad telegram %r: %s", self.name, frame[:80], err)
        except ConnectionLost as err:
            self._fail_sends(err)
        finally:
            self._lost.set()
