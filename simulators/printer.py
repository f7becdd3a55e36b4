"""A ZPL network label printer on raw TCP: it checks every label and records what it printed.

The host's byte stream is cut (whatever chunks it comes in) into label formats
``^XA … ^XZ`` and control commands ``~XX``; like a real printer, a control command is
acted on as soon as it arrives, even in the middle of a format, and ``~HS`` is answered
with three ``<STX>…<ETX><CR><LF>`` strings built from the fault flags (string 1 field 2
paper out, field 3 pause; string 2 field 3 head up: the Zebra ZPL II guide's layout).

Each format is checked by :func:`~simulators.zpl_check.check_label` (stricter than a
printer: see there) and lands in
:attr:`ZplPrinterSimulator.printed` or :attr:`ZplPrinterSimulator.rejected`.

What the fault flags model:

* ``paper_out`` / ``head_up``: a format received now is **lost** (kept in
  :attr:`ZplPrinterSimulator.lost_while_out`, never printed). A real Zebra keeps it in its
  buffer and prints it after the media is reloaded, unless the operator cancels the
  buffer or power-cycles the printer to clear the error, which is what usually happens
  on a line; the simulator models that worst case, so the host must not send while
  the status says the printer is not ready.
* ``paused``: formats are held in the buffer (``~HS`` string 1 field 5 counts them) and
  printed, in order, when the pause is lifted.
* ``silent_when_faulted``: no answer to ``~HS`` while the paper is out or the head is up
  (Zebra's guide says some firmware behaves so).
* ``status_reply``: answer ``~HS`` with these bytes instead (a garbled answer).
* :meth:`ZplPrinterSimulator.offline` stops listening and drops every connection;
  :meth:`ZplPrinterSimulator.online` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from simulators.zpl_check import (
    Field,
    PrintedLabel,
    RejectedLabel,
    StreamEvent,
    ZplStream,
    check_label,
)

log = logging.getLogger(__name__)

__all__ = [
    "Field",
    "PrintedLabel",
    "RejectedLabel",
    "StreamEvent",
    "ZplPrinterSimulator",
    "ZplStream",
    "check_label",
]


class ZplPrinterSimulator:
    """A label printer listening on TCP (port 0: a free one) for ZPL."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dpi: int = 203,
        width_mm: float = 100,
        height_mm: float = 150,
        silent_when_faulted: bool = False,
    ):
        self.host = host
        self._port = port
        self.dpi = dpi
        self.width_dots = round(width_mm / 25.4 * dpi)
        self.height_dots = round(height_mm / 25.4 * dpi)
        self.silent_when_faulted = silent_when_faulted
        self.status_reply: bytes | None = None
        self.paper_out = False
        self.head_up = False
        self._paused = False
        self.printed: list[PrintedLabel] = []
        self.rejected: list[RejectedLabel] = []
        self.lost_while_out: list[PrintedLabel] = []
        self.held: list[PrintedLabel] = []
        self.unknown_controls: list[str] = []
        self.status_queries = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._sessions: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        """The TCP port listened on (kept across :meth:`offline`/:meth:`online`)."""
        return self._port

    @property
    def url(self) -> str:
        """Where the driver connects."""
        return f"tcp://{self.host}:{self._port}"

    @property
    def paused(self) -> bool:
        """Paused: formats are held; un-pausing prints them in order."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = value
        if not value:
            self.printed.extend(self.held)
            self.held.clear()

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("label printer listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        await self.offline()

    async def offline(self) -> None:
        """Fault: the printer leaves the network (no listener, connections dropped)."""
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
        if server is not None:
            await server.wait_closed()

    async def online(self) -> None:
        """Back on the network, on the same port."""
        if self._server is None:
            await self.start()

    def host_status(self) -> bytes:
        """The three ``~HS`` strings for the current flags."""
        p, c, h = (int(v) for v in (self.paper_out, self._paused, self.head_up))
        s1 = f"030,{p},{c},{self.height_dots:04d},{len(self.held):03d},0,0,0,000,0,0,0"
        s2 = f"001,0,{h},0,0,2,6,0,00000000,1,000"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (s1, s2, "1234,0"))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        stream = ZplStream()
        try:
            while data := await reader.read(4096):
                self._handle(stream.feed(data), writer)
        except (ConnectionError, OSError) as err:
            log.info("label printer: client gone (%s)", err)
        finally:
            self._handle(stream.close(), writer)
            if session is not None:
                self._sessions.discard(session)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _handle(self, events: list[StreamEvent], writer: asyncio.StreamWriter) -> None:
        for event in events:
            if event.kind == "control":
                self._control(event.text, writer)
            elif event.kind == "garbage":
                self.rejected.append(RejectedLabel(event.text, [event.reason]))
            else:
                self._label(event.text)

    def _control(self, command: str, writer: asyncio.StreamWriter) -> None:
        if command != "HS":
            self.unknown_controls.append(command)
            return
        self.status_queries += 1
        if self.silent_when_faulted and (self.paper_out or self.head_up):
            return
        if not writer.is_closing():
            writer.write(self.status_reply if self.status_reply is not None else self.host_status())

    def _label(self, raw: str) -> None:
        result = check_label(raw, self.width_dots, self.height_dots)
        if isinstance(result, RejectedLabel):
            log.warning("label printer: rejected a label: %s", "; ".join(result.reasons))
            self.rejected.append(result)
        elif self.paper_out or self.head_up:
            self.lost_while_out.append(result)
        elif self._paused:
            self.held.append(result)
        else:
            self.printed.append(result)
