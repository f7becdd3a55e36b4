"""The PLC link reads slowly at rest and still answers a request it did not foresee in time.

The PLC is a plain pymodbus server on loopback whose registers the test writes, so it
can post a destination request with no scan event before it (nothing told the link a
request was coming: the link is in its slow phase). Against the simulated PLC with its
clock on, the link learns when requests come from the stamps of the scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from controller.line.controller import LineController
from controller.line.poll_pace import LEARN_AFTER
from plc_configs.contract import PackMLState, join_u32
from plc_configs.register_map import RegisterMap
from plc_configs.schema import LineConfig
from tests.conftest import free_port
from tests.controller.line.helpers import (
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)
from tests.simulators.sim_helpers import CLOCKED_PLC_AREA

DEADLINE_S = 0.2


def _config(port: int) -> LineConfig:
    # 1 m/s: 200 ms of scan window and of read budget, 400 ms from request to decision
    data = line_config().model_dump(mode="python")
    data["topology"]["belt_speed_mps"] = 1.0
    data["decision"]["deadline_ms"] = DEADLINE_S * 1000
    data["devices"]["sorter"]["url"] = f"modbus-tcp://127.0.0.1:{port}"
    return LineConfig.model_validate(data)


async def _tick(regs: list[int], address: int) -> None:
    """The PLC's life counter."""
    while True:
        regs[address] = (regs[address] + 1) & 0xFFFF
        await asyncio.sleep(0.02)


async def test_an_idle_link_reads_slowly_and_answers_an_unforeseen_request_in_time(tmp_path):
    rm = RegisterMap()
    port = free_port()
    device = SimDevice(id=0, simdata=[SimData(0, values=[0] * 220, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    regs = server.context.devices[0].block["x"][2]  # type: ignore[union-attr]
    regs[rm.plc.packml_state] = int(PackMLState.EXECUTE)
    regs[rm.plc.conveyor_running] = 1
    ticker = asyncio.create_task(_tick(regs, rm.plc.heartbeat))
    try:
        line = LineController(_config(port), tmp_path)
        async with running(line):
            link = line.plc
            await until(lambda: link.link.up and link.reads > 5)
            assert link.pace.slow_s == 0.02  # 50 reads a second at rest
            reads, start = link.reads, time.perf_counter()
            await asyncio.sleep(1.0)
            rate = (link.reads - reads) / (time.perf_counter() - start)
            # At most 50 a second at the slow pace (fewer when the loop is late); the fast
            # pace (0.5 ms) would read more than 500 times a second even on a busy machine.
            assert 10 <= rate <= 60, rate

            posted = time.perf_counter()
            regs[rm.plc.request_tracking_id : rm.plc.request_tracking_id + 2] = [0, 4242]
            regs[rm.plc.request_seq] = 1
            await until(lambda: regs[rm.host.answer_seq] == 1, within=2)
            answered_s = time.perf_counter() - posted
            host = rm.host
            tid = join_u32(regs[host.answer_tracking_id], regs[host.answer_tracking_id + 1])
            assert tid == 4242
            assert regs[host.answer_chute] == line.config.topology.reject_chute.id  # unknown
            # seen at the next slow read at the latest, answered at once: within the deadline
            assert answered_s < DEADLINE_S, answered_s
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await server.shutdown()


TICK_S = 0.001
"""The simulated PLC's cycle."""


@pytest.mark.parametrize("step_ms", [1, 10])  # 10: an S7-300's TIME_TCK
async def test_a_line_learns_its_scan_to_request_time_from_a_plc_that_stamps_its_scans(
    tmp_path, step_ms
):
    """Against the simulated PLC with its clock on: every parcel is answered, and the
    scan-to-request times learned from the stamps bracket the belt's own (scan point to
    request point at belt speed; the simulator posts a request at its next step, up to
    a tick late), which they could not if an age were counted wrong, even with a clock
    that steps 10 ms at a time."""
    parcels = LEARN_AFTER + 8
    config = line_config(
        register_map={"plc": {**CLOCKED_PLC_AREA, "clock_resolution_ms": step_ms}},
        simulation={"parcels": parcels, "rate_pph": 9000},
    )
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        async with running(line):
            await until(lambda: finished(line) == parcels, within=60)
            learned = line.plc.pace.learned_s
            distrusted = line.plc.driver.stamps_distrusted  # type: ignore[attr-defined]
            # the link drops and reconnects: what was learned is not learned again
            before = line.plc.pace
            await line.plc.driver.close()
            await until(lambda: line.plc.pace is not before and line.plc.link.up, within=10)
            relearned = line.plc.pace.learned_s
        counts = dict(line.tracker.counts)
    assert relearned == learned
    assert learned is not None
    assert distrusted == 0  # every stamp was taken: none older than the read before it
    budget_s = config.topology.read_budget_ms() / 1000
    shortest, longest = learned
    assert shortest <= budget_s + TICK_S and budget_s <= longest
    assert counts["lost"] == 0
