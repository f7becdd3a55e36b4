"""Fixed-mount barcode reader over TCP, Cognex DataMan DMCC style (line framed, CR LF).

Trigger: ``||:<id>>TRIGGER ON``. Reply, one line per trigger:
``||:<id>[<status>]<payload>`` where status 0 is success and the payload is the
symbols separated by the configured separator, each optionally prefixed by its
AIM symbology identifier (``]C0…``), or the configured no-read string.

Each trigger carries its own command id, so a late reply to an earlier trigger
is recognised and discarded instead of being bound to the wrong parcel. Lines
that are not replies are skipped and counted (:attr:`CognexTcpReader.garbled_lines`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from drivers.address import host_port
from drivers.barcode.base import BarcodeRead, ReadResult
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError

log = logging.getLogger(__name__)

_REPLY = re.compile(r"^\|\|\d*:(\d{1,5})\[(\d{1,3})\](.*)$")
_STATUS = {
    100: "general error",
    101: "invalid command",
    102: "invalid parameter",
    103: "bad checksum",
    104: "refused in this state (busy)",
}
MAX_LINE = 8192


def parse_symbols(payload: str, no_read: str, separator: str) -> tuple[BarcodeRead, ...]:
    """Split a reply payload into symbols; the no-read string gives no symbols."""
    if payload == no_read or payload == "":
        return ()
    symbols = []
    for part in payload.split(separator):
        if len(part) >= 3 and part[0] == "]":
            symbols.append(BarcodeRead(data=part[3:], symbology=part[:3]))
        else:
            symbols.append(BarcodeRead(data=part))
    return tuple(symbols)


class CognexTcpReader:
    """A reader at ``tcp://HOST:PORT``; several triggers may be in flight at once."""

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.08,
        no_read: str = "NOREAD",
        separator: str = ",",
    ):
        self._host, self._port = host_port(name, url, "tcp")
        self.name = name
        self.address = url
        self.timeout_s = timeout_s
        self.no_read = no_read
        self.separator = separator
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, str, str]]] = {}
        self._next_id = 0
        self.garbled_lines = 0
        self.last_garbled = ""
        self.stale_replies = 0

    @property
    def connected(self) -> bool:
        """True while the TCP connection is up."""
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        """Open the TCP connection and start reading replies."""
        await self.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, limit=MAX_LINE),
                timeout=max(self.timeout_s, 2.0),
            )
        except (OSError, TimeoutError) as err:
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        self._writer = writer
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
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(self.name, self.address, why))

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        why = "the reader closed the connection"
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    await reader.read(MAX_LINE)
                    self._garbled(f"<line longer than {MAX_LINE} bytes>")
                    continue
                self._dispatch(raw.rstrip(b"\r\n").decode("latin-1"))
        except asyncio.IncompleteReadError:
            pass
        except OSError as err:
            why = f"link lost: {err}"
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._fail_pending(why)

    def _garbled(self, line: str) -> None:
        self.garbled_lines += 1
        self.last_garbled = line[:80]
        log.warning(
            "%s (%s): skipped a line that is not a reply: %r", self.name, self.address, line[:80]
        )

    def _dispatch(self, line: str) -> None:
        match = _REPLY.match(line)
        if match is None:
            self._garbled(line)
            return
        cmd_id, status = int(match.group(1)), int(match.group(2))
        future = self._pending.pop(cmd_id, None)
        if future is None or future.done():
            self.stale_replies += 1
            log.info("%s: discarded a late reply to trigger %d", self.name, cmd_id)
            return
        future.set_result((status, match.group(3), line))

    async def trigger(self) -> ReadResult:
        """Trigger one read; raise DeviceTimeout if no reply arrives in time."""
        if not self.connected or self._writer is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        self._next_id = self._next_id % 65535 + 1
        cmd_id = self._next_id
        future: asyncio.Future[tuple[int, str, str]] = asyncio.get_running_loop().create_future()
        self._pending[cmd_id] = future
        try:
            self._writer.write(f"||:{cmd_id}>TRIGGER ON\r\n".encode("ascii"))
            status, payload, raw = await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError as err:
            raise DeviceTimeout(
                self.name,
                self.address,
                f"no reply to trigger {cmd_id} in {self.timeout_s * 1000:.0f} ms",
            ) from err
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"link lost: {err}") from err
        finally:
            self._pending.pop(cmd_id, None)
        if status != 0:
            raise DeviceFault(
                self.name,
                self.address,
                f"trigger {cmd_id} answered status {status} ({_STATUS.get(status, 'unknown')})",
            )
        symbols = parse_symbols(payload, self.no_read, self.separator)
        if any(not s.data for s in symbols):
            raise ProtocolError(self.name, self.address, f"empty symbol in reply {raw!r}")
        return ReadResult(symbols=symbols, raw=raw)
