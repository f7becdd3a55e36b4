"""Sorter PLC over Modbus TCP (pymodbus client), driven by the register map.

One :meth:`ModbusTcpSorterPlc.poll` is one read of the whole PLC area (at most
125 registers); answers, acknowledgements, commands and the life counter are
single write requests. Values outside their range are reported as
:class:`~drivers.plc.base.RegisterProblem` and the entry is skipped, never guessed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from drivers.address import host_port
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, DriverError, ProtocolError
from drivers.plc.base import (
    DestinationRequest,
    PlcPoll,
    PlcStatus,
    RegisterProblem,
    ScanEvent,
    SortConfirmation,
)
from plc_configs.contract import (
    PackMLCommand,
    PackMLState,
    SortResult,
    chute_bits_to_ids,
    chute_ids_to_bits,
    join_u32,
    split_u32,
)
from plc_configs.register_map import RegisterMap, RingLayout

_PACKML_VALUES = frozenset(s.value for s in PackMLState)
_RESULT_VALUES = frozenset(r.value for r in SortResult)


class ModbusTcpSorterPlc:
    """A sorter PLC reached at ``modbus-tcp://HOST:PORT``."""

    def __init__(self, name: str, url: str, register_map: RegisterMap, timeout_s: float = 0.5):
        self._host, self._port = host_port(name, url, "modbus-tcp")
        self.name = name
        self.address = url
        self.map = register_map
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._answered_seq = 0
        self._scan_cursor = 0
        self._confirm_cursor = 0
        self._command_seq = 0
        self._block_start, self._block_count = register_map.plc_block

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and restore the answered sequence number and ring positions."""
        await self.close()
        client = AsyncModbusTcpClient(
            self._host,
            port=self._port,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
            name=self.name,
        )
        try:
            ok = await client.connect()
        except (OSError, ModbusException) as err:
            client.close()
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        if not ok:
            client.close()
            raise ConnectionLost(self.name, self.address, "cannot connect (refused or no route)")
        self._client = client
        host = self.map.host
        start, count = self.map.host_block
        regs = await self._read(start, count)

        def at(addr: int) -> int:
            return regs[addr - start]

        self._answered_seq = at(host.answer_seq)
        self._command_seq = at(host.command_seq)
        self._scan_cursor = self._valid_index(at(host.scan_read_index), self.map.plc.scan_ring)
        self._confirm_cursor = self._valid_index(
            at(host.confirm_read_index), self.map.plc.confirm_ring
        )

    @staticmethod
    def _valid_index(value: int, ring: RingLayout) -> int:
        return value if 0 <= value < ring.size else 0

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def connected(self) -> bool:
        """True while the TCP connection is up."""
        return self._client is not None and self._client.connected

    # -- raw register access with error mapping --------------------------------------------

    def _require(self) -> AsyncModbusTcpClient:
        if self._client is None or not self._client.connected:
            raise ConnectionLost(self.name, self.address, "not connected")
        return self._client

    async def _read(self, address: int, count: int) -> list[int]:
        client = self._require()
        try:
            rr = await client.read_holding_registers(
                address, count=count, device_id=self.map.unit_id
            )
        except Exception as err:
            raise self._map_error(err, f"reading {count} registers at {address}") from err
        if rr.isError():
            raise DeviceFault(
                self.name, self.address, f"read of {count} registers at {address} refused: {rr}"
            )
        if len(rr.registers) < count:
            raise ProtocolError(
                self.name,
                self.address,
                f"asked for {count} registers at {address}, got {len(rr.registers)}",
            )
        return list(rr.registers)

    async def _write(self, address: int, values: list[int]) -> None:
        client = self._require()
        try:
            rr = await client.write_registers(address, values, device_id=self.map.unit_id)
        except Exception as err:
            raise self._map_error(err, f"writing {len(values)} registers at {address}") from err
        if rr.isError():
            raise DeviceFault(
                self.name, self.address, f"write of {values} at {address} refused: {rr}"
            )

    def _map_error(self, err: Exception, what: str) -> DriverError:
        if isinstance(err, DriverError):
            return err
        if isinstance(err, ConnectionException | ConnectionError | OSError):
            return ConnectionLost(self.name, self.address, f"link lost while {what}: {err}")
        if isinstance(err, ModbusIOException | asyncio.TimeoutError | TimeoutError):
            return DeviceTimeout(
                self.name,
                self.address,
                f"no answer in {self.timeout_s * 1000:.0f} ms while {what}",
            )
        if isinstance(err, ModbusException):
            return ProtocolError(self.name, self.address, f"{what}: {err}")
        return ProtocolError(self.name, self.address, f"{what}: {type(err).__name__}: {err}")

    # -- the handshake ---------------------------------------------------------------------

    async def poll(self) -> PlcPoll:
        """Read the PLC area once; return status, the open request and new ring entries."""
        regs = await self._read(self._block_start, self._block_count)
        start = self._block_start
        plc = self.map.plc
        problems: list[RegisterProblem] = []

        def at(addr: int) -> int:
            return regs[addr - start]

        def words(addr: int) -> list[int]:
            return regs[addr - start : addr - start + self.map.chute_words]

        raw_state = at(plc.packml_state)
        if raw_state in _PACKML_VALUES:
            state = PackMLState(raw_state)
        else:
            state = PackMLState.UNDEFINED
            problems.append(
                RegisterProblem("packml_state", plc.packml_state, raw_state, "0..17 (PackML)")
            )
        running = at(plc.conveyor_running)
        if running not in (0, 1):
            problems.append(
                RegisterProblem("conveyor_running", plc.conveyor_running, running, "0 or 1")
            )
        status = PlcStatus(
            heartbeat=at(plc.heartbeat),
            packml_state=state,
            conveyor_running=running == 1,
            fault_word=at(plc.fault_word),
            pending_requests=at(plc.pending_requests),
            chute_full=chute_bits_to_ids(words(plc.chute_full)),
            chute_disabled=chute_bits_to_ids(words(plc.chute_disabled)),
        )

        request = None
        seq = at(plc.request_seq)
        if seq != 0 and seq != self._answered_seq:
            tid = join_u32(at(plc.request_tracking_id), at(plc.request_tracking_id + 1))
            if tid == 0:
                problems.append(
                    RegisterProblem(
                        "request_tracking_id", plc.request_tracking_id, tid, "a tracking id > 0"
                    )
                )
            else:
                request = DestinationRequest(seq=seq, tracking_id=tid)

        scans: list[ScanEvent] = []
        new_cursor = self._ring_entries(
            regs,
            "scan",
            plc.scan_ring,
            at(plc.scan_write_index),
            self._scan_cursor,
            problems,
            lambda e, i: scans.append(ScanEvent(join_u32(e[0], e[1]), i)),
        )
        self._scan_cursor = new_cursor

        confirms: list[SortConfirmation] = []

        def confirm(entry: list[int], index: int) -> None:
            tid = join_u32(entry[0], entry[1])
            chute, result = entry[2], entry[3]
            if result not in _RESULT_VALUES:
                problems.append(
                    RegisterProblem(
                        f"confirm_ring[{index}].result (tracking id {tid})",
                        plc.confirm_ring.entry_address(index) + 3,
                        result,
                        "a SortResult code 1..8",
                    )
                )
                return
            confirms.append(SortConfirmation(tid, chute, SortResult(result), index))

        self._confirm_cursor = self._ring_entries(
            regs,
            "confirm",
            plc.confirm_ring,
            at(plc.confirm_write_index),
            self._confirm_cursor,
            problems,
            confirm,
        )
        return PlcPoll(status, request, tuple(scans), tuple(confirms), tuple(problems))

    def _ring_entries(
        self,
        regs: list[int],
        name: str,
        ring: RingLayout,
        write_index: int,
        cursor: int,
        problems: list[RegisterProblem],
        emit: Callable[[list[int], int], None],
    ) -> int:
        """Emit ring entries from ``cursor`` up to ``write_index``; return the new cursor."""
        if not 0 <= write_index < ring.size:
            address = getattr(self.map.plc, f"{name}_write_index")
            problems.append(
                RegisterProblem(f"{name}_write_index", address, write_index, f"0..{ring.size - 1}")
            )
            return cursor
        start = self._block_start
        while cursor != write_index:
            addr = ring.entry_address(cursor) - start
            emit(regs[addr : addr + ring.entry_words], cursor)
            cursor = (cursor + 1) % ring.size
        return cursor

    async def answer(self, request: DestinationRequest, chute: int) -> None:
        """Write seq, tracking id and chute in one request."""
        if not 0 <= chute <= 0xFFFF:
            raise ValueError(f"chute {chute} does not fit a register")
        high, low = split_u32(request.tracking_id)
        address, _ = self.map.answer_block
        await self._write(address, [request.seq, high, low, chute])
        self._answered_seq = request.seq

    async def acknowledge(self, scans_through: int | None, confirms_through: int | None) -> None:
        """Advance the rings' read indices past these entries."""
        host, plc = self.map.host, self.map.plc
        writes: dict[int, int] = {}
        if scans_through is not None:
            writes[host.scan_read_index] = (scans_through + 1) % plc.scan_ring.size
        if confirms_through is not None:
            writes[host.confirm_read_index] = (confirms_through + 1) % plc.confirm_ring.size
        if len(writes) == 2 and abs(host.scan_read_index - host.confirm_read_index) == 1:
            first = min(writes)
            await self._write(first, [writes[first], writes[first + 1]])
            return
        for address, value in writes.items():
            await self._write(address, [value])

    async def write_heartbeat(self, value: int) -> None:
        """Write the host life counter (wraps at 16 bits)."""
        await self._write(self.map.host.heartbeat, [value & 0xFFFF])

    async def send_command(self, command: PackMLCommand) -> None:
        """Write the command, then a new command sequence number the PLC reacts to."""
        host = self.map.host
        seq = (self._command_seq % 0xFFFF) + 1
        if host.command_seq == host.command + 1:
            await self._write(host.command, [int(command), seq])
        else:
            await self._write(host.command, [int(command)])
            await self._write(host.command_seq, [seq])
        self._command_seq = seq

    async def request_chutes_disabled(self, chutes: frozenset[int]) -> None:
        """Write the chute-disable request bits."""
        bits = chute_ids_to_bits(chutes, self.map.chute_words)
        await self._write(self.map.host.chute_disable_request, bits)
