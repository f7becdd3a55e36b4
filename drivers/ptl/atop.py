"""Atop ABLEPick pick-to-light: one port of an AT400/AT500 controller over TCP.

The host connects to the controller (``tcp://HOST:PORT``) and writes frames (see
:mod:`plc_configs.atop` for the frame, the encodings and which of them are assumed).
The controller sends no answer to a command that worked; it answers 0x0A when the
module did not acknowledge it, 0x0B/0x0C/0x0D for a malfunction, an illegal command or
a held button, and it pushes a 0x06/0x07 frame for every confirm/shortage press.

* :meth:`AtopPickToLight.show` writes the colour (0x1F), then the digits: 0x00 steady,
  or 0x10 (flashing digits) followed by 0x11 (flashing lamp).
* A background reader decodes the stream (split frames, several frames in one read and
  garbage between frames are fine; skipped bytes count in :attr:`malformed_frames`)
  and queues :class:`~drivers.ptl.base.LightEvent` values.
* A status poll (0x09 every ``poll_interval_s``) tells which modules are not
  connected: a module that drops out is an ``offline`` event, one that comes back an
  ``online`` event; a 0x0A for a command is an ``offline`` event at once, and any frame
  a module sends (a press, a reset, a held button) puts it back ``online``. The poll is
  also the link's heartbeat: :data:`MAX_MISSED_POLLS` polls without an answer in
  ``timeout_s`` and the link counts as lost.
* A repeated press of the same button on the same module within ``press_interval_s``
  (0.8 s, a tag's own default) with no new :meth:`show` in between is one press: the
  tag should refuse it already, the driver drops it too (:attr:`duplicate_presses`).

The driver never writes the controller's configuration (no 0x08 max polled address,
no EEPROM colour): set the polling range on the controller to cover the bus's nodes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

from drivers.address import host_port
from drivers.errors import ConnectionLost
from drivers.ptl.base import Colour, EventKind, LightEvent
from plc_configs import atop

log = logging.getLogger(__name__)

READ_CHUNK = 4096
MAX_MISSED_POLLS = 3
_PRESSES = {
    atop.CONFIRM: EventKind.CONFIRM,
    atop.CONFIRM_CYCLE_EDIT: EventKind.CONFIRM,
    atop.STOCK_QUANTITY: EventKind.CONFIRM,
    atop.SHORTAGE: EventKind.SHORTAGE,
}
_FROM_MODULE = {*_PRESSES, atop.MALFUNCTION, atop.BUTTONS_LOCKED, atop.RESET_OK}
"""Returns only a module on the bus sends (0x0C comes from the controller itself)."""


class AtopPickToLight:
    """The modules on one Atop controller port; implements ``PickToLight``."""

    def __init__(
        self,
        name: str,
        url: str,
        nodes: list[int],
        *,
        port: int = 1,
        timeout_s: float = 0.3,
        poll_interval_s: float = 0.1,
        press_interval_s: float = atop.PRESS_INTERVAL_S,
    ):
        self._host, self._port = host_port(name, url, "tcp")
        if port not in (1, 2):
            raise ValueError(f"{name}: Atop controller port is 1 or 2, not {port}")
        bad = [n for n in nodes if not atop.NODE_MIN <= n <= atop.NODE_MAX]
        if bad or not nodes:
            raise ValueError(f"{name}: Atop nodes are 1 to 250, got {bad or 'none'}")
        self.name = name
        self.address = url
        self.nodes = frozenset(nodes)
        self.msg_type = atop.MSG_TYPE_PORT1 if port == 1 else atop.MSG_TYPE_PORT2
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.press_interval_s = press_interval_s
        self.malformed_frames = 0
        """Runs of bytes skipped as not a frame, and frames of an impossible length."""
        self.last_malformed = b""
        self.unknown_frames = 0
        self.duplicate_presses = 0
        self.missed_polls = 0
        self._decoder = atop.FrameDecoder({self.msg_type})
        self._offline: set[int] = set()
        self._events: collections.deque[LightEvent] = collections.deque()
        self._wakeup = asyncio.Event()
        self._last_press: dict[tuple[int, EventKind], float] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._status_seen = asyncio.Event()
        self._poll_sent_at: float | None = None
        self._lost: str | None = "not connected"

    @property
    def connected(self) -> bool:
        """True while the link is up."""
        return self._lost is None

    def offline_nodes(self) -> frozenset[int]:
        """Modules that do not answer now (as far as the driver knows)."""
        return frozenset(self._offline)

    async def connect(self) -> None:
        """Connect, start reading, ask the device status once (waiting up to
        ``timeout_s`` for it) and start the status poll."""
        await self.close()
        try:
            async with asyncio.timeout(max(self.timeout_s, 1.0)):
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as err:
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        self._decoder.reset()
        self._events.clear()
        self._offline.clear()
        self._last_press.clear()
        self._status_seen.clear()
        self._poll_sent_at = None
        self.missed_polls = 0
        self._writer, self._lost = writer, None
        self._reader_task = asyncio.create_task(self._read_loop(reader), name=f"{self.name}-read")
        await self._send(atop.encode_frame(atop.DEVICE_STATUS, None, msg_type=self.msg_type))
        self._poll_sent_at = time.monotonic()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout_s):
                await self._status_seen.wait()
        self._poll_task = asyncio.create_task(self._poll_loop(), name=f"{self.name}-poll")
        log.info("%s: connected to %s", self.name, self.address)

    async def close(self) -> None:
        """Close the link; pending :meth:`next_event` calls raise ``ConnectionLost``."""
        self._mark_lost("closed")
        current = asyncio.current_task()
        tasks = [t for t in (self._poll_task, self._reader_task) if t is not None]
        self._poll_task = self._reader_task = None
        for task in tasks:
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not current), return_exceptions=True)
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _mark_lost(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
            if reason != "closed":
                log.warning("%s (%s): link lost: %s", self.name, self.address, reason)
            if self._writer is not None:
                self._writer.close()
        self._wakeup.set()

    def _check_node(self, node: int) -> None:
        if node not in self.nodes:
            raise ValueError(f"{self.name}: node {node} is not on this bus")

    async def _send(self, *frames: bytes) -> None:
        if self._lost is not None or self._writer is None:
            raise ConnectionLost(self.name, self.address, self._lost or "not connected")
        try:
            self._writer.write(b"".join(frames))
            async with asyncio.timeout(self.timeout_s):
                await self._writer.drain()
        except TimeoutError as err:
            reason = f"cannot send in {self.timeout_s * 1000:.0f} ms"
            self._mark_lost(reason)
            raise ConnectionLost(self.name, self.address, reason) from err
        except (OSError, RuntimeError) as err:
            self._mark_lost(f"send failed: {err}")
            raise ConnectionLost(self.name, self.address, f"send failed: {err}") from err

    def _frame(self, subcmd: int, node: int, data: bytes = b"") -> bytes:
        return atop.encode_frame(subcmd, node, data, msg_type=self.msg_type)

    async def show(self, node: int, value: int, colour: Colour, *, flash: bool = False) -> None:
        """Light ``node`` in ``colour`` showing ``value`` (0–999999), steady or flashing."""
        self._check_node(node)
        digits = atop.digits_data(value)
        colour_code = atop.COLOUR_CODES[Colour(colour).value]
        frames = [self._frame(atop.CONFIG, node, bytes([atop.CONFIG_COLOUR, colour_code]))]
        if flash:
            frames += [
                self._frame(atop.FLASH_DISPLAY, node, digits),
                self._frame(atop.FLASH_LED, node),
            ]
        else:
            frames.append(self._frame(atop.DISPLAY, node, digits))
        self._forget_presses(node)
        await self._send(*frames)

    async def clear(self, node: int) -> None:
        """Turn ``node``'s display and lamp off."""
        self._check_node(node)
        self._forget_presses(node)
        await self._send(self._frame(atop.CLEAR, node))

    async def next_event(self) -> LightEvent:
        """The next event, in arrival order; waits until there is one."""
        while True:
            if self._events:
                return self._events.popleft()
            if self._lost is not None:
                raise ConnectionLost(self.name, self.address, self._lost)
            self._wakeup.clear()
            await self._wakeup.wait()

    def _forget_presses(self, node: int) -> None:
        self._last_press.pop((node, EventKind.CONFIRM), None)
        self._last_press.pop((node, EventKind.SHORTAGE), None)

    def _emit(self, kind: EventKind, node: int, value: int | None = None, detail: str = "") -> None:
        self._events.append(LightEvent(kind, node, value, detail, time.monotonic()))
        self._wakeup.set()

    def _went_offline(self, node: int, detail: str) -> None:
        if node not in self._offline:
            self._offline.add(node)
            log.warning("%s: module %d does not answer (%s)", self.name, node, detail)
            self._emit(EventKind.OFFLINE, node, detail=detail)

    def _came_online(self, node: int) -> None:
        if node in self._offline:
            self._offline.discard(node)
            log.info("%s: module %d answers again", self.name, node)
            self._emit(EventKind.ONLINE, node)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                chunk = await reader.read(READ_CHUNK)
                if not chunk:
                    self._mark_lost("the controller closed the connection")
                    return
                for item in self._decoder.feed(chunk):
                    if isinstance(item, atop.Malformed):
                        self.malformed_frames += 1
                        self.last_malformed = item.raw[:80]
                        log.warning(
                            "%s (%s): skipped %d bytes: %s: %s",
                            self.name,
                            self.address,
                            len(item.raw),
                            item.reason,
                            item.raw[:80].hex(" "),
                        )
                    else:
                        self._dispatch(item)
        except (OSError, ConnectionError) as err:
            self._mark_lost(f"read failed: {err}")

    def _dispatch(self, frame: atop.Frame) -> None:
        sub, node = frame.subcmd, frame.node
        if sub == atop.DEVICE_STATUS:
            self._status(atop.parse_status_bitmap(frame.data))
            return
        if node is None or node not in self.nodes:
            self.unknown_frames += 1
            log.info("%s: frame for a node not on this bus: %r", self.name, frame)
            return
        if sub in _FROM_MODULE:
            self._came_online(node)
        if sub in _PRESSES:
            self._press(_PRESSES[sub], node, atop.parse_digits(frame.data))
        elif sub == atop.DEVICE_TIMEOUT:
            self._went_offline(node, "timeout")
        elif sub in atop.FAULT_DETAILS:
            self._emit(EventKind.FAULT, node, detail=atop.FAULT_DETAILS[sub])
        elif sub != atop.RESET_OK:
            self.unknown_frames += 1
            log.info("%s: ignored return 0x%02X from node %d", self.name, sub, node)

    def _press(self, kind: EventKind, node: int, value: int | None) -> None:
        now = time.monotonic()
        last = self._last_press.get((node, kind))
        if last is not None and now - last < self.press_interval_s:
            self.duplicate_presses += 1
            log.info("%s: dropped a repeated %s press on node %d", self.name, kind, node)
            return
        self._last_press[(node, kind)] = now
        self._emit(kind, node, value)

    def _status(self, not_connected: frozenset[int]) -> None:
        self._poll_sent_at = None
        self.missed_polls = 0
        self._status_seen.set()
        for node in sorted(self.nodes):
            if node in not_connected:
                self._went_offline(node, "status")
            else:
                self._came_online(node)

    async def _poll_loop(self) -> None:
        while self._lost is None:
            await asyncio.sleep(self.poll_interval_s)
            sent = self._poll_sent_at
            if sent is not None and time.monotonic() - sent > self.timeout_s:
                self.missed_polls += 1
                if self.missed_polls >= MAX_MISSED_POLLS:
                    self._mark_lost(f"no device status answer to {self.missed_polls} polls")
                    return
            try:
                await self._send(
                    atop.encode_frame(atop.DEVICE_STATUS, None, msg_type=self.msg_type)
                )
            except ConnectionLost:
                return
            if sent is None or time.monotonic() - sent > self.timeout_s:
                self._poll_sent_at = time.monotonic()
