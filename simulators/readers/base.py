"""What every simulated TCP reader shares: the listener, sessions, late replies, outcomes.

A preset subclass says how its frames end (:attr:`TcpReaderServer.terminator`) and
answers each frame in :meth:`TcpReaderServer.handle_frame`. The parcel read is the one
the ``lookup`` callable says is in the scan field; its pre-drawn
:class:`~simulators.parcels.ReaderOutcome` is turned into symbols by :func:`outcome_of`,
and each preset writes them in its own protocol's terms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from plc_configs.readers import PRESETS, format_symbol
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome

log = logging.getLogger(__name__)

AIM_CODE128 = "]C0"
MAX_FRAME = 8192


@dataclass(frozen=True)
class Outcome:
    """What the reader makes of one parcel: symbols (AIM + data; empty = no read)."""

    symbols: list[str] = field(default_factory=list)
    late: bool = False
    garbled: bool = False
    multiple: bool = False
    """Two different labels were seen."""


def outcome_of(parcel: ParcelSpec | None, aim: str = AIM_CODE128) -> Outcome:
    """The symbols the reader reports for ``parcel`` (None: nothing in the field)."""
    if parcel is None or parcel.reader_outcome is ReaderOutcome.NO_READ:
        return Outcome()
    outcome = parcel.reader_outcome
    symbols = [format_symbol(parcel.barcode, aim)]
    if outcome is ReaderOutcome.GARBLED:
        return Outcome(symbols, garbled=True)
    if outcome is ReaderOutcome.MULTI_LABEL and parcel.second_label is not None:
        return Outcome([*symbols, format_symbol(parcel.second_label, aim)], multiple=True)
    if outcome is ReaderOutcome.DUPLICATE_READ:
        return Outcome(symbols * 2)
    return Outcome(symbols, late=outcome is ReaderOutcome.LATE_ANSWER)


def garbled_text(parcel: ParcelSpec | None) -> str:
    """A line no preset accepts (a DEL byte and reversed data)."""
    barcode = parcel.barcode if parcel is not None else ""
    return f"#~\x7f{barcode[::-1]}?!"


class TcpReaderServer:
    """One simulated reader listening on TCP; accepts any number of (re)connections.

    Fault hooks: :attr:`fault` (an error status/code the reader answers instead of
    reading, in the preset's terms), :meth:`disconnect_clients`.
    """

    preset = "cognex"
    terminator = b"\n"
    in_order = True
    """Replies leave in order (a late one holds back the next); Cognex ids allow any order."""

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
        defaults = PRESETS[self.preset]
        self.no_read = device.no_read or defaults.no_read
        self.separator = device.separator or defaults.separator
        self.fault: int | None = None
        self.server: asyncio.Server | None = None
        self.triggers = 0
        self.invalid_commands = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[asyncio.Task[object]] = set()
        self._last: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Start listening."""
        self.server = await asyncio.start_server(
            self._serve, self.host, self.requested_port, limit=MAX_FRAME
        )
        log.info("reader %s (%s) listening on %s:%d", self.name, self.preset, self.host, self.port)

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Where the driver connects."""
        return f"tcp://{self.host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        try:
            while True:
                try:
                    raw = await reader.readuntil(self.terminator)
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    log.warning("reader %s: frame too long, dropping connection", self.name)
                    break
                self.handle_frame(raw, writer)
        except (ConnectionError, OSError) as err:
            log.info("reader %s: client gone (%s)", self.name, err)
        finally:
            if session is not None:
                self._sessions.discard(session)
            self._writers.discard(writer)
            self._last.pop(writer, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer one frame from the host (terminator included)."""
        raise NotImplementedError

    def send(self, writer: asyncio.StreamWriter, data: bytes, delay_s: float = 0.0) -> None:
        """Write ``data`` now, or after ``delay_s`` (a late answer); with :attr:`in_order`,
        never before an earlier reply on the same connection."""
        previous = self._last.get(writer) if self.in_order else None
        if previous is not None and previous.done():
            previous = None
        if delay_s <= 0 and previous is None:
            if not writer.is_closing():
                writer.write(data)
            return
        task = asyncio.create_task(self._send_later(writer, data, delay_s, previous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.in_order:
            self._last[writer] = task

    async def _send_later(
        self,
        writer: asyncio.StreamWriter,
        data: bytes,
        delay_s: float,
        previous: asyncio.Task[None] | None,
    ) -> None:
        await asyncio.sleep(delay_s)
        if previous is not None:
            await asyncio.shield(previous)
        if not writer.is_closing():
            writer.write(data)

    def delay_of(self, outcome: Outcome) -> float:
        """Seconds to wait before answering (late answers only)."""
        return self.late_answer_ms / 1000 if outcome.late else 0.0

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
