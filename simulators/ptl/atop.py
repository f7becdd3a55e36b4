"""An Atop AT400/AT500 pick-to-light controller port over TCP, serving a :class:`LightBank`.

The host's frames (:mod:`plc_configs.atop`) are applied to the bank: 0x00 display,
0x10 flashing display, 0x11 flashing lamp, 0x01 clear, 0x1F colour (taking effect at
once on a lit module, and on every later display), 0x13 show address, 0x14 reset
(answered 0xFC), 0x17 emulate confirm, 0x1B/0x1C and 0x15/0x16 disable/enable the
confirm/shortage button; 0x02–0x05, 0x08, 0x12 and 0x1E are accepted and recorded.
0x09 is answered with the status bitmap (a module off the bus, or not in the bank, is
"not connected"). Like the real controller it sends nothing for a command that worked.

Answers for what goes wrong: 0x0A (device timeout) for a command to a module that is
off the bus (``bank.set_online(node, False)``), 0x0C for a sub-command it does not know,
0x0B for a module set to :meth:`~AtopControllerSimulator.malfunction`, 0x0D for one
whose buttons are held (:meth:`~AtopControllerSimulator.lock_buttons`); the command is
not applied then. A broadcast (node 0xFC) applies to every module on the bus, silently.

Every :meth:`LightBank.next_press` becomes a 0x06 (confirm) or 0x07 (shortage) frame
with the value shown, to every connected host. Faults on the wire:
:attr:`~AtopControllerSimulator.split_frames` (each frame in two writes, a short delay
apart), :meth:`~AtopControllerSimulator.garbage_before_next`,
:meth:`~AtopControllerSimulator.send_raw`,
:meth:`~AtopControllerSimulator.disconnect_clients`, and
:attr:`~AtopControllerSimulator.answer_status` False for a controller that hangs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

from plc_configs import atop
from simulators.ptl.bank import LightBank, Press

log = logging.getLogger(__name__)

READ_CHUNK = 4096
_ACCEPTED = {
    atop.LED_ON,
    atop.LED_OFF,
    atop.BUZZER_ON,
    atop.BUZZER_OFF,
    atop.MAX_ADDRESS,
    atop.FLASH_INTERVAL,
    atop.EDITABLE_DIGITS,
}
_APPLIED = {
    atop.DISPLAY,
    atop.FLASH_DISPLAY,
    atop.FLASH_LED,
    atop.CLEAR,
    atop.CONFIG,
    atop.SHOW_ADDRESS,
    atop.RESET,
    atop.EMULATE_CONFIRM,
    atop.DISABLE_CONFIRM,
    atop.ENABLE_CONFIRM,
    atop.DISABLE_SHORTAGE,
    atop.ENABLE_SHORTAGE,
}
KNOWN_COMMANDS = frozenset(_ACCEPTED | _APPLIED | {atop.DEVICE_STATUS})


class AtopControllerSimulator:
    """One controller port on TCP; ``port`` 0 picks a free one (see :attr:`url`)."""

    def __init__(
        self,
        bank: LightBank,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        msg_type: int = atop.MSG_TYPE_PORT1,
    ):
        self.bank = bank
        self.host = host
        self.requested_port = port
        self.msg_type = msg_type
        self.split_frames = False
        """Fault: write every frame in two chunks, :attr:`split_delay_s` apart."""
        self.split_delay_s = 0.005
        self.answer_status = True
        """Fault: False makes the controller ignore 0x09 (a hung controller, link still up)."""
        self.colours = {node: atop.COLOUR_CODES["red"] for node in bank.modules}
        """Each module's configured lamp colour code (a tag's default is red)."""
        self.confirm_disabled: set[int] = set()
        self.shortage_disabled: set[int] = set()
        self.received: collections.deque[atop.Frame] = collections.deque(maxlen=1000)
        self.settings: dict[tuple[int, int], bytes] = {}
        """The last data of each accepted-only command, by (sub-command, node)."""
        self.malformed_received = 0
        self.answers: collections.Counter[int] = collections.Counter()
        """Frames sent to the host, by sub-command."""
        self.server: asyncio.Server | None = None
        self._garbage = bytearray()
        self._malfunctioning: set[int] = set()
        self._locked: set[int] = set()
        self._outboxes: dict[asyncio.StreamWriter, asyncio.Queue[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, and start turning the bank's presses into frames."""
        self.server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        self._pump = asyncio.create_task(self._press_pump(), name="atop-sim-presses")
        log.info("atop controller simulator on %s", self.url)

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        assert self.server is not None, "not started"
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Where the driver connects: ``tcp://HOST:PORT``."""
        return f"tcp://{self.host}:{self.port}"

    @property
    def clients(self) -> int:
        """Hosts connected now."""
        return len(self._outboxes)

    async def stop(self) -> None:
        """Stop listening, drop the hosts, stop the press pump."""
        if self.server is not None:
            self.server.close()
        self.disconnect_clients()
        sessions = list(self._tasks)
        if sessions:  # closed writers end them; cancelling one makes asyncio log an error
            _, pending = await asyncio.wait(sessions, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._pump = None
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None

    # Fault injection -------------------------------------------------------------------

    def garbage_before_next(self, data: bytes = b"\xff\xee\x13\x37\x00\x60junk") -> None:
        """Write ``data`` just before the next frame to a host."""
        self._garbage += data

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as it is to every host (a malformed frame, say)."""
        self._broadcast(data)

    def malfunction(self, node: int, on: bool = True) -> None:
        """``node`` answers every command with 0x0B (malfunction) until turned off."""
        (self._malfunctioning.add if on else self._malfunctioning.discard)(node)

    def lock_buttons(self, node: int, locked: bool = True) -> None:
        """``node``'s button is held: every command is answered 0x0D (buttons locked)."""
        (self._locked.add if locked else self._locked.discard)(node)

    def disconnect_clients(self) -> int:
        """Drop every connected host; return how many."""
        writers = list(self._outboxes)
        for writer in writers:
            writer.close()
        return len(writers)

    # The wire --------------------------------------------------------------------------

    def _frame(self, subcmd: int, node: int | None, data: bytes = b"") -> bytes:
        return atop.encode_frame(subcmd, node, data, msg_type=self.msg_type)

    def _answer(self, subcmd: int, node: int | None, data: bytes = b"") -> None:
        self.answers[subcmd] += 1
        self._broadcast(self._frame(subcmd, node, data))

    def _broadcast(self, data: bytes) -> None:
        for outbox in self._outboxes.values():
            outbox.put_nowait(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        if session is not None:
            self._tasks.add(session)
        outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._outboxes[writer] = outbox
        sender = asyncio.create_task(self._send_loop(writer, outbox), name="atop-sim-send")
        decoder = atop.FrameDecoder({self.msg_type})
        try:
            while chunk := await reader.read(READ_CHUNK):
                for item in decoder.feed(chunk):
                    if isinstance(item, atop.Malformed):
                        self.malformed_received += 1
                        log.warning("atop sim: skipped %r (%s)", item.raw[:40], item.reason)
                    else:
                        self._handle(item)
        except (ConnectionError, OSError) as err:
            log.info("atop sim: host gone (%s)", err)
        finally:
            self._outboxes.pop(writer, None)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if session is not None:
                self._tasks.discard(session)

    async def _send_loop(self, writer: asyncio.StreamWriter, outbox: asyncio.Queue[bytes]) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await outbox.get()
                if writer.is_closing():
                    return
                if self._garbage:
                    writer.write(bytes(self._garbage))
                    self._garbage.clear()
                if self.split_frames and len(data) > 1:
                    half = len(data) // 2
                    writer.write(data[:half])
                    await writer.drain()
                    await asyncio.sleep(self.split_delay_s)
                    if writer.is_closing():
                        return
                    writer.write(data[half:])
                else:
                    writer.write(data)
                await writer.drain()

    async def _press_pump(self) -> None:
        while True:
            press = await self.bank.next_press()
            self._report_press(press)

    def _report_press(self, press: Press) -> None:
        shortage = press.kind == "shortage"
        if press.node in (self.shortage_disabled if shortage else self.confirm_disabled):
            log.info("atop sim: %s button of node %d is disabled", press.kind, press.node)
            return
        value = min(max(press.value, 0), atop.MAX_VALUE)
        self._answer(
            atop.SHORTAGE if shortage else atop.CONFIRM, press.node, atop.digits_data(value)
        )

    def _handle(self, frame: atop.Frame) -> None:
        self.received.append(frame)
        sub, node = frame.subcmd, frame.node
        if sub == atop.DEVICE_STATUS:
            if not self.answer_status:
                return
            offline = [
                n
                for n in range(1, atop.STATUS_BITMAP_BYTES * 8 + 1)
                if n not in self.bank.modules or not self.bank.modules[n].online
            ]
            self._answer(atop.DEVICE_STATUS, 0x00, atop.status_bitmap_data(offline))
            return
        if sub not in KNOWN_COMMANDS or node is None:
            self._answer(atop.ILLEGAL_COMMAND, node or 0)
            return
        if node == atop.BROADCAST:
            for n, module in self.bank.modules.items():
                if module.online:
                    self._apply(sub, n, frame.data)
            return
        module = self.bank.modules.get(node)
        if module is None or not module.online:
            self._answer(atop.DEVICE_TIMEOUT, node)
        elif node in self._malfunctioning:
            self._answer(atop.MALFUNCTION, node)
        elif node in self._locked:
            self._answer(atop.BUTTONS_LOCKED, node)
        else:
            self._apply(sub, node, frame.data)

    def _apply(self, sub: int, node: int, data: bytes) -> None:
        module = self.bank.modules[node]
        colour = atop.COLOUR_NAMES[self.colours[node]]
        if sub in (atop.DISPLAY, atop.FLASH_DISPLAY):
            self.bank.show(node, atop.parse_digits(data), colour, flash=sub == atop.FLASH_DISPLAY)
        elif sub == atop.FLASH_LED:
            if not module.flash:
                self.bank.show(node, module.value, colour, flash=True)
        elif sub == atop.CLEAR:
            self.bank.clear(node)
        elif sub == atop.CONFIG:
            if len(data) >= 2 and data[0] == atop.CONFIG_COLOUR and data[1] in atop.COLOUR_NAMES:
                self.colours[node] = data[1]
                if module.value is not None:
                    self.bank.show(
                        node, module.value, atop.COLOUR_NAMES[data[1]], flash=module.flash
                    )
        elif sub == atop.SHOW_ADDRESS:
            self.bank.show(node, node, colour)
        elif sub == atop.RESET:
            self.colours[node] = atop.COLOUR_CODES["red"]
            self.bank.clear(node)
            self._answer(atop.RESET_OK, node)
        elif sub == atop.EMULATE_CONFIRM:
            self.bank.press(node, "confirm")
        elif sub in (atop.DISABLE_CONFIRM, atop.ENABLE_CONFIRM):
            switch = (
                self.confirm_disabled.add
                if sub == atop.DISABLE_CONFIRM
                else self.confirm_disabled.discard
            )
            switch(node)
        elif sub in (atop.DISABLE_SHORTAGE, atop.ENABLE_SHORTAGE):
            switch = (
                self.shortage_disabled.add
                if sub == atop.DISABLE_SHORTAGE
                else self.shortage_disabled.discard
            )
            switch(node)
        else:
            self.settings[(sub, node)] = data
