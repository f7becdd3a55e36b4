"""Banner PICK-IQ lights behind an RTU-over-TCP gateway: a :class:`LightBank` on Modbus RTU.

A pymodbus server with the RTU framer listens on TCP (what a serial device server
does); each bank node is its own Modbus device id with the registers of
:mod:`plc_configs.banner`: device information, output and line settings, the five
state blocks, the value registers and the input status register.

* Writes to the display block or the value registers update the bank
  (:meth:`LightBank.show` / :meth:`LightBank.clear`).
* Each :meth:`LightBank.next_press` sets the light's output bit (primary for a
  ``confirm``, secondary for a ``shortage``) for ``hold_s`` (default 0.3 s, about a
  touch): a real light's output follows its sensor and is not latched, so the host
  must poll each light more often than that.
* A light off the bus (:meth:`LightBank.set_online` False) and an id not in the bank
  do not answer at all (the request is dropped before it is handled).

Fault injection: :meth:`corrupt_next` sends the next ``n`` replies with a bad CRC;
``crc_error_rate`` does so for a random share of replies (seeded by ``seed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plc_configs.banner import (
    BAUD_CODES,
    DEFAULT_MAP,
    BannerRegisterMap,
    decode_lamp,
    decode_value,
    encode_inputs,
)
from simulators.ptl.bank import LightBank, Press

log = logging.getLogger(__name__)

WRITE_FUNCTION_CODES = frozenset({6, 16, 23})
MODEL_NUMBER = 209_995  # any number: the map's document number stands in for a model


class BannerLightsSimulator:
    """Every module of ``bank`` as a PICK-IQ light with its own device id."""

    def __init__(
        self,
        bank: LightBank,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        register_map: BannerRegisterMap = DEFAULT_MAP,
        hold_s: float = 0.3,
        crc_error_rate: float = 0.0,
        seed: int = 0,
    ):
        bad = [n for n in bank.modules if not 1 <= n <= 247]
        if bad:
            raise ValueError(f"Modbus device ids must be 1..247, got {bad}")
        self.bank = bank
        self.host = host
        self.requested_port = port
        self.map = register_map
        self.hold_s = hold_s
        self.crc_error_rate = crc_error_rate
        self._random = random.Random(seed)
        self._corrupt = 0
        self.corrupted = 0
        """Replies sent with a bad CRC."""
        self.requests = 0
        """Requests answered (or refused) by a light on the bus."""
        self.server: ModbusTcpServer | None = None
        self._held: dict[int, set[str]] = {n: set() for n in bank.modules}
        self._timers: list[asyncio.TimerHandle] = []
        self._presses: asyncio.Task[None] | None = None

    # -- registers -------------------------------------------------------------------

    def _simdata(self, node: int) -> list[SimData]:
        m = self.map
        blocks = [
            SimData(m.input_status, values=0, datatype=DataType.REGISTERS, readonly=True),
            SimData(m.model_number, count=54, values=0, datatype=DataType.REGISTERS),
            SimData(m.touch_output, values=[1, 0, 1, 0], datatype=DataType.REGISTERS),
            SimData(
                m.device_id, values=[node, BAUD_CODES[19200], 0, 1], datatype=DataType.REGISTERS
            ),
            SimData(
                min(m.state_blocks),
                count=max(m.state_blocks) + m.block_length - min(m.state_blocks),
                values=0,
                datatype=DataType.REGISTERS,
            ),
        ]
        if m.value_register is not None:
            blocks.append(SimData(m.value_register, count=2, values=0, datatype=DataType.REGISTERS))
        return sorted(blocks, key=lambda b: b.address)

    def _action(self, node: int) -> Callable[..., Awaitable[ExcCodes | None]]:
        """The pymodbus action of light ``node``: writes update the bank."""

        async def action(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            self.requests += 1
            if set_values is not None and function_code in WRITE_FUNCTION_CODES:
                values = set_values if isinstance(set_values, list) else [set_values]
                offset = address - start_address
                registers[offset : offset + len(values)] = [int(v) for v in values]
                try:
                    self._apply(node, registers, start_address, address, len(values))
                except ValueError:
                    log.warning("light %d: display registers not understood", node)
                    return ExcCodes.ILLEGAL_VALUE
            return None

        return action

    def _apply(self, node: int, regs: list[int], start: int, address: int, count: int) -> None:
        """Bring the bank up to date after a write of ``count`` registers at ``address``."""
        m = self.map
        touched = range(address, address + count)
        watched = [m.display_block + i for i in range(m.display_write_length)]
        if m.value_register is not None:
            watched += [m.value_register, m.value_register + 1]
        if not any(a in touched for a in watched):
            return
        block = regs[m.display_block - start : m.display_block - start + m.display_write_length]
        lamp = decode_lamp(block, m)
        module = self.bank.modules[node]
        if lamp.colour == "off":
            if module.value is not None or module.colour != "off":
                self.bank.clear(node)
            return
        value = None
        if m.value_register is not None:
            at = m.value_register - start
            value = decode_value(regs[at : at + 2])
        if (module.value, module.colour, module.flash) != (value, lamp.colour, lamp.flash):
            self.bank.show(node, value, lamp.colour, flash=lamp.flash)

    # -- presses ---------------------------------------------------------------------

    async def _press_loop(self) -> None:
        while True:
            press = await self.bank.next_press()
            self._hold(press)

    def _hold(self, press: Press) -> None:
        held = self._held[press.node]
        held.add(press.kind)
        self._set_inputs(press.node)
        loop = asyncio.get_running_loop()
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(loop.call_later(self.hold_s, self._release, press))

    def _release(self, press: Press) -> None:
        self._held[press.node].discard(press.kind)
        self._set_inputs(press.node)

    def _set_inputs(self, node: int) -> None:
        held = self._held[node]
        value = encode_inputs("confirm" in held, "shortage" in held, self.map)
        assert self.server is not None
        runtime = self.server.context.devices[node]  # type: ignore[union-attr]
        start, _, registers, _ = runtime.block["x"]
        registers[self.map.input_status - start] = value

    # -- wire hooks ------------------------------------------------------------------

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        """Drop requests for lights that are not on the bus: they stay silent."""
        if not sending:
            module = self.bank.modules.get(pdu.dev_id)
            if module is None or not module.online:
                return None
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """Flip the last CRC byte of a reply when a fault is due."""
        if not sending or not data:
            return data
        due = self._corrupt > 0 or (
            self.crc_error_rate > 0 and self._random.random() < self.crc_error_rate
        )
        if not due:
            return data
        self._corrupt = max(0, self._corrupt - 1)
        self.corrupted += 1
        return data[:-1] + bytes([data[-1] ^ 0xFF])

    def corrupt_next(self, n: int = 1) -> None:
        """Send the next ``n`` replies with a bad CRC."""
        self._corrupt += n

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Listen and start turning presses into output bits."""
        devices = [
            SimDevice(id=node, simdata=self._simdata(node), action=self._action(node))
            for node in sorted(self.bank.modules)
        ]
        self.server = ModbusTcpServer(
            devices,
            framer=FramerType.RTU,
            address=(self.host, self.requested_port),
            ignore_missing_devices=True,
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,  # type: ignore[arg-type]
        )
        await self.server.serve_forever(background=True)
        self._presses = asyncio.create_task(self._press_loop(), name="banner sim presses")
        log.info("Banner PICK-IQ simulator on %s", self.url)

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        assert self.server is not None and self.server.transport is not None
        return self.server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """The driver's address: ``socket://HOST:PORT``."""
        return f"socket://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        presses, self._presses = self._presses, None
        if presses is not None:
            presses.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await presses
        server, self.server = self.server, None
        if server is not None:
            await server.shutdown()
