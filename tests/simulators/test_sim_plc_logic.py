"""PackML machine, register rings and the PLC program, stepped without sockets."""

from __future__ import annotations

import math

import pytest

from plc_configs.contract import (
    PackMLCommand,
    PackMLState,
    PlcFault,
    SortResult,
    join_u32,
    split_u32,
)
from plc_configs.register_map import RingLayout
from simulators.packml import PackMLMachine
from simulators.plc_logic import PlcLogic, register_count
from simulators.rings import RegisterRing
from simulators.scenario import parse_scenario
from simulators.twin import EventKind, LineTwin
from tests.simulators.sim_helpers import CLOCKED_PLC_AREA, make_config

C, S = PackMLCommand, PackMLState


def test_packml_reset_start_stop_with_transition_time():
    m = PackMLMachine(S.STOPPED, transition_s=0.2)
    assert not m.command(C.START, 0.0)  # Start is not valid in Stopped
    assert m.command(C.RESET, 0.0) and m.state is S.RESETTING
    assert m.step(0.19) is S.RESETTING
    assert m.step(0.2) is S.IDLE
    assert m.command(C.START, 1.0) and m.step(1.2) is S.EXECUTE and m.executing
    assert m.command(C.HOLD, 2.0) and m.step(2.2) is S.HELD
    assert m.command(C.UNHOLD, 3.0) and m.step(3.2) is S.EXECUTE
    assert m.command(C.STOP, 4.0) and m.step(4.2) is S.STOPPED
    assert m.invalid_commands == 1


def test_packml_abort_from_anywhere_and_clear():
    for start in (S.IDLE, S.EXECUTE, S.STARTING, S.STOPPED):
        m = PackMLMachine(start, transition_s=0)
        assert m.command(C.ABORT, 0) and m.step(0) is S.ABORTED
        assert not m.command(C.RESET, 0)
        assert m.command(C.CLEAR, 0) and m.step(0) is S.STOPPED


def test_packml_unknown_and_unsupported_commands_are_counted():
    m = PackMLMachine(S.EXECUTE, transition_s=0)
    assert not m.command(77, 0)
    assert not m.command(0, 0)
    assert not m.command(C.SUSPEND, 0)
    assert m.state is S.EXECUTE and m.invalid_commands == 3


def test_ring_full_rule_and_fifo_never_drops():
    regs = [0] * 40
    ring = RegisterRing(regs, RingLayout(start=10, size=4, entry_words=2), write_index_address=0)
    for i in range(1, 7):
        ring.push([0, i])
    # Size 4 holds 3 unacknowledged entries; 3 wait outside.
    assert regs[0] == 3 and ring.full and ring.backlog == 3 and ring.overflowed == 3
    assert [regs[10 + 2 * k + 1] for k in range(3)] == [1, 2, 3]
    assert ring.set_read_index(2)
    assert regs[0] == 1 and ring.backlog == 1  # entries 4 and 5 written at slots 3 and 0
    assert (regs[10 + 2 * 3 + 1], regs[10 + 1]) == (4, 5)
    assert not ring.set_read_index(4)  # out of range: ignored
    assert ring.set_read_index(1) and ring.backlog == 0 and regs[10 + 2 * 1 + 1] == 6


def new_logic(**overrides):
    config = make_config(**overrides)
    twin = LineTwin(config)
    regs = [0] * register_count(config.register_map)
    return config, twin, regs, PlcLogic(config, twin, regs)


def test_belt_and_induction_only_in_execute():
    config, twin, regs, plc = new_logic(simulation={"plc": {"start_state": "stopped"}})
    p, h = config.register_map.plc, config.register_map.host
    for t in range(100):
        plc.step(t * 0.01)
    assert twin.belt_mm == 0 and twin.stats.inducted == 0 and regs[p.conveyor_running] == 0
    plc.on_host_write(h.command, [C.RESET, 1], 1.0)
    plc.step(1.1)
    plc.on_host_write(h.command, [C.START, 2], 1.1)
    plc.step(1.2)
    assert regs[p.packml_state] == S.EXECUTE and regs[p.conveyor_running] == 1
    plc.step(1.7)
    assert twin.belt_mm > 1000 and twin.stats.inducted >= 1
    plc.on_host_write(h.command, [C.HOLD, 3], 1.7)
    plc.step(2.0)
    held_at = twin.belt_mm
    plc.step(3.0)
    assert regs[p.packml_state] == S.HELD and twin.belt_mm == held_at


def test_command_needs_a_new_sequence_number():
    config, _, regs, plc = new_logic(
        simulation={"plc": {"start_state": "stopped", "transition_ms": 0}}
    )
    p, h = config.register_map.plc, config.register_map.host
    plc.on_host_write(h.command, [C.RESET, 0], 0.0)  # seq unchanged from 0: no reaction
    plc.step(0.1)
    assert regs[p.packml_state] == S.STOPPED
    plc.on_host_write(h.command_seq, [5], 0.2)
    plc.step(0.3)
    assert regs[p.packml_state] == S.IDLE


def test_heartbeat_ticks_wraps_and_freezes():
    config, _, regs, plc = new_logic()
    hb = config.register_map.plc.heartbeat
    plc.heartbeat = 0xFFFF
    plc.step(0.0)
    plc.step(0.021)
    assert regs[hb] == 0
    plc.step(0.042)
    assert regs[hb] == 1
    plc.heartbeat_frozen = True
    plc.step(0.1)
    plc.step(0.2)
    assert regs[hb] == 1


def test_host_heartbeat_lost_and_back():
    config, _, regs, plc = new_logic()
    fw, host_hb = config.register_map.plc.fault_word, config.register_map.host.heartbeat
    lost = 1 << PlcFault.HOST_HEARTBEAT_LOST
    plc.step(10.0)
    assert not regs[fw] & lost  # never seen changing: no fault
    plc.on_host_write(host_hb, [1], 10.0)
    plc.step(10.1)
    assert not regs[fw] & lost
    plc.on_host_write(host_hb, [1], 10.1)  # same value is not a change
    plc.step(10.16)
    assert regs[fw] & lost
    plc.on_host_write(host_hb, [2], 10.2)
    assert not regs[fw] & lost


def test_mailbox_seq_never_zero_and_answers_checked():
    config, twin, regs, plc = new_logic(simulation={"parcels": 2})
    p = config.register_map.plc
    answer_at = config.register_map.host.answer_seq
    plc.request_seq = 0xFFFF  # next post wraps to 1, never 0
    t = 0.0
    while not plc.queue:
        t += 0.001
        plc.step(t)
    assert regs[p.request_seq] == 1 and regs[p.pending_requests] >= 1
    tid = join_u32(regs[p.request_tracking_id], regs[p.request_tracking_id + 1])
    assert tid == 1
    plc.on_host_write(answer_at, [2, 0, 1, 2], t)  # wrong seq
    plc.on_host_write(answer_at, [1, 0, 2, 2], t)  # wrong tracking id
    assert plc.stats.mismatched_answers == 2 and twin.parcels[1].answered_chute is None
    plc.on_host_write(answer_at, [1, 0, 1, 2], t + 0.003)
    assert twin.parcels[1].answered_chute == 2
    assert 2.9 < twin.parcels[1].answer_latency_ms < 3.1
    plc.on_host_write(answer_at, [1, 0, 1, 3], t + 0.004)  # repeated answer: ignored
    assert twin.parcels[1].answered_chute == 2 and plc.stats.mismatched_answers == 3
    while twin.stats.landed < 2:
        t += 0.001
        plc.step(t)
    assert twin.parcels[1].result is SortResult.DIVERTED
    assert twin.parcels[2].result is SortResult.NO_ANSWER
    assert regs[p.pending_requests] == 0 and plc.drained


def test_disable_request_bits():
    config, twin, regs, plc = new_logic()
    h, p = config.register_map.host, config.register_map.plc
    plc.on_host_write(h.chute_disable_request, [0b110, 0], 0.0)
    assert twin.disabled_chutes() == {2, 3} and regs[p.chute_disabled] == 0b110
    plc.on_host_write(h.chute_disable_request, [0b1000_0001, 0], 0.0)  # chute 8 unknown
    assert twin.disabled_chutes() == {1} and plc.stats.invalid_host_values == 1


def test_scenario_jam_sets_the_disabled_bit_from_at_s_and_clears_it_after_seconds():
    config, twin, regs, plc = new_logic()
    p = config.register_map.plc
    jams = parse_scenario("chutes: [{at_s: 30, chute: 2, fault: jam, seconds: 5}]").chutes
    plc.schedule_chute_faults(jams, origin_s=100.0)  # scenario time 0 = PLC time 100
    plc.step(129.9)
    assert regs[p.chute_disabled] == 0 and twin.disabled_chutes() == frozenset()
    plc.step(130.0)
    assert regs[p.chute_disabled] == 0b10 and twin.disabled_chutes() == {2}
    h = config.register_map.host
    plc.on_host_write(h.chute_disable_request, [0b1, 0], 131.0)  # the host's own request
    assert regs[p.chute_disabled] == 0b11
    plc.step(135.0)
    assert regs[p.chute_disabled] == 0b1 and twin.disabled_chutes() == {1}


def test_parcel_answered_to_a_jammed_chute_goes_to_reject_as_chute_disabled():
    _, twin, _, plc = new_logic(simulation={"parcels": 2})
    plc.schedule_chute_faults(
        parse_scenario("chutes: [{at_s: 0, chute: 2, fault: jam}]").chutes, origin_s=0.0
    )
    t = 0.0
    while twin.stats.landed < 2 and t < 5:
        t += 0.001
        plc.step(t)
        for tid in list(plc.queue):
            twin.record_answer(tid, 2, 1.0)
    assert {p.result for p in twin.parcels.values()} == {SortResult.CHUTE_DISABLED}
    assert {p.landed_chute for p in twin.parcels.values()} == {twin.reject.id}


def test_next_due_s_foresees_every_change_of_the_plc():
    """Stepped only when ``next_due_s`` says (and at host writes), every twin event comes
    on the step at its own belt position, never later; a step half-way to the next due
    time, or just before it, changes no register and passes no event. The run covers a
    start-up transition, parcels with answers, a chute filling and being emptied, a
    scenario jam starting and ending, the life counter and the host's life counter
    timing out."""
    config, twin, regs, plc = new_logic(
        simulation={
            "parcels": 12,
            "chute_capacity_override": {2: 2},
            "plc": {"start_state": "stopped", "transition_ms": 20},
        }
    )
    h = config.register_map.host
    plc.schedule_chute_faults(
        parse_scenario("chutes: [{at_s: 0.613, chute: 3, fault: jam, seconds: 0.251}]").chutes, 0.0
    )
    writes = [(0.05, h.command, [C.RESET, 1]), (0.1, h.command, [C.START, 2])]
    writes += [(0.103 + 0.1 * k, h.heartbeat, [k + 1]) for k in range(8)]  # then it stops
    assert plc.next_due_s() == -math.inf  # never stepped: due at once
    plc.step(0.0)
    kinds_seen, steps, t = set(), 0, 0.0
    while t < 3.0:
        due = min(plc.next_due_s(), writes[0][0] if writes else 10.0)
        assert due > t, "nothing is due before now"
        before, now_before = list(regs), plc.now_s
        for probe in (t + (due - t) / 2, due - 1e-6):
            assert plc.step(probe) == [] and regs == before, f"a change before {due} at {probe}"
        assert plc.next_due_s() == pytest.approx(due, abs=1e-8) or due == writes[0][0]
        t = due
        events = plc.step(t)
        steps += 1
        for event in events:
            assert event.belt_mm == pytest.approx(plc.belt.belt_mm, abs=1e-3), event
            kinds_seen.add(event.kind)
        while writes and writes[0][0] <= t:
            _, address, values = writes.pop(0)
            plc.on_host_write(address, values, t)
        for tid in list(plc.queue):
            answer = [(plc.request_seq), *split_u32(tid), 2 if tid % 2 else 3]
            if tid == plc.queue[0]:
                plc.on_host_write(h.answer_seq, answer, t)
        assert plc.now_s > now_before
    assert set(EventKind) <= kinds_seen | {EventKind.AT_CHUTE}
    assert twin.stats.landed == 12
    assert twin.stats.results.get("CHUTE_FULL", 0) >= 1  # chute 2 filled (capacity 2)
    assert twin.stats.results.get("CHUTE_DISABLED", 0) >= 1  # chute 3 jammed a while
    assert plc.host_heartbeat_lost
    assert steps < 400  # against 3,000 steps of a 1-ms cycle


@pytest.mark.parametrize("step_ms", [1, 10])  # 10: an S7-300's TIME_TCK
def test_a_clocked_plc_stamps_each_scan_with_its_clock_at_the_photo_eye(step_ms):
    area = {**CLOCKED_PLC_AREA, "clock_resolution_ms": step_ms}
    config, twin, regs, plc = new_logic(register_map={"plc": area})
    p = config.register_map.plc
    speed_mm_s = config.topology.belt_speed_mps * 1000
    scan_mm = config.topology.scan_point_mm
    stamps: dict[int, int] = {}
    t = 0.0
    while len(stamps) < 3 and t < 60:
        t += 0.037  # steps that do not fall on the scans: the stamp is the belt's time
        for event in plc.step(t):
            if event.kind is EventKind.SCANNED:
                entry = p.scan_ring.entry_address(plc.scan_ring.write_index - 1)
                tid = join_u32(regs[entry], regs[entry + 1])
                assert tid == event.parcel.tracking_id
                stamps[tid] = regs[entry + 2]
                ms = int(t * 1000)
                assert regs[p.clock] == (ms - ms % step_ms) & 0xFFFF  # the clock, this step
                # the front reached the scan point this long before the step
                since_s = (twin.belt_mm - event.belt_mm) / speed_mm_s
                assert event.belt_mm == pytest.approx(event.parcel.induct_mm + scan_mm)
                at_ms = int((t - since_s) * 1000)
                assert regs[entry + 2] == (at_ms - at_ms % step_ms) & 0xFFFF
                assert 0 <= (regs[p.clock] - regs[entry + 2]) & 0xFFFF <= 38 + step_ms
    assert len(set(stamps.values())) == 3
