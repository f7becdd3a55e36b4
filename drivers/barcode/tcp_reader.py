"""One fixed-mount barcode reader over TCP, any preset (cognex, sick, keyence, datalogic).

The preset (:mod:`drivers.barcode.protocols`, wire formats in :mod:`plc_configs.readers`)
says how to trigger and how to parse; this module keeps the connection and binds
results to triggers:

* **cognex, response extended** (``COM.DMCC-RESPONSE`` 1) carries a command id in every
  trigger and reply: several triggers may be in flight; a reply whose trigger gave up
  (timed out) is discarded (:attr:`TcpReader.stale_replies`).
* **cognex, response silent** (``COM.DMCC-RESPONSE`` 0, the DataMan's factory default),
  **sick, keyence, datalogic** have no id. Triggers run one at a time: a trigger called
  while another is running waits for it, within its own timeout (then
  ``DeviceTimeout``). The reader answers them in order, one result per trigger. A
  trigger that timed out leaves its result *owed*: the next result received pays that
  debt and is discarded, so a late reply is never bound to a later trigger. And no
  trigger is sent while a result is owed: the next trigger first waits, within its own
  timeout, for the late result (discarded) or for the debt to expire; so whatever
  arrives after a trigger was sent is that trigger's, even when the reader never
  answered the one that timed out. A debt expires ``late_window_s`` after its trigger
  gave up (default the longer of 2 s and 20 timeouts: longer than the reader's own
  longest read), so a reader that never answered does not block reads for longer. A
  result is bound only once the trigger's acknowledgements arrived (SICK: both gate
  acks; Keyence: ``OK,LON``): a result before them cannot be this trigger's. A garbled
  frame in a trigger's own result slot (acks done, nothing owed) counts as its
  (unreadable) result, so that trigger owes nothing when it times out; a garbled frame
  never pays an older debt (a late result would then be bound to the wrong parcel).
  When a read timed out, Keyence gets ``LOFF`` and a silent Cognex ``||>TRIGGER OFF``
  (the read ends rather than running into the next parcel).

Frames that follow no preset format are skipped and counted
(:attr:`TcpReader.garbled_lines`, :attr:`TcpReader.last_garbled`), with a hint when the
frame suggests a misconfiguration (a Cognex answering in the other response mode). A
no-read is an explicit result with no symbols; a reader's error status raises
``DeviceFault`` (a silent Cognex reports none: a refused trigger is a timeout).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field

from drivers.address import host_port
from drivers.barcode.base import ReadResult
from drivers.barcode.protocols import Kind, Message, ReaderProtocol, make_protocol
from drivers.errors import ConnectionLost, DeviceTimeout

log = logging.getLogger(__name__)

MAX_LINE = 8192


@dataclass
class _Cycle:
    """The trigger waiting for its result (readers without ids)."""

    future: asyncio.Future[Message]
    acks_left: list[str] = field(default_factory=list)
    garbled: bool = False
    """A garbled frame came in this trigger's result slot: if it times out, owe nothing."""


@dataclass
class _Owed:
    """A trigger that gave up: the reader still owes its acks and its result."""

    since: float
    acks_left: int


class TcpReader:
    """A reader at ``tcp://HOST:PORT`` speaking ``preset``; implements ``BarcodeReader``."""

    def __init__(
        self,
        name: str,
        url: str,
        preset: str = "cognex",
        timeout_s: float = 0.08,
        no_read: str | None = None,
        separator: str | None = None,
        multiple_read: str | None = None,
        *,
        protocol: ReaderProtocol | None = None,
        gate_s: float = 0.0,
        late_window_s: float | None = None,
        response: str = "silent",
    ):
        self._host, self._port = host_port(name, url, "tcp")
        self.name = name
        self.address = url
        self.timeout_s = timeout_s
        self.protocol = protocol or make_protocol(
            preset, no_read, separator, multiple_read, response=response
        )
        self.gate_s = gate_s
        self.late_window_s = max(2.0, 20 * timeout_s) if late_window_s is None else late_window_s
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._next_id = 0
        self._lock = asyncio.Lock()
        self._cycle: _Cycle | None = None
        self._owed: collections.deque[_Owed] = collections.deque()
        self._debt_paid = asyncio.Event()
        self.garbled_lines = 0
        self.last_garbled = ""
        self._last_hint = ""
        self.stale_replies = 0

    @property
    def no_read(self) -> str:
        """The no-read string in use."""
        return self.protocol.no_read

    @property
    def separator(self) -> str:
        """The separator between symbols in use."""
        return self.protocol.separator

    @property
    def connected(self) -> bool:
        """True while the TCP connection is up."""
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        """Open the TCP connection and start reading replies."""
        await self.close()
        try:
            async with asyncio.timeout(max(self.timeout_s, 2.0)):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, limit=MAX_LINE
                )
        except (OSError, TimeoutError) as err:
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        self._writer = writer
        self._clear_debts()
        self._reader_task = asyncio.create_task(
            self._read_replies(reader), name=f"{self.name}-replies"
        )

    async def close(self) -> None:
        """Close the connection, fail triggers in flight; safe to call twice."""
        writer, self._writer = self._writer, None
        task, self._reader_task = self._reader_task, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_pending("connection closed")

    def _fail_pending(self, why: str) -> None:
        futures = list(self._pending.values())
        self._pending = {}
        if self._cycle is not None:
            futures.append(self._cycle.future)
        self._clear_debts()
        for future in futures:
            if not future.done():
                future.set_exception(ConnectionLost(self.name, self.address, why))

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        why = "the reader closed the connection"
        end = self.protocol.terminator
        try:
            while True:
                try:
                    raw = await reader.readuntil(end)
                except asyncio.LimitOverrunError:
                    await reader.read(MAX_LINE)
                    self._garbled(f"<frame longer than {MAX_LINE} bytes>", frame=False)
                    continue
                self._dispatch(raw)
        except asyncio.IncompleteReadError as err:
            if err.partial.strip():
                self._garbled(err.partial.decode("latin-1"))
        except OSError as err:
            why = f"link lost: {err}"
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._fail_pending(why)

    def _garbled(self, line: str, frame: bool = True) -> None:
        self.garbled_lines += 1
        self.last_garbled = line[:80]
        hint = self.protocol.hint(line) if frame else ""
        self._last_hint = hint
        log.warning(
            "%s (%s): skipped a frame that is not a reply: %r%s",
            self.name,
            self.address,
            line[:80],
            f" ({hint})" if hint else "",
        )

    def _stale(self, message: Message) -> None:
        self.stale_replies += 1
        log.info("%s: discarded a late reply %r", self.name, message.raw[:80])

    def _dispatch(self, raw: bytes) -> None:
        message = self.protocol.parse(raw)
        if message is None:
            if raw.strip(b"\r\n"):
                self._garbled(raw.decode("latin-1"))
                cycle = self._cycle
                if cycle is not None and not cycle.acks_left and not self._owed:
                    cycle.garbled = True
            return
        if self.protocol.has_ids:
            future = self._pending.pop(message.cmd_id or 0, None)
            if future is None or future.done():
                self._stale(message)
            else:
                future.set_result(message)
            return
        self._bind_in_order(message)

    def _clear_debts(self) -> None:
        self._owed.clear()
        self._debt_paid.set()

    def _expire_debts(self) -> None:
        now = time.monotonic()
        while self._owed and now - self._owed[0].since > self.late_window_s:
            owed = self._owed.popleft()
            log.warning(
                "%s (%s): no late reply %.1f s after a trigger timed out; no longer owed",
                self.name,
                self.address,
                now - owed.since,
            )
        if not self._owed:
            self._debt_paid.set()

    def _bind_in_order(self, message: Message) -> None:
        self._expire_debts()
        cycle = self._cycle
        if message.kind is Kind.ACK:
            if message.command not in self.protocol.acks:
                return  # e.g. Keyence OK,LOFF
            owed = next((o for o in self._owed if o.acks_left > 0), None)
            if owed is not None:
                owed.acks_left -= 1
            elif cycle is not None and cycle.acks_left and cycle.acks_left[0] == message.command:
                cycle.acks_left.pop(0)
            return
        if self._owed:
            self._owed.popleft()
            self._debt_paid.set()
            self._stale(message)
        elif cycle is None or cycle.future.done():
            self._stale(message)
        elif message.kind is Kind.RESULT and cycle.acks_left:
            self._stale(message)  # before this trigger's acks: an earlier trigger's result
        else:
            cycle.future.set_result(message)

    def _result(self, message: Message) -> ReadResult:
        if message.error is not None:
            kind, text = message.error
            raise kind(self.name, self.address, text)
        return ReadResult(symbols=message.symbols, raw=message.raw, multiple=message.multiple)

    async def trigger(self) -> ReadResult:
        """Trigger one read; raise DeviceTimeout if no result arrives in time."""
        if not self.connected or self._writer is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        if self.protocol.has_ids:
            return await self._trigger_with_id(self._writer)
        return await self._trigger_in_order()

    def _timeout(self, what: str, garbled_before: int | None = None) -> DeviceTimeout:
        text = f"no reply to {what} in {self.timeout_s * 1000:.0f} ms"
        if garbled_before is not None and self.garbled_lines > garbled_before:
            hint = self._last_hint
            text += (
                f"; skipped {self.garbled_lines - garbled_before} frame(s) that are not "
                f"replies, the last {self.last_garbled!r}" + (f": {hint}" if hint else "")
            )
        return DeviceTimeout(self.name, self.address, text)

    async def _trigger_with_id(self, writer: asyncio.StreamWriter) -> ReadResult:
        self._next_id = self._next_id % 65535 + 1
        cmd_id = self._next_id
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[cmd_id] = future
        garbled_before = self.garbled_lines
        try:
            for frame in self.protocol.trigger_frames(cmd_id):
                writer.write(frame)
            async with asyncio.timeout(self.timeout_s):
                message = await future
        except TimeoutError as err:
            raise self._timeout(f"trigger {cmd_id}", garbled_before) from err
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"link lost: {err}") from err
        finally:
            self._pending.pop(cmd_id, None)
        return self._result(message)

    async def _trigger_in_order(self) -> ReadResult:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._lock.acquire()
        except TimeoutError as err:
            raise self._timeout("the trigger (an earlier one still running)") from err
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._settle()
            except TimeoutError as err:
                raise DeviceTimeout(
                    self.name,
                    self.address,
                    "not triggered: the reply to an earlier trigger that timed out is still "
                    f"owed (waited {self.timeout_s * 1000:.0f} ms; it is no longer owed "
                    f"{self.late_window_s:.1f} s after that trigger)",
                ) from err
            return await self._cycle_in_order(deadline)
        finally:
            self._lock.release()

    async def _settle(self) -> None:
        """Wait until the reader owes no result: a late one came (discarded) or expired."""
        while True:
            self._expire_debts()
            if not self._owed:
                return
            self._debt_paid.clear()
            left = self._owed[0].since + self.late_window_s - time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(left, 0.0) + 0.001):
                    await self._debt_paid.wait()

    async def _cycle_in_order(self, deadline: float) -> ReadResult:
        """Send one trigger (nothing owed, lock held) and wait for its result."""
        cycle = _Cycle(asyncio.get_running_loop().create_future(), list(self.protocol.acks))
        self._cycle = cycle
        garbled_before = self.garbled_lines
        try:
            async with asyncio.timeout_at(deadline):
                for i, frame in enumerate(self.protocol.trigger_frames(0)):
                    if i and self.gate_s:
                        await asyncio.sleep(self.gate_s)
                    if self._writer is None:
                        raise ConnectionLost(self.name, self.address, "link lost")
                    self._writer.write(frame)
                message = await cycle.future
        except TimeoutError as err:
            self._gave_up(cycle)
            raise self._timeout("the trigger", garbled_before) from err
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"link lost: {err}") from err
        finally:
            self._cycle = None
        return self._result(message)

    def _gave_up(self, cycle: _Cycle) -> None:
        if not self.connected or self._writer is None:
            return
        if not cycle.garbled:
            self._owed.append(_Owed(time.monotonic(), len(cycle.acks_left)))
        stop = self.protocol.stop_frame()
        if stop is not None:
            self._writer.write(stop)
