"""Banner PICK-IQ lights (K50/K30/PTL110) over Modbus RTU: one client, one device id a light.

The link is a serial port (``/dev/ttyUSB0?baud=19200``; without ``baud`` the PICK-IQ
default 19200 is used) or an RTU-over-TCP gateway (``socket://HOST:PORT``;
``tcp://HOST:PORT`` means the same here). Requests are serialised on the bus, as RS-485
needs. Register addresses and codes come from :mod:`plc_configs.banner` (what is
documented and what is assumed is said there).

* :meth:`show` writes the value (two registers; a light without a display refuses
  them once and is not asked again) and then the display state block (animation,
  colour, pattern); :meth:`clear` writes animation off.
* A poll task reads each light's output bits (input register 0) every
  ``poll_interval_s``; a rising primary bit is a ``confirm``, a rising secondary bit a
  ``shortage`` (only if the light is set up with a secondary output: register 6000 or
  6002 = 2; a K50 has one sensor, so no shortage), each with the value last shown.
* A light that does not answer within ``timeout_s`` is ``offline`` (event, and in
  :meth:`offline_nodes`); it is asked again every ``offline_retry_s`` and, when it
  answers, is ``online`` again and gets its last display back.
* A reply with a bad CRC (or any bytes that do not make a frame) is asked again once;
  every such reply counts in :attr:`crc_errors`, two in a row are no answer. pymodbus
  drops a bad frame and keeps waiting, so a garbled reply costs one ``timeout_s``.
* An exception reply is a ``fault`` event (detail ``modbus exception N``), once until
  the light answers normally again.
* The link down (cannot connect, gateway gone) is :class:`ConnectionLost` from every
  call and from :meth:`next_event`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from drivers.cancelling import raise_if_cancelling
from drivers.errors import ConnectionLost, DriverError, ProtocolError
from drivers.ptl.base import Colour, EventKind, LightEvent
from drivers.transport.url import parse_link_url
from plc_configs.banner import (
    DEFAULT_MAP,
    DEVICE_IDS,
    MAX_VALUE,
    BannerRegisterMap,
    Lamp,
    decode_inputs,
    encode_lamp,
    encode_value,
)

log = logging.getLogger(__name__)

ILLEGAL_ADDRESS = 2
_NO_ANSWER = None


def serial_url(name: str, url: str) -> tuple[str, dict[str, Any]]:
    """pyserial URL and line settings for ``url`` (``ValueError`` naming what is wrong)."""
    try:
        target = parse_link_url(url)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    if target.kind == "tcp":
        return f"socket://{target.host}:{target.port}", {}
    baud = target.baudrate if "baud=" in url else 19200
    settings = {
        "baudrate": baud,
        "parity": target.parity,
        "bytesize": target.bytesize,
        "stopbits": target.stopbits,
    }
    return target.url, settings


class BannerPickToLight:
    """PICK-IQ lights on one Modbus RTU line; implements ``PickToLight``."""

    def __init__(
        self,
        name: str,
        url: str,
        nodes: list[int],
        *,
        timeout_s: float = 0.3,
        poll_interval_s: float = 0.1,
        offline_retry_s: float = 1.0,
        register_map: BannerRegisterMap = DEFAULT_MAP,
    ):
        bad = [n for n in nodes if n not in DEVICE_IDS]
        if bad or not nodes:
            raise ValueError(f"{name}: device ids must be 1..247, got {bad or 'none'}")
        self._port, self._settings = serial_url(name, url)
        self.name = name
        self.address = url
        self.nodes = sorted(set(nodes))
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.offline_retry_s = offline_retry_s
        self.map = register_map
        self.crc_errors = 0
        """Replies that arrived garbled (bad CRC, no frame)."""
        self._client: AsyncModbusSerialClient | None = None
        self._bus = asyncio.Lock()
        self._rx_seen = False
        self._events: asyncio.Queue[LightEvent | DriverError] = asyncio.Queue()
        self._offline: set[int] = set()
        self._retry_at: dict[int, float] = {}
        self._faulted: set[int] = set()
        self._no_display: set[int] = set()
        self._inputs: dict[int, tuple[bool, bool]] = {}
        self._shown: dict[int, tuple[int | None, Lamp]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._lost: DriverError | None = None

    # -- link ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the line, read every light once (offline ones say so), start polling."""
        await self.close()
        self._lost = None
        self._events = asyncio.Queue()
        self._offline.clear()
        self._inputs.clear()
        client = AsyncModbusSerialClient(
            self._port,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
            name=self.name,
            trace_packet=self._trace,
            **self._settings,
        )
        try:
            ok = await client.connect()
        except (OSError, ModbusException) as err:
            client.close()
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        if not ok:
            client.close()
            raise ConnectionLost(self.name, self.address, "cannot connect (refused or no port)")
        self._client = client
        try:
            for node in self.nodes:
                await self._poll_node(node)
        except DriverError:
            await self.close()
            raise
        self._poller = asyncio.create_task(self._poll_loop(), name=f"{self.name} poll")

    async def close(self) -> None:
        """Stop polling and close the line; waiting :meth:`next_event` calls raise."""
        poller, self._poller = self._poller, None
        while poller is not None and not poller.done():
            # pymodbus awaits each reply with wait_for: on Python 3.11 a cancel that lands
            # with the reply is swallowed, so cancel again until the poller has stopped
            poller.cancel()
            await asyncio.wait({poller}, timeout=0.5)
        if poller is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        client, self._client = self._client, None
        if client is not None:
            client.close()
            self._fail(ConnectionLost(self.name, self.address, "closed"))

    def _fail(self, err: DriverError) -> None:
        if self._lost is None:
            self._lost = err
            self._events.put_nowait(err)

    # -- PickToLight -----------------------------------------------------------------

    async def show(self, node: int, value: int, colour: Colour, *, flash: bool = False) -> None:
        """Light ``node`` in ``colour`` (flashing or steady) showing ``value``."""
        self._check_node(node)
        if not 0 <= value <= MAX_VALUE:
            raise ValueError(f"value {value} outside 0..{MAX_VALUE}")
        lamp = Lamp(str(colour), flash and colour != Colour.OFF)
        self._shown[node] = (value, lamp)
        await self._write_display(node, value, lamp)

    async def clear(self, node: int) -> None:
        """Turn ``node`` dark."""
        self._check_node(node)
        self._shown[node] = (None, Lamp("off"))
        await self._write_display(node, None, Lamp("off"))

    async def next_event(self) -> LightEvent:
        """The next event; ``ConnectionLost`` once the line is down or closed."""
        item = await self._events.get()
        if isinstance(item, DriverError):
            self._events.put_nowait(item)  # every later call raises too
            raise item
        return item

    def offline_nodes(self) -> frozenset[int]:
        """Lights that did not answer their last request."""
        return frozenset(self._offline)

    def _check_node(self, node: int) -> None:
        if self._lost is not None:
            raise self._lost
        if node not in self.nodes:
            raise ValueError(f"{self.name}: node {node} is not on this line {self.nodes}")

    # -- writes ----------------------------------------------------------------------

    async def _write_display(self, node: int, value: int | None, lamp: Lamp) -> None:
        if node in self._offline:
            return  # dropped; resent when the light answers again
        register = self.map.value_register
        if value is not None and register is not None and node not in self._no_display:
            rr = await self._request(node, "write_registers", register, encode_value(value))
            if rr is _NO_ANSWER:
                return
            if rr.isError() and rr.exception_code == ILLEGAL_ADDRESS:
                log.info("%s: light %d has no display; value not sent", self.name, node)
                self._no_display.add(node)
            elif rr.isError():
                self._fault(node, rr)
                return
        rr = await self._request(
            node, "write_registers", self.map.display_block, encode_lamp(lamp, self.map)
        )
        if rr is not _NO_ANSWER and rr.isError():
            self._fault(node, rr)

    # -- polling ---------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.poll_interval_s)
                now = time.monotonic()
                for node in self.nodes:
                    if node in self._offline and now < self._retry_at.get(node, 0.0):
                        continue
                    await self._poll_node(node)
                    raise_if_cancelling()
        except DriverError as err:
            log.warning("%s: %s", self.name, err)
            self._fail(err)

    async def _poll_node(self, node: int) -> None:
        rr = await self._request(node, "read_input_registers", self.map.input_status, count=1)
        if rr is _NO_ANSWER:
            return
        if rr.isError():
            self._fault(node, rr)
            return
        if not rr.registers:
            raise ProtocolError(self.name, self.address, f"light {node}: empty input reply")
        self._faulted.discard(node)
        primary, secondary = decode_inputs(rr.registers[0], self.map)
        if node in self._offline:  # edges count against the state known before
            self._offline.discard(node)
            self._emit(EventKind.ONLINE, node)
            if node in self._shown:
                value, lamp = self._shown[node]
                await self._write_display(node, value, lamp)
        was_primary, was_secondary = self._inputs.get(node, (primary, secondary))
        self._inputs[node] = (primary, secondary)
        shown = self._shown.get(node, (None, Lamp("off")))[0]
        if primary and not was_primary:
            self._emit(EventKind.CONFIRM, node, value=shown if shown is not None else 0)
        if secondary and not was_secondary:
            self._emit(EventKind.SHORTAGE, node, value=shown if shown is not None else 0)

    # -- one request on the bus ------------------------------------------------------

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending and data:
            self._rx_seen = True
        return data

    async def _request(self, node: int, method: str, *args: Any, **kwargs: Any) -> ModbusPDU | None:
        """One request to ``node``: its reply, or None (no answer; the light is offline).

        A garbled reply is asked again once. ``ConnectionLost`` when the line is down.
        """
        async with self._bus:
            for attempt in (1, 2):
                client = self._client
                if client is None or self._lost is not None:
                    raise self._lost or ConnectionLost(self.name, self.address, "not connected")
                call: Callable[..., Awaitable[ModbusPDU]] = getattr(client, method)
                self._rx_seen = False
                try:
                    return await call(*args, device_id=node, **kwargs)
                except (ModbusIOException, TimeoutError) as err:
                    if not client.connected:
                        raise self._link_lost(err) from err
                    if not self._rx_seen:
                        break
                    self.crc_errors += 1
                    log.debug("%s: garbled reply from light %d (try %d)", self.name, node, attempt)
                except (ConnectionException, OSError) as err:
                    raise self._link_lost(err) from err
                except ModbusException as err:
                    raise ProtocolError(
                        self.name, self.address, f"light {node}: {method}: {err}"
                    ) from err
        self._went_offline(node)
        return _NO_ANSWER

    def _link_lost(self, err: Exception) -> ConnectionLost:
        lost = ConnectionLost(self.name, self.address, f"link lost: {err}")
        self._fail(lost)
        return lost

    def _went_offline(self, node: int) -> None:
        self._retry_at[node] = time.monotonic() + self.offline_retry_s
        if node not in self._offline:
            self._offline.add(node)
            self._emit(EventKind.OFFLINE, node, detail="timeout")

    def _fault(self, node: int, rr: ModbusPDU) -> None:
        if node not in self._faulted:
            self._faulted.add(node)
            code = getattr(rr, "exception_code", 0)
            self._emit(EventKind.FAULT, node, detail=f"modbus exception {code}")

    def _emit(
        self, kind: EventKind, node: int, *, value: int | None = None, detail: str = ""
    ) -> None:
        self._events.put_nowait(LightEvent(kind, node, value, detail, time.monotonic()))
