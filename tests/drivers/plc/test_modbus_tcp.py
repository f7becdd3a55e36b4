"""The Modbus TCP sorter-PLC driver against a misbehaving PLC (the contract: test_plc_contract)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.errors import ConnectionLost, DeviceFault, ProtocolError
from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from plc_configs.contract import PackMLState, SortResult
from plc_configs.register_map import RegisterMap
from tests.conftest import free_port
from tests.simulators.sim_helpers import CLOCKED_PLC_AREA, wait_for


async def test_out_of_range_registers_are_reported_and_skipped_never_guessed():
    """A misbehaving PLC (a plain Modbus server with a bad register image)."""
    rm = RegisterMap()
    regs = [0] * 220
    regs[rm.plc.packml_state] = 99
    regs[rm.plc.conveyor_running] = 7
    ring = rm.plc.confirm_ring
    good, bad = ring.entry_address(0), ring.entry_address(1)
    regs[good : good + 4] = [0, 5, 3, int(SortResult.DIVERTED)]
    regs[bad : bad + 4] = [0, 6, 3, 42]
    regs[rm.plc.confirm_write_index] = 2
    regs[rm.plc.scan_write_index] = 40  # outside a 16-entry ring
    port = free_port()
    device = SimDevice(id=0, simdata=[SimData(0, values=regs, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    try:
        plc = ModbusTcpSorterPlc("sorter", f"modbus-tcp://127.0.0.1:{port}", rm, 0.5)
        await wait_for(lambda: True)
        await plc.connect()
        poll = await plc.poll()
        assert poll.status.packml_state is PackMLState.UNDEFINED
        problems = {p.register.split(" ")[0]: p for p in poll.problems}
        assert problems["packml_state"].value == 99
        assert problems["conveyor_running"].value == 7
        assert problems["scan_write_index"].value == 40
        bad_result = next(p for p in poll.problems if p.register.startswith("confirm_ring[1]"))
        assert bad_result.value == 42 and "tracking id 6" in bad_result.register
        assert [c.tracking_id for c in poll.confirmations] == [5]
        assert poll.scans == ()
        await plc.close()
    finally:
        await server.shutdown()


async def test_a_refused_write_is_a_device_fault_naming_address_and_values():
    """The PLC area is read-only for clients: a write there gets exception 2."""
    rm = RegisterMap()
    port = free_port()
    device = SimDevice(
        id=0,
        simdata=[
            SimData(0, count=200, values=0, datatype=DataType.REGISTERS, readonly=True),
            SimData(200, count=20, values=0, datatype=DataType.REGISTERS),
        ],
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    try:
        plc = ModbusTcpSorterPlc("sorter", f"modbus-tcp://127.0.0.1:{port}", rm, 0.5)
        await plc.connect()
        await plc.write_heartbeat(7)  # the host area takes it
        with pytest.raises(DeviceFault, match=r"write of \[1\] at 0 refused: .*exception code 2"):
            await plc._write(0, [1])
        assert plc.connected  # an exception response is an answer: the link stays up
        assert (await plc.poll()).status.heartbeat == 0
        await plc.close()
    finally:
        await server.shutdown()


async def _serve(reply: bytes | None) -> tuple[asyncio.Server, int]:
    """A TCP server that answers every request with ``reply`` (None: closes instead)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(260):
            if reply is None:
                break
            writer.write(reply)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_malformed_or_dropped_response_is_a_typed_error_naming_the_plc():
    rm = RegisterMap()
    # transaction 1 (the connect's read) answered with function 4 instead of 3
    server, port = await _serve(bytes.fromhex("000100000003010400"))
    url = f"modbus-tcp://127.0.0.1:{port}"
    try:
        plc = ModbusTcpSorterPlc("sorter", url, rm, 0.5)
        with pytest.raises(ProtocolError, match=f"sorter \\({url}\\).*has function 4"):
            await plc.connect()
        await plc.close()
    finally:
        server.close()
    server, port = await _serve(None)
    url = f"modbus-tcp://127.0.0.1:{port}"
    try:
        plc = ModbusTcpSorterPlc("sorter", url, rm, 0.5)
        with pytest.raises(ConnectionLost, match="link lost while reading"):
            await plc.connect()
        await plc.close()
    finally:
        server.close()


async def test_a_plc_that_stamps_its_scans_gives_each_its_age_by_its_own_clock(caplog):
    """The PLC's millisecond clock (16 bits, wrapping) and each scan's stamp: the age is
    their difference, and the poll's bound adds the read's own time. A stamp older than
    the read before it (the wrong clock register, say) leaves the scan unstamped, with a
    warning that says what to check."""
    rm = RegisterMap.model_validate({"plc": CLOCKED_PLC_AREA})
    p = rm.plc
    port = free_port()
    device = SimDevice(id=0, simdata=[SimData(0, values=[0] * 220, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    regs = server.context.devices[0].block["x"][2]  # type: ignore[union-attr]

    def scan(index: int, tracking_id: int, stamp: int) -> None:
        at = p.scan_ring.entry_address(index)
        regs[at : at + 3] = [0, tracking_id, stamp]
        regs[p.scan_write_index] = index + 1

    try:
        plc = ModbusTcpSorterPlc("sorter", f"modbus-tcp://127.0.0.1:{port}", rm, 0.5)
        await plc.connect()
        regs[p.clock] = 900
        assert (await plc.poll()).scans == ()  # the first read: what the ring kept
        regs[p.clock] = 1000
        scan(0, 7, 990)
        scan(1, 8, 996)
        poll = await plc.poll()
        assert [(s.tracking_id, s.age_s) for s in poll.scans] == [(7, 0.010), (8, 0.004)]
        # the oldest, plus the read's time and a clock tick: entered at most this long ago
        assert 0.011 < poll.scans_age_s < 0.011 + 0.5
        regs[p.clock] = 20  # the clock wrapped after the parcel entered
        scan(2, 9, 65530)
        poll = await plc.poll()
        assert [(s.tracking_id, s.age_s) for s in poll.scans] == [(9, 0.026)]
        regs[p.clock] = 50000
        scan(3, 10, 49800)  # 200 ms ago, yet the read just before did not show it
        with caplog.at_level(logging.WARNING, logger="drivers.plc.modbus_tcp"):
            poll = await plc.poll()
        assert [(s.tracking_id, s.age_s) for s in poll.scans] == [(10, None)]
        assert poll.scans_age_s is None  # as for a PLC that does not stamp
        assert plc.stamps_distrusted == 1
        assert "register 14" in caplog.text and "register_map.plc.clock" in caplog.text
        await plc.close()
    finally:
        await server.shutdown()
