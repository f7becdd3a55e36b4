"""A Cognex DataMan in push mode: it connects to the controller's listener and pushes reads.

One line per parcel, the payload alone (``]C0LS0000012345``, the no-read string, two
symbols for a multi-label or duplicate read, a garbled line, or a late line), sent when
the parcel's front reaches the scan point: :meth:`CognexPushSimulator.on_twin_event`
listens to the twin's ``SCANNED`` events (or call :meth:`push` directly). The simulator
reconnects every ``retry_s`` while the controller is not listening; a read while no
connection is up is lost (counted in :attr:`lost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from plc_configs.readers import PRESETS
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec
from simulators.readers.base import garbled_text, outcome_of
from simulators.twin import Event, EventKind

log = logging.getLogger(__name__)


class CognexPushSimulator:
    """A pushing reader that connects to ``tcp://host:port``."""

    def __init__(
        self,
        name: str,
        device: BarcodeReaderDevice,
        *,
        host: str,
        port: int,
        late_answer_ms: float = 300.0,
        retry_s: float = 0.05,
    ):
        self.name = name
        self.device = device
        self.host = host
        self.port = port
        self.late_answer_ms = late_answer_ms
        self.retry_s = retry_s
        self.no_read = device.no_read or PRESETS["cognex"].no_read
        self.separator = device.separator or PRESETS["cognex"].separator
        self.triggers = 0
        self.invalid_commands = 0
        self.lost = 0
        self.connections = 0
        self.connected = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._late: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """Where the controller listens (and this simulator connects)."""
        return f"tcp://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start connecting (in the background, retrying)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-push")

    async def _run(self) -> None:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, self.port)
            except OSError:
                await asyncio.sleep(self.retry_s)
                continue
            self._writer = writer
            self.connections += 1
            self.connected.set()
            try:
                while await reader.read(4096):
                    pass  # a pushing reader ignores what the host sends
            except OSError:
                pass
            finally:
                self.connected.clear()
                self._writer = None
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            await asyncio.sleep(self.retry_s)

    def line_for(self, parcel: ParcelSpec | None) -> tuple[str, float]:
        """The pushed line (without CR LF) and its delay."""
        outcome = outcome_of(parcel)
        if outcome.garbled:
            return garbled_text(parcel), 0.0
        if not outcome.symbols:
            return self.no_read, 0.0
        delay = self.late_answer_ms / 1000 if outcome.late else 0.0
        return self.separator.join(outcome.symbols), delay

    def push(self, parcel: ParcelSpec | None) -> None:
        """Push the read of ``parcel`` now (or late, for a late answer)."""
        self.triggers += 1
        line, delay = self.line_for(parcel)
        data = line.encode("latin-1") + b"\r\n"
        if delay > 0:
            task = asyncio.get_running_loop().create_task(self._send_later(data, delay))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
        else:
            self._send(data)

    def _send(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            self.lost += 1
            return
        writer.write(data)

    async def _send_later(self, data: bytes, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._send(data)

    def on_twin_event(self, event: Event) -> None:
        """Push one read when a parcel's front reaches the scan point."""
        if event.kind is EventKind.SCANNED:
            self.push(event.parcel.spec)

    def disconnect_clients(self) -> int:
        """Fault injection: drop the connection (the simulator reconnects)."""
        writer = self._writer
        if writer is None:
            return 0
        writer.close()
        return 1

    async def stop(self) -> None:
        """Stop connecting, cancel late pushes, close the connection."""
        tasks = [*self._late, *([self._task] if self._task else [])]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
