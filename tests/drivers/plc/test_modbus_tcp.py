"""Contract: the Modbus TCP sorter-PLC driver against the PLC simulator over a real socket."""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.errors import ConnectionLost, DeviceTimeout
from drivers.plc.base import PlcPoll
from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from plc_configs.contract import PackMLCommand, PackMLState, SortResult
from plc_configs.register_map import RegisterMap
from simulators.plc_modbus import PlcSimulator
from simulators.twin import LineTwin
from tests.conftest import free_port
from tests.simulators.sim_helpers import make_config, wait_for


@pytest.fixture
async def sim(request):
    overrides = getattr(request, "param", {})
    config = make_config(**overrides)
    simulator = PlcSimulator(config, LineTwin(config), port=0)
    await simulator.start()
    yield config, simulator
    await simulator.stop()


def _driver(config, simulator, timeout_s: float = 0.5) -> ModbusTcpSorterPlc:
    url = f"modbus-tcp://127.0.0.1:{simulator.port}"
    return ModbusTcpSorterPlc("sorter", url, config.register_map, timeout_s)


async def _poll_until(plc, predicate, within=3.0) -> PlcPoll:
    result: list[PlcPoll] = []

    async def check():
        poll = await plc.poll()
        result.append(poll)
        return predicate(poll)

    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out; last {result[-1]}"
        await asyncio.sleep(0.002)
    return result[-1]


@pytest.mark.parametrize(
    "sim", [{"simulation": {"plc": {"start_state": "stopped"}, "parcels": 1}}], indirect=True
)
async def test_packml_commands_bring_the_line_to_execute(sim):
    config, simulator = sim
    plc = _driver(config, simulator)
    await plc.connect()
    poll = await plc.poll()
    assert poll.status.packml_state is PackMLState.STOPPED and not poll.status.conveyor_running
    await plc.send_command(PackMLCommand.RESET)
    await _poll_until(plc, lambda p: p.status.packml_state is PackMLState.IDLE)
    await plc.send_command(PackMLCommand.START)
    poll = await _poll_until(plc, lambda p: p.status.packml_state is PackMLState.EXECUTE)
    assert poll.status.conveyor_running
    await plc.close()


# A slow belt: this test answers from a Python loop, which a loaded CI machine may not run
# within the 100 ms the fast test line leaves; the test is about the handshake, not speed.
SLOW_LINE = {"topology": {"belt_speed_mps": 1.0}, "simulation": {"parcels": 12, "rate_pph": 9000}}


@pytest.mark.parametrize("sim", [SLOW_LINE], indirect=True)
async def test_handshake_sorts_every_parcel_once_into_the_answered_chute(sim):
    config, simulator = sim
    plc = _driver(config, simulator)
    await plc.connect()
    scans: list[int] = []
    confirmations = {}
    answered: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(confirmations) < 12:
        assert loop.time() < deadline, f"only {len(confirmations)} confirmations"
        poll = await plc.poll()
        scans += [s.tracking_id for s in poll.scans]
        for c in poll.confirmations:
            assert c.tracking_id not in confirmations, "a confirmation came twice"
            confirmations[c.tracking_id] = c
        if poll.request is not None:
            chute = 1 + poll.request.tracking_id % 3
            await plc.answer(poll.request, chute)
            answered[poll.request.tracking_id] = chute
        await plc.acknowledge(
            poll.scans[-1].ring_index if poll.scans else None,
            poll.confirmations[-1].ring_index if poll.confirmations else None,
        )
        await asyncio.sleep(0.001)
    assert scans == list(range(1, 13))
    assert set(answered) == set(range(1, 13))
    for tid, c in confirmations.items():
        assert (c.result, c.chute) == (SortResult.DIVERTED, answered[tid])
    assert simulator.logic.stats.mismatched_answers == 0
    await plc.close()


@pytest.mark.parametrize("sim", [{"simulation": {"parcels": 4}}], indirect=True)
async def test_unacknowledged_entries_come_again_after_a_reconnect_acknowledged_do_not(sim):
    config, simulator = sim
    plc = _driver(config, simulator)
    await plc.connect()
    await _poll_until(plc, lambda p: len(p.scans) > 0)
    # Not acknowledged: after a reconnect the driver starts again from the PLC's read index.
    await plc.close()
    await plc.connect()
    again = await plc.poll()
    assert again.scans and again.scans[0].tracking_id == 1
    await plc.acknowledge(again.scans[-1].ring_index, None)
    last = again.scans[-1].tracking_id
    await plc.close()
    await plc.connect()
    after = await plc.poll()
    assert all(s.tracking_id > last for s in after.scans)
    await plc.close()


@pytest.mark.parametrize("sim", [{"simulation": {"parcels": 1}}], indirect=True)
async def test_a_stalled_plc_is_a_timeout_naming_the_device(sim):
    config, simulator = sim
    plc = _driver(config, simulator, timeout_s=0.1)
    await plc.connect()
    simulator.stall(1.0)
    with pytest.raises(DeviceTimeout, match=r"sorter \(modbus-tcp://127\.0\.0\.1:\d+\): no answer"):
        await plc.poll()
    await plc.close()


async def test_unreachable_plc_is_connection_lost_with_its_address():
    port = free_port()
    plc = ModbusTcpSorterPlc("sorter", f"modbus-tcp://127.0.0.1:{port}", RegisterMap(), 0.2)
    with pytest.raises(ConnectionLost, match=f"127.0.0.1:{port}"):
        await plc.connect()
    with pytest.raises(ConnectionLost, match="not connected"):
        await plc.poll()


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
