"""The Modbus TCP sorter-PLC driver against a misbehaving PLC (the contract: test_plc_contract)."""

from __future__ import annotations

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from plc_configs.contract import PackMLState, SortResult
from plc_configs.register_map import RegisterMap
from tests.conftest import free_port
from tests.simulators.sim_helpers import wait_for


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
