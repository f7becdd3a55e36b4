"""A fixed-mount barcode reader over TCP, Cognex DataMan DMCC style (line framed, CR LF).

Host -> reader: ``||:<id>>TRIGGER ON`` (``id`` decimal, 1..65535; an optional checksum
field before the colon is accepted and not checked). Any other line with a parsable id
gets ``||:<id>[101]`` (invalid command); a line without one is ignored.

Reader -> host, one line per trigger: ``||:<id>[0]<payload>``; the payload is the read
symbols (AIM id + data, ``]C0LS0000012345``) joined by the device's separator, or the
device's no-read string. The parcel read is the one whose front passed the scan eye most
recently, if its rear is still in the scan field (the ``lookup`` callable answers that);
its pre-drawn outcome then applies (no read, multi label, duplicate read, late answer,
garbled line).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome

log = logging.getLogger(__name__)

AIM_CODE128 = "]C0"
_COMMAND = re.compile(r"^\|\|[^:>]*:(\d{1,10})>(.*)$")


@dataclass(frozen=True)
class Reply:
    """A line to send (without CR LF) and how long to wait before sending it."""

    line: str
    delay_s: float = 0.0


def parse_command(line: str) -> tuple[int, str] | None:
    """(id, command) of a DMCC command line, or None when no id can be parsed."""
    match = _COMMAND.match(line.strip())
    if match is None:
        return None
    return int(match.group(1)), match.group(2).strip()


def trigger_reply(
    command_id: int, parcel: ParcelSpec | None, device: BarcodeReaderDevice, late_answer_ms: float
) -> Reply:
    """The reader's answer to one trigger, given the parcel in the field (or none)."""
    head = f"||:{command_id}[0]"
    if parcel is None or parcel.reader_outcome is ReaderOutcome.NO_READ:
        return Reply(head + (device.no_read or "NOREAD"))
    outcome = parcel.reader_outcome
    if outcome is ReaderOutcome.GARBLED:
        return Reply(f"#~{command_id}\x7f{parcel.barcode[::-1]}?!")
    symbols = [parcel.barcode]
    if outcome is ReaderOutcome.MULTI_LABEL and parcel.second_label is not None:
        symbols.append(parcel.second_label)
    elif outcome is ReaderOutcome.DUPLICATE_READ:
        symbols.append(parcel.barcode)
    payload = (device.separator or ",").join(AIM_CODE128 + s for s in symbols)
    delay = late_answer_ms / 1000 if outcome is ReaderOutcome.LATE_ANSWER else 0.0
    return Reply(head + payload, delay)


class ReaderSimulator:
    """One simulated reader listening on TCP; accepts any number of (re)connections."""

    def __init__(
        self,
        name: str,
        device: BarcodeReaderDevice,
        lookup: Callable[[], ParcelSpec | None],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        late_answer_ms: float = 300.0,
    ):
        self.name = name
        self.device = device
        self.lookup = lookup
        self.host = host
        self.requested_port = port
        self.late_answer_ms = late_answer_ms
        self.server: asyncio.Server | None = None
        self.triggers = 0
        self.invalid_commands = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        """Start listening."""
        self.server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        log.info("reader %s listening on %s:%d", self.name, self.host, self.port)

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    log.warning("reader %s: line too long, dropping connection", self.name)
                    break
                self._handle_line(raw.decode("ascii", "replace"), writer)
        except (ConnectionError, OSError) as err:
            log.info("reader %s: client gone (%s)", self.name, err)
        finally:
            if session is not None:
                self._sessions.discard(session)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _handle_line(self, line: str, writer: asyncio.StreamWriter) -> None:
        parsed = parse_command(line)
        if parsed is None:
            log.debug("reader %s: ignored line %r", self.name, line)
            return
        command_id, command = parsed
        if command.upper() != "TRIGGER ON" or not 1 <= command_id <= 0xFFFF:
            self.invalid_commands += 1
            self._send(writer, f"||:{command_id}[101]")
            return
        self.triggers += 1
        spec = self.lookup()
        reply = trigger_reply(command_id, spec, self.device, self.late_answer_ms)
        if reply.delay_s > 0:
            task = asyncio.create_task(self._send_later(writer, reply))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._send(writer, reply.line)

    async def _send_later(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        await asyncio.sleep(reply.delay_s)
        self._send(writer, reply.line)

    def _send(self, writer: asyncio.StreamWriter, line: str) -> None:
        if writer.is_closing():
            return
        writer.write(line.encode("ascii", "replace") + b"\r\n")

    def disconnect_clients(self) -> int:
        """Fault injection: drop every connected client; return how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.close()
        return len(writers)

    async def stop(self) -> None:
        """Stop listening, drop clients and cancel late replies."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.disconnect_clients()
        sessions = list(self._sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=1.0)
            for task in pending:
                task.cancel()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
