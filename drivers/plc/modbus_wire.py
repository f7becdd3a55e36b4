"""A lean Modbus TCP client for the two requests the sorter PLC's handshake uses.

Read holding registers (function 3) and write multiple registers (function 16), framed
as Modbus TCP (MBAP header: transaction id, protocol 0, length, unit id). The PLC link
reads the whole PLC area up to 2,000 times a second; pymodbus's client spends about
110 µs of CPU on one such read (a task per request, register-by-register decoding,
per-frame logging checks), this one about 20 µs, which is most of a line's cost at rest.
Everything else (connection supervision, error mapping) stays in the driver.
"""

from __future__ import annotations

import asyncio
import struct

_HEADER = struct.Struct(">HHHB")
"""MBAP: transaction id, protocol id (0), length of what follows, unit id."""
_READ = struct.Struct(">HHHBBHH")
"""A read request: MBAP, function 3, start address, register count."""
_WRITE_HEAD = struct.Struct(">HHHBBHHB")
"""A write request up to its values: MBAP, function 16, address, count, byte count."""

READ_HOLDING_REGISTERS = 3
WRITE_MULTIPLE_REGISTERS = 16


class ModbusExceptionResponse(Exception):
    """The server answered with a Modbus exception (function code | 0x80)."""

    def __init__(self, function: int, code: int):
        super().__init__(f"function {function}: exception code {code}")
        self.function = function
        self.code = code


class MalformedResponse(Exception):
    """A response that does not fit the request it answers or the Modbus TCP framing."""


class ModbusWire(asyncio.Protocol):
    """One Modbus TCP connection; requests may overlap (matched by transaction id)."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: dict[int, tuple[asyncio.Future, int, int]] = {}
        self._tid = 0
        self._lost: Exception | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    async def connect(cls, host: str, port: int, timeout_s: float) -> ModbusWire:
        """Open a connection (raises OSError or TimeoutError)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self._transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self._loop = asyncio.get_running_loop()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self._transport = None
        self._lost = ConnectionResetError(f"connection closed{f': {exc}' if exc else ''}")
        pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            if not future.done():
                future.set_exception(self._lost)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        buf = self._buffer
        buf += data
        while len(buf) >= 8:
            tid, protocol, length, _unit = _HEADER.unpack_from(buf)
            if protocol != 0 or not 2 <= length <= 254:
                self._fail_all(MalformedResponse(f"bad MBAP header {bytes(buf[:7]).hex()}"))
                return
            end = 6 + length
            if len(buf) < end:
                return
            pdu = bytes(buf[7:end])
            del buf[:end]
            entry = self._pending.pop(tid, None)
            if entry is None or entry[0].done():
                continue  # an answer to a request that timed out
            future, function, count = entry
            try:
                future.set_result(_decode(pdu, function, count))
            except (ModbusExceptionResponse, MalformedResponse) as err:
                future.set_exception(err)

    def _fail_all(self, err: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            if not future.done():
                future.set_exception(err)
        if self._transport is not None:
            self._transport.close()

    # -- requests ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the TCP connection is up."""
        return self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        """Close the connection (pending requests fail)."""
        if self._transport is not None:
            self._transport.close()

    async def read_holding_registers(
        self, address: int, count: int, unit: int, timeout_s: float
    ) -> list[int]:
        """Registers ``address .. address + count - 1`` (raises on error or timeout)."""
        tid = self._next_tid()
        frame = _READ.pack(tid, 0, 6, unit, READ_HOLDING_REGISTERS, address, count)
        return await self._request(tid, frame, READ_HOLDING_REGISTERS, count, timeout_s)

    async def write_registers(
        self, address: int, values: list[int], unit: int, timeout_s: float
    ) -> None:
        """Write ``values`` from ``address`` on (raises on error or timeout)."""
        tid = self._next_tid()
        n = len(values)
        head = _WRITE_HEAD.pack(
            tid, 0, 7 + 2 * n, unit, WRITE_MULTIPLE_REGISTERS, address, n, 2 * n
        )
        frame = head + struct.pack(f">{n}H", *values)
        await self._request(tid, frame, WRITE_MULTIPLE_REGISTERS, n, timeout_s)

    def _next_tid(self) -> int:
        self._tid = self._tid % 0xFFFF + 1
        return self._tid

    async def _request(
        self, tid: int, frame: bytes, function: int, count: int, timeout_s: float
    ) -> list[int]:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise self._lost or ConnectionResetError("not connected")
        loop = self._loop
        assert loop is not None  # set with the transport
        future: asyncio.Future[list[int]] = loop.create_future()
        self._pending[tid] = (future, function, count)
        timer = loop.call_later(timeout_s, _expire, future)
        transport.write(frame)
        try:
            return await future
        finally:
            timer.cancel()
            self._pending.pop(tid, None)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError("no response"))


def _decode(pdu: bytes, function: int, count: int) -> list[int]:
    """The registers of a read response, or [] for a write response."""
    if pdu[0] == function | 0x80:
        raise ModbusExceptionResponse(function, pdu[1] if len(pdu) > 1 else 0)
    if pdu[0] != function:
        raise MalformedResponse(f"response to function {function} has function {pdu[0]}")
    if function == READ_HOLDING_REGISTERS:
        size = pdu[1] if len(pdu) > 1 else -1
        if size != 2 * count or len(pdu) != 2 + size:
            raise MalformedResponse(
                f"asked for {count} registers, got {max(size, 0) // 2} ({len(pdu)} bytes of PDU)"
            )
        return list(struct.unpack_from(f">{count}H", pdu, 2))
    if len(pdu) != 5:
        raise MalformedResponse(f"write response of {len(pdu)} bytes, expected 5")
    return []
