"""The sorter PLC simulator: :class:`~simulators.plc_logic.PlcLogic` served over Modbus TCP.

One pymodbus ``SimDevice`` (id 0: answers every unit id) holds registers
``0..N-1`` covering the PLC and host areas of ``config.register_map``
(0-based protocol addresses). PLC-area registers are read-only for clients (a
write there gets exception 2, illegal address). The device ``action`` callback
sees every request before pymodbus applies it: reads bring the PLC up to date
first, writes go to :meth:`PlcLogic.on_host_write`. Between requests the PLC cycle
(:class:`~simulators.plc_base.PlcSimulatorBase`) steps it when something is due.

Fault injection (Python API): those of :class:`~simulators.plc_base.PlcSimulatorBase`
and :meth:`PlcSimulator.disconnect_clients`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plc_configs.schema import LineConfig
from simulators.plc_base import PlcSimulatorBase
from simulators.plc_logic import register_count
from simulators.twin import LineTwin

log = logging.getLogger(__name__)

WRITE_FUNCTION_CODES = frozenset({6, 16, 23})


def _register_blocks(config: LineConfig) -> list[SimData]:
    """SimData runs over 0..N-1: read-only inside the PLC area, writable elsewhere."""
    rm = config.register_map
    total = register_count(rm)
    plc = {
        reg
        for address, count in rm.plc_registers().values()
        for reg in range(address, address + count)
    }
    blocks: list[SimData] = []
    start = 0
    for reg in range(1, total + 1):
        if reg == total or (reg in plc) != (start in plc):
            blocks.append(
                SimData(
                    start,
                    count=reg - start,
                    values=0,
                    datatype=DataType.REGISTERS,
                    readonly=start in plc,
                )
            )
            start = reg
    return blocks


class PlcSimulator(PlcSimulatorBase):
    """The sorter PLC as a Modbus TCP server over a line twin."""

    def __init__(
        self,
        config: LineConfig,
        twin: LineTwin,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tick_s: float = 0.001,
        clock: Callable[[], float] = time.perf_counter,
    ):
        super().__init__(config, twin, tick_s=tick_s, clock=clock)
        self.host = host
        self.requested_port = port
        self.server: ModbusTcpServer | None = None

    async def start(self) -> None:
        """Build the registers, start listening and start the PLC cycle."""
        device = SimDevice(id=0, simdata=_register_blocks(self.config), action=self._action)
        self.server = ModbusTcpServer(device, address=(self.host, self.requested_port))
        runtime = self.server.context.devices[0]  # type: ignore[union-attr]
        self._make_logic(runtime.block["x"][2])
        await self.server.serve_forever(background=True)
        self._start_cycle()
        log.info("sorter PLC simulator listening on %s:%d", self.host, self.port)

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        assert self.server is not None and self.server.transport is not None
        return self.server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        await self._wait_if_stalled()
        assert self.logic is not None
        try:
            if set_values is not None and function_code in WRITE_FUNCTION_CODES:
                values = set_values if isinstance(set_values, list) else [set_values]
                self.logic.on_host_write(address, [int(v) for v in values], self.clock())
                self._due_changed()
            else:
                self.logic.step(self.clock())
        except Exception:
            self.action_errors += 1
            log.exception("PLC simulator failed on fc=%d address=%d", function_code, address)
            return ExcCodes.DEVICE_FAILURE
        return None

    # -- fault injection ------------------------------------------------------------

    def disconnect_clients(self) -> int:
        """Drop every client connection; return how many were dropped."""
        assert self.server is not None
        connections = list(self.server.active_connections.values())
        for connection in connections:
            connection.close()
        log.warning("dropped %d Modbus client connection(s)", len(connections))
        return len(connections)

    async def stop(self) -> None:
        """Stop the cycle and the server, closing client connections."""
        await self._stop_cycle()
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
