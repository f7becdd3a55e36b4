"""Contract: every sorter PLC driver against its simulator over a real socket.

The same tests run over Modbus TCP and over OPC UA (SignAndEncrypt), see conftest.py.
"""

from __future__ import annotations

import asyncio

import pytest

from drivers.errors import ConnectionLost, DeviceTimeout
from drivers.plc.base import PlcPoll, SorterPlc
from plc_configs.contract import PackMLCommand, PackMLState, SortResult
from tests.conftest import free_port
from tests.drivers.plc.conftest import PlcRig, opcua_driver
from tests.simulators.sim_helpers import make_config


async def poll_until(plc: SorterPlc, predicate, within=3.0) -> PlcPoll:
    """Poll until ``predicate(poll)`` holds; fail after ``within`` seconds."""
    result: list[PlcPoll] = []
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result.append(await plc.poll())
        if predicate(result[-1]):
            return result[-1]
        assert asyncio.get_running_loop().time() < deadline, f"timed out; last {result[-1]}"
        await asyncio.sleep(0.002)


async def run_handshake(
    plc: SorterPlc, confirmations: dict, answered: dict, count: int, within: float = 30
) -> list[int]:
    """Play the controller until ``count`` confirmations are in; return the scans seen.

    A confirmation delivered twice fails the test (it was acknowledged after the first).
    """
    scans: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(confirmations) < count:
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
    return scans


@pytest.mark.parametrize(
    "plc_rig", [{"config": {"simulation": {"plc": {"start_state": "stopped"}, "parcels": 1}}}],
    indirect=True,
)  # fmt: skip
async def test_packml_commands_bring_the_line_to_execute(plc_rig: PlcRig):
    plc = plc_rig.driver()
    await plc.connect()
    poll = await plc.poll()
    assert poll.status.packml_state is PackMLState.STOPPED and not poll.status.conveyor_running
    await plc.send_command(PackMLCommand.RESET)
    await poll_until(plc, lambda p: p.status.packml_state is PackMLState.IDLE)
    await plc.send_command(PackMLCommand.START)
    poll = await poll_until(plc, lambda p: p.status.packml_state is PackMLState.EXECUTE)
    assert poll.status.conveyor_running


# A slow belt: this test answers from a Python loop, which a loaded CI machine may not run
# within the 100 ms the fast test line leaves; the test is about the handshake, not speed.
# The line starts stopped: nothing moves before the driver has connected and started it.
SLOW_LINE = {
    "topology": {"belt_speed_mps": 1.0},
    "simulation": {"parcels": 12, "rate_pph": 9000, "plc": {"start_state": "stopped"}},
}


async def start_line(plc: SorterPlc) -> None:
    """Reset and start the PLC (the belt runs once it is in Execute)."""
    await plc.send_command(PackMLCommand.RESET)
    await poll_until(plc, lambda p: p.status.packml_state is PackMLState.IDLE)
    await plc.send_command(PackMLCommand.START)
    await poll_until(plc, lambda p: p.status.packml_state is PackMLState.EXECUTE)


@pytest.mark.parametrize("plc_rig", [{"config": SLOW_LINE}], indirect=True)
async def test_handshake_sorts_every_parcel_once_into_the_answered_chute(plc_rig: PlcRig):
    plc = plc_rig.driver()
    await plc.connect()
    await start_line(plc)
    confirmations: dict = {}
    answered: dict[int, int] = {}
    scans = await run_handshake(plc, confirmations, answered, 12)
    assert scans == list(range(1, 13))
    assert set(answered) == set(range(1, 13))
    for tid, c in confirmations.items():
        assert (c.result, c.chute) == (SortResult.DIVERTED, answered[tid])
    assert plc_rig.simulator.logic.stats.mismatched_answers == 0


@pytest.mark.parametrize("plc_rig", [{"config": {"simulation": {"parcels": 4}}}], indirect=True)
async def test_unacknowledged_entries_come_again_after_a_reconnect_acknowledged_do_not(
    plc_rig: PlcRig,
):
    plc = plc_rig.driver()
    await plc.connect()
    await poll_until(plc, lambda p: len(p.scans) > 0)
    # Not acknowledged: after a reconnect the driver starts again from the PLC's read index.
    await plc.close()
    await plc.connect()
    again = await poll_until(plc, lambda p: len(p.scans) > 0)
    assert again.scans[0].tracking_id == 1
    await plc.acknowledge(again.scans[-1].ring_index, None)
    last = again.scans[-1].tracking_id
    await plc.close()
    await plc.connect()
    after = await plc.poll()
    assert all(s.tracking_id > last for s in after.scans)


@pytest.mark.parametrize("plc_rig", [{"config": {"simulation": {"parcels": 1}}}], indirect=True)
async def test_a_stalled_plc_is_a_timeout_naming_the_device(plc_rig: PlcRig):
    plc = plc_rig.driver(timeout_s=0.1)
    await plc.connect()
    plc_rig.simulator.stall(1.0)
    named = r"sorter \((modbus-tcp|opc\.tcp)://127\.0\.0\.1:\d+.*no answer"
    with pytest.raises(DeviceTimeout, match=named):
        await plc.write_heartbeat(7)


@pytest.mark.parametrize("plc_rig", [{"config": {"simulation": {"parcels": 1}}}], indirect=True)
async def test_chute_disable_requests_reach_the_plc(plc_rig: PlcRig):
    plc = plc_rig.driver()
    await plc.connect()
    await plc.request_chutes_disabled(frozenset({2, 3}))
    poll = await poll_until(plc, lambda p: p.status.chute_disabled == {2, 3})
    assert poll.status.chute_full == frozenset()
    plc_rig.simulator.force_chute_full(1)
    await poll_until(plc, lambda p: p.status.chute_full == {1})
    with pytest.raises(ValueError, match="33"):
        await plc.request_chutes_disabled(frozenset({33}))


async def test_unreachable_plc_is_connection_lost_with_its_address(backend, tmp_path):
    port = free_port()
    if backend == "modbus":
        from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
        from plc_configs.register_map import RegisterMap

        plc: SorterPlc = ModbusTcpSorterPlc(
            "sorter", f"modbus-tcp://127.0.0.1:{port}", RegisterMap(), 0.2
        )
    else:
        plc = opcua_driver(make_config(), f"opc.tcp://127.0.0.1:{port}/plc", tmp_path, 0.2)
    with pytest.raises(ConnectionLost, match=f"127.0.0.1:{port}"):
        await plc.connect()
    with pytest.raises(ConnectionLost, match="not connected"):
        await plc.poll()
