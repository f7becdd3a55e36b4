"""Sorter PLC over Modbus TCP (:mod:`drivers.plc.modbus_wire`), driven by the register map.

One :meth:`ModbusTcpSorterPlc.poll` is one read of the whole PLC area (at most
125 registers); answers, acknowledgements, commands and the life counter are
single write requests. Values outside their range are reported as
:class:`~drivers.plc.base.RegisterProblem` and the entry is skipped, never guessed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from operator import itemgetter

from drivers.address import host_port
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, DriverError, ProtocolError
from drivers.plc.base import (
    STAMP_SLACK_S,
    DestinationRequest,
    PlcPoll,
    PlcStatus,
    RegisterProblem,
    ScanEvent,
)
from drivers.plc.decode import decode_confirmation, decode_state, ring_indices
from drivers.plc.modbus_wire import MalformedResponse, ModbusExceptionResponse, ModbusWire
from plc_configs.contract import (
    PackMLCommand,
    PlcFault,
    chute_bits_to_ids,
    chute_ids_to_bits,
    join_u32,
    split_u32,
)
from plc_configs.register_map import RegisterMap, RingLayout

log = logging.getLogger(__name__)


class ModbusTcpSorterPlc:
    """A sorter PLC reached at ``modbus-tcp://HOST:PORT``."""

    polled = True
    """Every cycle is a read on the wire: the link paces them (an OPC UA PLC pushes)."""

    def __init__(self, name: str, url: str, register_map: RegisterMap, timeout_s: float = 0.5):
        self._host, self._port = host_port(name, url, "modbus-tcp")
        self.name = name
        self.address = url
        self.map = register_map
        self.timeout_s = timeout_s
        self._client: ModbusWire | None = None
        self._answered_seq = 0
        self._scan_cursor = 0
        self._confirm_cursor = 0
        self._command_seq = 0
        self._block_start, self._block_count = register_map.plc_block
        self._regs: list[int] = []
        plc, w = register_map.plc, register_map.chute_words
        status_registers = [
            plc.heartbeat, plc.packml_state, plc.conveyor_running, plc.fault_word,
            plc.pending_requests, *range(plc.chute_full, plc.chute_full + w),
            *range(plc.chute_disabled, plc.chute_disabled + w),
        ]  # fmt: skip
        self._status_key = itemgetter(*(a - self._block_start for a in status_registers))
        self.clock_resolution_s = register_map.plc.clock_resolution_ms / 1000
        """How far a scan's age may be off: the PLC clock's step."""
        self._previous_sent: float | None = None
        self._stamps_warned = False
        self.stamps_distrusted = 0
        """Scan stamps older than the read before them: not taken as entry times."""
        self._last_status: tuple[tuple[int, ...], PlcStatus] | None = None
        """The status registers of the last read and their status, when it had no problem."""

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and restore the answered sequence number and ring positions."""
        await self.close()
        try:
            client = await ModbusWire.connect(self._host, self._port, self.timeout_s)
        except TimeoutError as err:
            raise ConnectionLost(
                self.name, self.address, f"cannot connect: no answer in {self.timeout_s} s"
            ) from err
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err}") from err
        self._client = client
        self._last_status = None
        self._previous_sent = None  # the first read brings what the ring kept meanwhile
        self._stamps_warned = False
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

    def _require(self) -> ModbusWire:
        if self._client is None or not self._client.connected:
            raise ConnectionLost(self.name, self.address, "not connected")
        return self._client

    async def _read(self, address: int, count: int) -> list[int]:
        client = self._require()
        try:
            return await client.read_holding_registers(
                address, count, self.map.unit_id, self.timeout_s
            )
        except ModbusExceptionResponse as err:
            raise DeviceFault(
                self.name, self.address, f"read of {count} registers at {address} refused: {err}"
            ) from err
        except Exception as err:
            raise self._map_error(err, f"reading {count} registers at {address}") from err

    async def _write(self, address: int, values: list[int]) -> None:
        client = self._require()
        try:
            await client.write_registers(address, values, self.map.unit_id, self.timeout_s)
        except ModbusExceptionResponse as err:
            raise DeviceFault(
                self.name, self.address, f"write of {values} at {address} refused: {err}"
            ) from err
        except Exception as err:
            raise self._map_error(err, f"writing {len(values)} registers at {address}") from err

    def _map_error(self, err: Exception, what: str) -> DriverError:
        if isinstance(err, DriverError):
            return err
        if isinstance(err, asyncio.TimeoutError | TimeoutError):
            return DeviceTimeout(
                self.name,
                self.address,
                f"no answer in {self.timeout_s * 1000:.0f} ms while {what}",
            )
        if isinstance(err, ConnectionError | OSError):
            return ConnectionLost(self.name, self.address, f"link lost while {what}: {err}")
        if isinstance(err, MalformedResponse):
            return ProtocolError(self.name, self.address, f"{what}: {err}")
        return ProtocolError(self.name, self.address, f"{what}: {type(err).__name__}: {err}")

    # -- the handshake ---------------------------------------------------------------------

    async def poll(self) -> PlcPoll:
        """Read the PLC area once; return status, the open request and new ring entries."""
        sent = time.monotonic()
        regs = self._regs = await self._read(self._block_start, self._block_count)
        returned = time.monotonic()
        read_s = returned - sent
        previous, self._previous_sent = self._previous_sent, sent
        start = self._block_start
        plc = self.map.plc
        problems: list[RegisterProblem] = []

        def at(addr: int) -> int:
            return regs[addr - start]

        def words(addr: int) -> list[int]:
            return regs[addr - start : addr - start + self.map.chute_words]

        key = self._status_key(regs)
        last = self._last_status
        if last is not None and last[0] == key:
            status = last[1]  # the same object: the link skips what did not change
        else:
            status = self._decode_status(at, words, problems)
            self._last_status = None if problems else (key, status)

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

        clock = at(plc.clock) if plc.clock is not None and previous is not None else None
        slack_s = STAMP_SLACK_S + self.clock_resolution_s
        oldest_s = returned - previous + slack_s if previous is not None else 0.0
        scans = [
            self._scan(i, clock, oldest_s, status)
            for i in self._new_entries(at(plc.scan_write_index), "scan", problems)
        ]
        scans_age_s = None
        ages = [scan.age_s for scan in scans if scan.age_s is not None]
        if ages and len(ages) == len(scans):
            # entered at most this long before the read returned: the PLC's image was
            # taken at some moment of the read, and its clock counts in steps
            scans_age_s = max(ages) + read_s + self.clock_resolution_s
        confirms = []
        for i in self._new_entries(at(plc.confirm_write_index), "confirm", problems):
            tid_high, tid_low, chute, result = self._entry(plc.confirm_ring, i)[:4]
            address = plc.confirm_ring.entry_address(i) + 3
            c = decode_confirmation(
                join_u32(tid_high, tid_low), chute, result, i, problems, "confirm_ring", address
            )
            if c is not None:
                confirms.append(c)
        return PlcPoll(status, request, tuple(scans), tuple(confirms), tuple(problems), scans_age_s)

    def _scan(self, index: int, clock: int | None, oldest_s: float, status: PlcStatus) -> ScanEvent:
        """Scan ring entry ``index``; with the PLC's clock, its age from the time stamp,
        if it entered after the read before (``oldest_s``: how long ago that was sent)."""
        words = self._entry(self.map.plc.scan_ring, index)
        age_s = None
        if clock is not None:
            age_s = ((clock - words[2]) & 0xFFFF) / 1000  # milliseconds
            if age_s > oldest_s:
                self.stamps_distrusted += 1
                overflow = status.fault_word & (1 << PlcFault.RING_OVERFLOW)
                if not overflow and not self._stamps_warned:
                    self._stamps_warned = True
                    log.warning(
                        "%s (%s): scan ring entry %d is stamped %.0f ms before the PLC "
                        "clock (register %d), but the read %.0f ms before did not show it: "
                        "the stamps are not taken as the time the parcels entered; check that "
                        "register_map.plc.clock is the millisecond counter the PLC stamps "
                        "its scans with",
                        self.name,
                        self.address,
                        index,
                        age_s * 1000,
                        self.map.plc.clock,
                        (oldest_s - STAMP_SLACK_S - self.clock_resolution_s) * 1000,
                    )
                age_s = None
        return ScanEvent(join_u32(words[0], words[1]), index, age_s)

    def _decode_status(
        self,
        at: Callable[[int], int],
        words: Callable[[int], list[int]],
        problems: list[RegisterProblem],
    ) -> PlcStatus:
        plc = self.map.plc
        state = decode_state(at(plc.packml_state), problems, "packml_state", plc.packml_state)
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
        return status

    def _entry(self, ring: RingLayout, index: int) -> list[int]:
        """The registers of ring entry ``index`` in the last read."""
        addr = ring.entry_address(index) - self._block_start
        return self._regs[addr : addr + ring.entry_words]

    def _new_entries(
        self, write_index: int, name: str, problems: list[RegisterProblem]
    ) -> list[int]:
        """Ring positions not yet delivered; advances that ring's cursor past them."""
        ring = getattr(self.map.plc, f"{name}_ring")
        cursor = getattr(self, f"_{name}_cursor")
        address = getattr(self.map.plc, f"{name}_write_index")
        indices = ring_indices(
            cursor, write_index, ring.size, problems, f"{name}_write_index", address
        )
        if indices:
            setattr(self, f"_{name}_cursor", (indices[-1] + 1) % ring.size)
        return indices

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
