"""The sorter PLC simulator over a real Modbus TCP socket, with a plain pymodbus client."""

from __future__ import annotations

import asyncio

from plc_configs.contract import PackMLCommand, PackMLState, PlcFault, SortResult
from plc_configs.register_map import RegisterMap
from simulators.twin import EventKind
from tests.simulators.sim_helpers import make_config, wait_for

REJECT = 9


def slow_config(**simulation):
    """A slow belt for tests where this Python host must answer in time.

    At the shared test line's 4 m/s the PLC leaves 100 ms for an answer; a loaded CI
    machine can miss that from a polling loop in Python, and these tests are about what
    the PLC does with answers, not about how fast they come.
    """
    return make_config(
        topology={"belt_speed_mps": 1.0},
        simulation={"rate_pph": 9000, "chute_empty_after_s": 10, **simulation},
    )


async def run_line(host, answer, *, count, within=15.0):
    """Play the controller: answer every request with ``answer(tid)``, collect confirmations."""
    confirms: list[tuple[int, int, int]] = []

    async def loop():
        answered = set()
        while len(confirms) < count:
            request = await host.request()
            if request is not None and request[0] not in answered:
                seq, tid = request
                answered.add(seq)
                chute = answer(tid)
                if chute is not None:
                    await host.answer(seq, tid, chute)
            await host.new_scans()
            confirms.extend(await host.new_confirms())
            await asyncio.sleep(0.002)

    await asyncio.wait_for(loop(), within)
    return confirms


async def test_plc_area_read_and_packml_reset_start(plc_sim):
    config = make_config(simulation={"plc": {"start_state": "stopped"}})
    sim, host = await plc_sim(config)
    p = config.register_map.plc
    regs = await host.plc()
    assert len(regs) == 112 and config.register_map.plc_block == (0, 112)
    assert regs[p.packml_state] == PackMLState.STOPPED and regs[p.conveyor_running] == 0
    await host.command(PackMLCommand.START)  # invalid in Stopped: ignored
    await host.command(PackMLCommand.RESET)
    assert (await host.plc())[p.packml_state] == PackMLState.RESETTING
    await wait_for(lambda: _state_is(host, PackMLState.IDLE))
    await host.command(PackMLCommand.START)
    await wait_for(lambda: _state_is(host, PackMLState.EXECUTE))
    assert (await host.plc())[p.conveyor_running] == 1
    assert sim.logic.packml.invalid_commands == 1
    beat = (await host.plc())[p.heartbeat]
    await wait_for(lambda: _changed(host, p.heartbeat, beat))


async def _state_is(host, state):
    return (await host.plc())[host.rm.plc.packml_state] == state


async def _changed(host, address, old):
    return (await host.plc())[address] != old


async def test_plc_area_is_read_only_for_clients(plc_sim):
    config = make_config()
    _, host = await plc_sim(config)
    response = await host.write(config.register_map.plc.packml_state, [6])
    assert response.isError()
    host_block = config.register_map.host_block
    ok = await host.client.read_holding_registers(host_block[0], count=host_block[1], device_id=9)
    assert not ok.isError() and len(ok.registers) == host_block[1]  # any unit id


async def test_scan_ring_entries_in_order_and_divert_confirmation(plc_sim):
    config = slow_config(parcels=4)
    sim, host = await plc_sim(config)
    scans: list[int] = []
    confirms = []
    drained_seen: list[tuple[bool, int]] = []

    async def collect():
        seen = set()
        while len(confirms) < 4:
            drained_seen.append((sim.drained.is_set(), sim.logic.confirm_ring.written))
            scans.extend(await host.new_scans())
            request = await host.request()
            if request and request[0] not in seen:
                seen.add(request[0])
                await host.answer(request[0], request[1], 1 + request[1] % 3)
            confirms.extend(await host.new_confirms())
            await asyncio.sleep(0.002)

    await asyncio.wait_for(collect(), 15)
    assert scans == [1, 2, 3, 4]
    assert confirms == [(t, 1 + t % 3, SortResult.DIVERTED) for t in (1, 2, 3, 4)]
    latencies = [sim.twin.parcels[t].answer_latency_ms for t in (1, 2, 3, 4)]
    assert all(lat is not None and 0 <= lat < 100 for lat in latencies)
    assert sim.logic.drained
    await asyncio.wait_for(sim.drained.wait(), 1)  # what the simulator process waits for
    # set once the last confirmation is in the ring, not before
    assert all(written == 4 for drained, written in drained_seen if drained)
    assert not drained_seen[0][0]


async def test_wrong_seq_or_tracking_id_is_ignored(plc_sim):
    config = make_config(simulation={"parcels": 1})
    sim, host = await plc_sim(config)
    request = await wait_for(host.request)
    seq, tid = request
    await host.answer((seq % 0xFFFF) + 1, tid, 2)  # wrong seq
    await host.answer(seq, tid + 1, 2)  # wrong tracking id
    assert await host.request() == (seq, tid)  # still open
    assert sim.logic.stats.mismatched_answers == 2
    confirms = await run_line(host, lambda _tid: None, count=1)
    assert confirms == [(tid, REJECT, SortResult.NO_ANSWER)]


async def test_no_answer_goes_to_the_reject_chute(plc_sim):
    config = make_config(simulation={"parcels": 3})
    sim, host = await plc_sim(config)
    confirms = await run_line(host, lambda _tid: None, count=3)
    assert confirms == [(t, REJECT, SortResult.NO_ANSWER) for t in (1, 2, 3)]
    assert sim.logic.stats.unanswered == 3
    assert sim.twin.reject.count == 3


async def test_ring_overflow_keeps_every_entry(plc_sim):
    rm = RegisterMap(plc={"scan_ring": {"start": 16, "size": 4, "entry_words": 2}})
    config = make_config(register_map=rm.model_dump(), simulation={"parcels": 7})
    sim, host = await plc_sim(config)
    overflow = 1 << PlcFault.RING_OVERFLOW
    # The host does not acknowledge scans: 3 fit in a ring of 4, the rest wait.
    await run_line(host, lambda _tid: None, count=0)
    await wait_for(lambda: sim.twin.stats.inducted == 7 and sim.logic.scan_ring.backlog == 4)
    regs = await host.plc()
    assert regs[config.register_map.plc.fault_word] & overflow
    scans = []
    while len(scans) < 7:
        scans.extend(await host.new_scans())
    assert scans == list(range(1, 8))
    regs = await host.plc()
    assert not regs[config.register_map.plc.fault_word] & overflow
    assert sim.logic.scan_ring.overflowed == 4


async def test_full_chute_gives_chute_full(plc_sim):
    config = slow_config(parcels=3, chute_capacity_override={1: 1})
    _, host = await plc_sim(config)
    confirms = await run_line(host, lambda _tid: 1, count=3)
    assert confirms == [
        (1, 1, SortResult.DIVERTED),
        (2, REJECT, SortResult.CHUTE_FULL),
        (3, REJECT, SortResult.CHUTE_FULL),
    ]
    regs = await host.plc()
    assert regs[config.register_map.plc.chute_full] & 0b1


async def test_forced_full_and_disabled_chutes(plc_sim):
    config = slow_config(parcels=2)
    sim, host = await plc_sim(config)
    sim.force_chute_full(2)
    await host.write(config.register_map.host.chute_disable_request, [0b100, 0])
    regs = await host.plc()
    p = config.register_map.plc
    assert (regs[p.chute_full], regs[p.chute_disabled]) == (0b10, 0b100)
    confirms = await run_line(host, lambda tid: 1 + tid, count=2)
    assert confirms == [(1, REJECT, SortResult.CHUTE_FULL), (2, REJECT, SortResult.CHUTE_DISABLED)]


async def test_out_of_range_host_values_do_not_crash(plc_sim):
    config = slow_config(parcels=2)
    sim, host = await plc_sim(config)
    h = config.register_map.host
    await host.write(h.command, [77, 1])
    await host.write(h.scan_read_index, [99, 999])
    await host.write(h.chute_disable_request, [0xFFFF, 0xFFFF])
    await host.write(h.chute_disable_request, [0, 0])
    confirms = await run_line(host, lambda _tid: 9999, count=2)
    assert confirms == [(t, REJECT, SortResult.INVALID_ANSWER) for t in (1, 2)]
    stats = sim.logic.stats
    assert sim.logic.packml.invalid_commands == 1
    assert stats.invalid_answers == 2 and stats.invalid_host_values >= 3
    assert sim.action_errors == 0
    assert (await host.plc())[config.register_map.plc.packml_state] == PackMLState.EXECUTE


async def test_host_heartbeat_lost_over_modbus(plc_sim):
    config = make_config()
    _, host = await plc_sim(config)
    lost = 1 << PlcFault.HOST_HEARTBEAT_LOST
    fw = config.register_map.plc.fault_word
    await host.write(config.register_map.host.heartbeat, [1])
    await wait_for(lambda: _bit(host, fw, lost))
    await host.write(config.register_map.host.heartbeat, [2])
    assert not (await host.plc())[fw] & lost


async def _bit(host, address, mask):
    return (await host.plc())[address] & mask


async def test_fault_hooks_disconnect_stall_freeze(plc_sim):
    config = make_config()
    sim, host = await plc_sim(config)
    hb = config.register_map.plc.heartbeat
    sim.freeze_heartbeat()
    frozen = (await host.plc())[hb]
    await asyncio.sleep(0.1)
    assert (await host.plc())[hb] == frozen
    sim.freeze_heartbeat(False)
    sim.stall(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await host.plc()
    assert loop.time() - started >= 0.15
    assert sim.disconnect_clients() == 1
    await wait_for(lambda: not host.client.connected)


async def test_the_plc_cycle_runs_when_something_is_due_not_every_millisecond(plc_sim):
    """With no client request at all, the cycle alone carries every parcel from induction
    to its chute, passing each event to the twin's listeners; it ran about once per
    life-counter tick and parcel event, not once a millisecond."""
    config = make_config(simulation={"parcels": 3})
    sim, _ = await plc_sim(config)
    seen: list[tuple[EventKind, int]] = []
    sim.twin.listeners.append(lambda event: seen.append((event.kind, event.parcel.tracking_id)))
    sync, cycles = sim.sync, []
    sim.sync = lambda: (cycles.append(1), sync())[1]
    started = asyncio.get_running_loop().time()
    await wait_for(lambda: sim.twin.stats.landed == 3)
    elapsed = asyncio.get_running_loop().time() - started
    for tid in (1, 2, 3):
        kinds = [kind for kind, t in seen if t == tid]
        assert kinds[-4:] == [EventKind.SCANNED, EventKind.REQUESTED, EventKind.DECIDED,
                              EventKind.LANDED]  # fmt: skip
    assert {r for r in sim.twin.stats.results} == {"NO_ANSWER"}
    heartbeats = elapsed / (config.simulation.plc.heartbeat_interval_ms / 1000)
    assert len(cycles) <= heartbeats + 5 * 3 + 5, (len(cycles), elapsed)  # 1 ms: ~elapsed*1000
